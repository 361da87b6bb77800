"""The 2D VGG16 pretrained on static faces as a `kerasfer.fit` setting (pretrain.model=vgg16_2d)."""

import os

import keras
import numpy as np
import pytest

from kerasfer.errors import ConfigError

AFEW_SPATIAL_ATTENTION = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "configs", "afew_spatial_attention_vgg16.yaml")
TINY_VGG = {"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3)}


def _kernel(model, family, name):
    """The kernel of VGG16 layer `name` inside a model of `family`, as a 2D kernel."""
    if family == "spatial_attention_vgg16":
        return model.backbone.get_layer("vgg16_backbone").get_layer(name).kernel.numpy()[0]
    if family == "cnn_bilstm":
        return model.get_layer("frame_features").layer.get_layer(name).kernel.numpy()
    return model.backbone.get_layer(name).kernel.numpy()   # i3d_vgg16: fc layers, per frame


def test_vgg16_2d_is_registered_for_every_vgg16_family():
    from kerasfer.config import choices
    from kerasfer.models import backbone_2d_spec, list_backbones_2d, list_models

    spec = backbone_2d_spec("vgg16_2d")
    assert spec.loaded_by == ("i3d_vgg16", "spatial_attention_vgg16", "cnn_bilstm")
    assert spec.inflated_by == "i3d_vgg16" and spec.outputs == "probabilities"
    assert set(spec.loaded_by) <= set(list_models())
    assert "vgg16_2d" in choices("pretrain.model")
    for name in list_backbones_2d():      # every backbone: one or more registered families
        loaded_by = backbone_2d_spec(name).loaded_by
        assert isinstance(loaded_by, tuple) and set(loaded_by) <= set(list_models())
    model = spec.builder(3, input_shape=(32, 32, 3), width_multiplier=1 / 16)
    assert model.output.shape == (None, 3)
    with pytest.raises(ValueError, match="Received: input_shape"):
        spec.builder(3, input_shape=(32, 32, 1), width_multiplier=1 / 16)


def test_register_backbone_2d_accepts_one_name_or_a_tuple():
    from kerasfer.models import backbone_2d_registry
    from kerasfer.models.backbone_2d_registry import backbone_2d_spec, register_backbone_2d

    try:
        register_backbone_2d("test_one", inflated_by="c3d", outputs="logits")(print)
        register_backbone_2d("test_two", inflated_by=["c3d", "r3d_18"], outputs="logits")(print)
        assert backbone_2d_spec("test_one").loaded_by == ("c3d",)
        assert backbone_2d_spec("test_two").loaded_by == ("c3d", "r3d_18")
        assert backbone_2d_spec("test_two").inflated_by == "c3d"
    finally:
        for name in ("test_one", "test_two"):
            backbone_2d_registry._BACKBONES.pop(name, None)
    with pytest.raises(ValueError, match=r"Received: inflated_by=\(\)"):
        register_backbone_2d("test_none", inflated_by=(), outputs="logits")


def test_checked_backbone_accepts_every_loading_family_and_lists_them():
    from kerasfer.config import load_config
    from kerasfer.training.pretraining import checked_backbone

    for family in ("i3d_vgg16", "spatial_attention_vgg16", "cnn_bilstm"):
        config = load_config(None, [f"model.name={family}", "pretrain.model=vgg16_2d"])
        assert checked_backbone(config).name == "vgg16_2d"
    config = load_config(None, ["model.name=c3d", "pretrain.model=vgg16_2d"])
    with pytest.raises(ConfigError, match="vgg16_2d is inflated by i3d_vgg16, "
                                          "spatial_attention_vgg16 or cnn_bilstm, but "
                                          "model.name is c3d"):
        checked_backbone(config)


@pytest.mark.parametrize("family", ["i3d_vgg16", "cnn_bilstm"])
def test_every_vgg16_family_loads_a_saved_vgg16_2d(family, tmp_path):
    from kerasfer.models import backbone_2d_spec, get_model

    keras.utils.set_random_seed(5)
    source = backbone_2d_spec("vgg16_2d").builder(3, input_shape=(32, 32, 3),
                                                  width_multiplier=1 / 16)
    path = str(tmp_path / "vgg16_2d.keras")
    source.save(path)                  # a 3-way top: the families' 1000-way tops skip it
    extra = {"lstm_units": 4} if family == "cnn_bilstm" else {}
    model = get_model(family, 7, pretrained=path, **TINY_VGG, **extra)
    np.testing.assert_array_equal(_kernel(model, family, "fc1"),
                                  source.get_layer("fc1").kernel.numpy())


def test_a_vgg16_of_another_width_is_refused_with_the_fix(tmp_path):
    from kerasfer.models import backbone_2d_spec, get_model

    source = backbone_2d_spec("vgg16_2d").builder(3, input_shape=(32, 32, 3),
                                                  width_multiplier=1 / 8)
    path = str(tmp_path / "vgg16_2d_wide.keras")
    source.save(path)
    with pytest.raises(ValueError, match=r"width_multiplier\. Received: pretrained="):
        get_model("spatial_attention_vgg16", 3, pretrained=path, **TINY_VGG)


def test_fit_pretrains_vgg16_on_static_faces_and_loads_it(tiny_dataset_dir, tmp_path):
    """The AFEW spatial-attention config with pretrain.model=vgg16_2d, as `kerasfer.fit` runs it."""
    from kerasfer.config import load_config
    from kerasfer.training.experiment import Experiment, build_network

    overrides = [
        f"run_dir={tmp_path / 'run'}", f"data.dir={tiny_dataset_dir}",
        "data.split=stratified", "data.validation_fraction=0.25", "data.image_size=32",
        "data.clip_length=4", "data.batch_size=4", "model.kwargs.width_multiplier=0.0625",
        "model.kwargs.attention_units=8", "train.epochs=1", "train.verbose=0",
        "pretrain.source=static_faces", "pretrain.model=vgg16_2d", "pretrain.epochs=1",
        "pretrain.static_subjects=3", "pretrain.static_images_per_subject=4",
        "pretrain.batch_size=8", "eval.run_after_fit=false", "eval.export_after_fit=false"]
    config = load_config(AFEW_SPATIAL_ATTENTION, overrides)
    experiment = Experiment(config).setup()
    path = os.path.join(tmp_path, "run", "pretraining", "model_2d.keras")
    assert experiment.config.model.pretrained == path and os.path.exists(path)
    saved = keras.saving.load_model(path, compile=False)
    network = experiment.network
    for name in ("block1_conv1", "block5_conv3"):
        np.testing.assert_array_equal(_kernel(network, "spatial_attention_vgg16", name),
                                      saved.get_layer(name).kernel.numpy())
    # Not what random initialisation gives: the same network built without the file.
    config.model.pretrained = False
    random = build_network(config, experiment.index.num_classes)
    config.model.pretrained = path
    assert not np.allclose(_kernel(random, "spatial_attention_vgg16", "block5_conv3"),
                           saved.get_layer("block5_conv3").kernel.numpy())
