"""ClipClassifier: head layer names, pooling identities, config and `.keras` round trips."""

import keras
import numpy as np
import pytest

from kerasfer.models import ClipClassifier
from kerasfer.models import get_model
from kerasfer.models import list_models
from kerasfer.models import model_spec
from kerasfer.models.clip_classifier import HEAD_LAYERS


def conv_backbone(frames=None):
    inputs = keras.Input((frames, 6, 6, 2))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    return keras.Model(inputs, x, name="tiny_backbone")


def random_clips(frames=7, seed=0):
    return np.random.default_rng(seed).normal(size=(2, frames, 6, 6, 2)).astype("float32")


def test_head_layers_frame_scores_and_pooling():
    model = ClipClassifier(conv_backbone(), 5, pooling="max", spatial_pooling="average",
                           dropout_rate=0.2, input_dropout_rate=0.1, hidden_units=3)
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n in HEAD_LAYERS] == [
        "input_dropout", "spatial_pooling", "hidden_dropout", "hidden", "classifier_dropout",
        "classifier", "frame_scores", "temporal_pooling"]
    clips = random_clips()
    frame_scores = np.asarray(model.frame_scores_model()(clips))
    assert frame_scores.shape == (2, 7, 5)
    np.testing.assert_allclose(np.asarray(model(clips)), frame_scores.max(axis=1), atol=1e-6)
    # Score pooling: the classifier at every position, then the spatial max of the scores.
    score_max = ClipClassifier(conv_backbone(), 5, spatial_pooling="score_max")
    features = np.asarray(score_max.backbone(clips))
    scores = np.asarray(score_max.get_layer("classifier")(features))
    np.testing.assert_allclose(np.asarray(score_max.frame_scores_model()(clips)),
                               scores.max(axis=(2, 3)), atol=1e-6)


def test_frame_feature_backbone_and_config_round_trip(tmp_path):
    inputs = keras.Input((None, 6, 6, 2))
    features = keras.layers.TimeDistributed(keras.layers.Flatten())(inputs)
    model = ClipClassifier(keras.Model(inputs, features), 3, pooling="softmax",
                           pooling_temperature=2.0, name="flat")
    clips = random_clips(frames=4)
    expected = np.asarray(model(clips))
    clone = ClipClassifier.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(clone(clips)), expected, atol=1e-6)
    model.save(tmp_path / "flat.keras")
    restored = keras.saving.load_model(tmp_path / "flat.keras")
    assert isinstance(restored, ClipClassifier) and restored.pooling == "softmax"
    np.testing.assert_allclose(np.asarray(restored(clips)), expected, atol=1e-6)
    with pytest.raises(ValueError, match="Received: spatial_pooling='average'"):
        ClipClassifier(keras.Model(inputs, features), 3, spatial_pooling="average")


@pytest.mark.parametrize("kwargs,message", [
    ({"num_classes": 0}, "Received: num_classes=0"),
    ({"pooling": "mean"}, "Received: pooling='mean'"),
    ({"spatial_pooling": "min"}, "Received: spatial_pooling='min'"),
    ({"dropout_rate": 1}, "Received: dropout_rate=1"),
    ({"hidden_units": 0}, "Received: hidden_units=0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipClassifier(conv_backbone(), **{"num_classes": 3, **kwargs})


@pytest.mark.parametrize("name", list_models())
def test_default_head_layers_match_every_registered_model(name):
    """`model.head_layers` defaults to ["classifier", "temporal_pooling"]: it must match."""
    model = get_model(name, 3, **model_spec(name).tiny_kwargs)
    paths = [variable.path for variable in model.trainable_variables]
    head = [path for path in paths if "classifier" in path]
    if name == "c3d":  # the fc head of Tran et al.: head_layers [fc6, fc7, fc8]
        assert not head and any("fc8" in path for path in paths)
    else:
        assert head and len(head) < len(paths)
