"""The video stage of the audio-visual fusion run (Fan et al. 2017): backbone, networks, scores.

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Sections 4.3.2
(C3D from Sports-1M weights) and 4.3.3 (VGG-Face fine-tuned, fc6 of every frame, Bi-LSTM):
both video models start from pretrained weights. `prepare_video_backbone` trains kerasfer's
face-pretrained 2D CNN once (`kerasfer.training.pretraining`); `video_model_config` gives
each clip network its config (a network of a family that loads the backbone, its
`loaded_by` in `kerasfer.models.backbone_2d_registry`, starts from it);
`score_videos` scores whole videos with a trained network; `feature_model_scores` trains
and scores the Bi-LSTMs on the backbone's frozen per-frame features (`FusionFeatureLSTM`).
Used by `kerasfer.evaluation.fusion_run.run_audio_visual_fusion`.

Example:

>>> backbone = prepare_video_backbone(config, data_dir, splits["train"])
>>> model_config = video_model_config(config, "c3d", {"train.epochs": 6}, data_dir, backbone)
"""

from __future__ import annotations

import json
import os

import numpy as np

from kerasfer import schema
from kerasfer.errors import ConfigError
from kerasfer.evaluation.fusion_feature_lstm import FusionFeatureLSTM

SIDES = ("train", "validation", "test")


def video_model_config(config, name, overrides, data_dir, backbone=None):
    """The base config with one video model's dotted overrides, in `RUN/video/<name>`.

    With `backbone` (the pretrained 2D model's path), the network does not pretrain again
    (`pretrain.source=none`); a model of a family that loads the backbone
    (`backbone_families`) starts from `backbone` unless the overrides set
    `model.pretrained`, any other family starts from its own (default: random) weights.
    """
    from kerasfer.config import config_from_dict, to_dict

    mapping = to_dict(config)
    for key, value in dict(overrides).items():
        node = mapping
        parts = str(key).split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"pipeline_options.video_models.{name}",
                                  f"unknown key {key!r}", "use dotted config keys, e.g. model.name")
            node = node[part]
        node[parts[-1]] = value
    if backbone:
        mapping["pretrain"]["source"] = "none"
        if "model.pretrained" not in overrides:
            loads = mapping["model"]["name"] in backbone_families(config, backbone)
            mapping["model"]["pretrained"] = backbone if loads else False
    mapping["run_dir"] = os.path.join(config.run_dir, "video", name)
    mapping["data"]["dir"] = os.path.abspath(data_dir)
    mapping.pop("pipeline", None)
    mapping.pop("pipeline_options", None)
    mapping["eval"]["run_after_fit"] = False
    mapping["eval"]["export_after_fit"] = False
    return config_from_dict(mapping, source=f"pipeline_options.video_models.{name}")


def backbone_families(config, backbone):
    """The model families that load the saved 2D `backbone`: its spec's `loaded_by`.

    The 2D backbone is the one `config.pretrain.model` names when the run pretrains
    (`pretrain.source` set), else the one recorded in `pretraining.json` next to a
    `model.pretrained` file saved by a pretraining stage; e.g. `vgg16_2d` is loaded by
    `i3d_vgg16`, `spatial_attention_vgg16` and `cnn_bilstm`
    (`kerasfer.models.backbone_2d_registry`). The base config's family always loads it.

    Returns:
        tuple of str. `config.model.name` first.
    """
    from kerasfer.models import backbone_2d_spec, list_backbones_2d

    name = config.pretrain.model if config.pretrain.source != "none" else None
    recorded = os.path.join(os.path.dirname(str(backbone)), "pretraining.json")
    if name is None and os.path.exists(recorded):
        with open(recorded) as f:
            name = json.load(f).get("model")
    families = [config.model.name]
    if name in list_backbones_2d():
        families += [f for f in backbone_2d_spec(name).loaded_by if f not in families]
    return tuple(families)


