"""VideoInferenceModel: batches, limits of γ_p and argument errors."""

import keras
import numpy as np
import pytest

from kerasfer.evaluation import VideoInferenceModel
from kerasfer.layers import WindowedSoftmaxPooling

SIZE, CLASSES, F = 8, 3, 5


def dense_model():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((None, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv3D(CLASSES, (1, SIZE, SIZE))(x)
    frame_scores = keras.layers.Reshape((-1, CLASSES), name="frame_scores")(x)
    return keras.Model(inputs, WindowedSoftmaxPooling(F, 1.0)(frame_scores))


def clip_model():
    keras.utils.set_random_seed(6)
    inputs = keras.Input((F, SIZE, SIZE, 3))
    x = keras.layers.Flatten()(keras.layers.Conv3D(2, 3, padding="same")(inputs))
    return keras.Model(inputs, keras.layers.Dense(CLASSES)(x))


def videos(batch, frames, seed):
    return np.random.default_rng(seed).uniform(0, 1, (batch, frames, SIZE, SIZE, 3)).astype(
        "float32")


@pytest.mark.parametrize("make_model, kind", [(dense_model, "dense"), (clip_model, "clip")])
@pytest.mark.parametrize("frames", [3, 12])
def test_a_batch_scores_like_its_videos_one_by_one(make_model, kind, frames):
    inference = VideoInferenceModel(make_model(), clip_length=F, pooling_temperature=2.0,
                                    window_batch_size=3)
    assert inference.temporal_output == kind
    batch = videos(2, frames, seed=frames)
    together = {k: np.asarray(v) for k, v in inference(batch).items()}
    windows = max(frames, F) - F + 1
    assert together["frame_scores"].shape == (2, frames, CLASSES)
    assert together["window_scores"].shape == (2, windows, CLASSES)
    for b in range(2):
        alone = inference(batch[b:b + 1])
        for key, value in alone.items():
            np.testing.assert_allclose(together[key][b], np.asarray(value)[0], rtol=1e-5,
                                       atol=1e-6)
    np.testing.assert_allclose(together["probabilities"].sum(axis=-1), 1.0, rtol=1e-6)


def test_pooling_temperature_limits():
    model = dense_model()
    video = videos(1, 11, seed=1)
    window_scores = np.asarray(VideoInferenceModel(model, F)(video)["window_scores"])[0]
    mean = np.asarray(VideoInferenceModel(model, F, pooling_temperature=0.0)(video)["logits"])
    top = np.asarray(VideoInferenceModel(model, F, pooling_temperature=np.inf)(video)["logits"])
    np.testing.assert_allclose(mean[0], window_scores.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(top[0], window_scores.max(axis=0), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"clip_length": 0}, "clip_length"),
    ({"clip_length": F, "pooling_temperature": -1.0}, "pooling_temperature"),
    ({"clip_length": F, "window_batch_size": 0}, "window_batch_size"),
    ({"clip_length": F, "short_video": "mirror"}, "short_video"),
    ({"clip_length": F, "temporal_output": "sparse"}, "temporal_output"),
])
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=f"Received: {match}="):
        VideoInferenceModel(dense_model(), **kwargs)


def test_dense_needs_a_frame_scores_layer():
    with pytest.raises(ValueError, match="needs a layer named 'frame_scores'"):
        VideoInferenceModel(clip_model(), temporal_output="dense")
