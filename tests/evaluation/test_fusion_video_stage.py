"""The fusion video stage passes the pretrained 2D backbone to every family that loads it."""

import json
import os

from kerasfer.evaluation.fusion_video_stage import backbone_families, video_model_config

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
SPATIAL_ATTENTION = os.path.join(CONFIGS, "afew_spatial_attention_vgg16.yaml")


def _config(*overrides):
    from kerasfer.config import load_config

    return load_config(SPATIAL_ATTENTION, ["run_dir=/runs/fusion", *overrides])


def test_every_family_of_loaded_by_gets_the_pretrained_vgg16():
    config = _config("pretrain.source=static_faces", "pretrain.model=vgg16_2d")
    backbone = "/runs/fusion/pretraining/model_2d.keras"
    assert backbone_families(config, backbone) == (
        "spatial_attention_vgg16", "i3d_vgg16", "cnn_bilstm")
    for family in ("spatial_attention_vgg16", "i3d_vgg16", "cnn_bilstm"):
        video = video_model_config(config, family, {"model.name": family}, "/data", backbone)
        assert (video.model.pretrained, video.pretrain.source) == (backbone, "none")
    c3d = video_model_config(config, "c3d", {"model.name": "c3d"}, "/data", backbone)
    assert c3d.model.pretrained is False
    own = video_model_config(config, "bilstm", {"model.name": "cnn_bilstm",
                                                "model.pretrained": "/own.keras"},
                             "/data", backbone)
    assert own.model.pretrained == "/own.keras"


def test_a_reused_backbone_is_identified_by_its_pretraining_json(tmp_path):
    """`pretrain.source=none model.pretrained=OTHER_RUN`: the file's own pretraining.json."""
    config = _config("pretrain.source=none")
    backbone = str(tmp_path / "model_2d.keras")
    # Without a record only the base config's family is known to load it.
    assert backbone_families(config, backbone) == ("spatial_attention_vgg16",)
    bilstm = video_model_config(config, "b", {"model.name": "cnn_bilstm"}, "/data", backbone)
    assert bilstm.model.pretrained is False
    (tmp_path / "pretraining.json").write_text(json.dumps({"model": "vgg16_2d"}))
    bilstm = video_model_config(config, "b", {"model.name": "cnn_bilstm"}, "/data", backbone)
    assert bilstm.model.pretrained == backbone