def score_videos(model_config, records):
    """Whole-video class probabilities `(videos, classes)` of a trained network run."""
    import keras

    from kerasfer.data import DatasetIndex, evaluation_dataset
    from kerasfer.evaluate import _import_serializables
    from kerasfer.evaluation import VideoScorer

    _import_serializables()
    model = keras.saving.load_model(os.path.join(model_config.run_dir, "best_model.keras"),
                                    compile=False)
    index = DatasetIndex.load(model_config.data.dir)
    dataset = evaluation_dataset(index, records, normalization=model_config.data.normalization,
                                 image_size=model_config.data.image_size,
                                 grayscale=model_config.data.grayscale)
    scorer = VideoScorer(model, clip_length=model_config.data.clip_length,
                         pooling_temperature=model_config.eval.pooling_temperature)
    predictions = scorer.predict_dataset(dataset)
    by_id = dict(zip(predictions.ids, np.asarray(predictions.probabilities)))
    return np.stack([by_id[r["id"]] for r in records])


def prepare_video_backbone(config, data_dir, train_ids):
    """Stage 3: path of the pretrained 2D backbone (trained once in `RUN/pretraining`) or None.

    `kerasfer.training.pretraining.prepare_pretrained_backbone` on a copy of the base
    config, reading only the training videos (the static faces come from other subjects).
    """
    import copy

    from kerasfer.data import DatasetIndex
    from kerasfer.training.pretraining import prepare_pretrained_backbone

    index = DatasetIndex.load(data_dir)
    return prepare_pretrained_backbone(copy.deepcopy(config), index,
                                       index.select(ids=train_ids), config.run_dir)


def feature_model_scores(config, feature_models, data_dir, records, labels, backbone):
    """Stage 4, feature models: `{side: {name: (videos, classes)}}` on validation and test.

    Each `FusionFeatureLSTM` is trained on the training videos' frozen per-frame features
    of `backbone` (cached in `RUN/frame_features/`) and saved in `RUN/video/<name>/`
    (`model.keras`, `training_summary.json`); a saved model is reused.

    Args:
        config: `ExperimentConfig`. The base config (run directory, image settings, seed).
        feature_models: dict name → dict of `FusionFeatureLSTM` arguments.
        data_dir: str. The dataset.
        records: dict side → list of records ("train", "validation", "test").
        labels: dict side → int array of labels.
        backbone: str or None. The saved 2D model (`prepare_video_backbone`).
    """
    from kerasfer.data import DatasetIndex
    from kerasfer.pipelines.frame_features import saved_backbone_frame_features

    scores = {"validation": {}, "test": {}}
    if not feature_models:
        return scores
    if not backbone:
        raise ConfigError("pipeline_options.feature_models", "the Bi-LSTM feature models "
                          "need a pretrained 2D backbone and none is configured",
                          "set pretrain.source=static_faces (or model.pretrained=RUN)")
    index = DatasetIndex.load(data_dir)
    everything = [r for side in SIDES for r in records[side]]
    features = saved_backbone_frame_features(
        index, everything, backbone, os.path.join(config.run_dir, "frame_features"),
        config.data.image_size, config.data.normalization, config.data.grayscale)
    for name, kwargs in feature_models.items():
        out_dir = os.path.join(config.run_dir, "video", name)
        path = os.path.join(out_dir, "model.keras")
        lstm = FusionFeatureLSTM(len(schema.read_classes(data_dir)), seed=config.seed,
                                 **dict(kwargs or {}))
        if os.path.exists(path):
            lstm.load(path)
        else:
            lstm.fit([features[r["id"]] for r in records["train"]], labels["train"])
            lstm.save(path)
            schema.write_json_atomic(os.path.join(out_dir, "training_summary.json"), {
                "model": "cnn_bilstm on frozen frame features", "backbone": backbone,
                "feature_dim": int(features[records["train"][0]["id"]].shape[-1]),
                "arguments": dict(kwargs or {}), "history": lstm.history})
        for side in scores:
            scores[side][name] = lstm.predict_proba([features[r["id"]] for r in records[side]])
    return scores
