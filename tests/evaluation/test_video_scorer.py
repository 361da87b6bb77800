"""Whole-video inference: one fully-convolutional pass + Eq. 3.3 pooling vs naive loops."""

import keras
import numpy as np
import pytest

from kerasfer.evaluation import VideoScorer
from kerasfer.evaluation import pad_to_length
from kerasfer.evaluation import pool_video_scores
from kerasfer.evaluation import softmax_pool
from kerasfer.evaluation import window_max
from kerasfer.layers import WindowedSoftmaxPooling

SIZE, CLASSES, F = 8, 3, 6


def fully_conv_model(time_kernel, seed=0):
    """A real tiny fully-convolutional 3D CNN: per-frame logits, then windowed pooling."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, (time_kernel, 3, 3), padding="same", activation="relu")(inputs)
    x = keras.layers.Conv3D(CLASSES, (1, SIZE, SIZE), padding="valid")(x)
    frame_scores = keras.layers.Reshape((-1, CLASSES), name="frame_scores")(x)
    outputs = WindowedSoftmaxPooling(F, 1.0, name="temporal_pooling")(frame_scores)
    return keras.Model(inputs, outputs)


def clip_level_model(seed=0):
    """A C3D-like clip classifier with a fixed F-frame input and fc layers."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((F, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling3D((2, 2, 2))(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(CLASSES, name="fc8")(x)
    return keras.Model(inputs, outputs)


def random_video(frames, seed):
    return np.random.default_rng(seed).uniform(0, 1, (frames, SIZE, SIZE, 3)).astype("float32")


def naive_softmax_pool(window_scores, gamma):
    pooled = []
    for c in range(window_scores.shape[1]):
        column = [float(s) for s in window_scores[:, c]]
        weights = [np.exp(gamma * s) for s in column]
        pooled.append(sum(w * s for w, s in zip(weights, column)) / sum(weights))
    return np.array(pooled)


@pytest.fixture(scope="module")
def frame_model():
    return fully_conv_model(time_kernel=1)


@pytest.mark.parametrize("frames", [6, 7, 19])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 5.0])
def test_whole_video_pass_equals_per_window_loop(frame_model, frames, gamma):
    # Temporal kernel 1: a window's clip-level score (model on the F-frame clip, whose
    # temporal_pooling is the max over its frames) is exactly that window's max.
    video = random_video(frames, seed=frames)
    scorer = VideoScorer(frame_model, clip_length=F, pooling_temperature=gamma)
    scores = scorer.score(video)
    per_window = np.stack([np.asarray(frame_model(video[None, t:t + F]))[0]
                           for t in range(frames - F + 1)])
    np.testing.assert_allclose(scores.window_scores, per_window, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.logits, naive_softmax_pool(per_window, gamma),
                               rtol=1e-5, atol=1e-5)
    assert scores.frame_scores.shape == (frames, CLASSES)
    assert scores.window_scores.shape == (frames - F + 1, CLASSES)
    np.testing.assert_allclose(scores.probabilities.sum(), 1.0, rtol=1e-6)  # float32


def test_temporal_receptive_field_pooled_like_naive_window_loop():
    model = fully_conv_model(time_kernel=3, seed=1)
    video = random_video(23, seed=3)
    scores = VideoScorer(model, clip_length=F, pooling_temperature=2.0).score(video)
    to_frames = keras.Model(model.input, model.get_layer("frame_scores").output)
    frame_scores = np.asarray(to_frames(video[None]))[0]
    maxima = np.array([[max(frame_scores[t:t + F, c]) for c in range(CLASSES)]
                       for t in range(23 - F + 1)])
    np.testing.assert_allclose(scores.logits, naive_softmax_pool(maxima, 2.0), rtol=1e-5,
                               atol=1e-6)
    # The model's own temporal_pooling layer on the whole video gives the same γ=1 scores.
    gamma_one = VideoScorer(model, clip_length=F, pooling_temperature=1.0).score(video)
    np.testing.assert_allclose(gamma_one.logits, np.asarray(model(video[None]))[0],
                               rtol=1e-5, atol=1e-5)


def test_zero_temperature_is_mean_of_window_maxima(frame_model):
    video = random_video(15, seed=5)
    scores = VideoScorer(frame_model, clip_length=F, pooling_temperature=0.0).score(video)
    np.testing.assert_allclose(scores.logits, window_max(scores.frame_scores, F).mean(axis=0),
                               rtol=1e-6)


@pytest.mark.parametrize("short_video", ["loop", "repeat_last"])
def test_short_video_is_padded_like_training(frame_model, short_video):
    # L < F: padded to F frames from the real ones (looped or last repeated), so the single
    # window is the max over the real frames (temporal kernel 1) whatever γ_p.
    video = random_video(3, seed=7)
    for gamma in (0.0, 3.0):
        scores = VideoScorer(frame_model, clip_length=F, pooling_temperature=gamma,
                             short_video=short_video).score(video)
        assert scores.window_scores.shape == (1, CLASSES)
        np.testing.assert_allclose(scores.logits, scores.frame_scores.max(axis=0), rtol=1e-6)
        assert scores.frame_scores.shape == (3, CLASSES)


def test_clip_level_model_scores_every_window_in_batches():
    model = clip_level_model()
    video = random_video(17, seed=11)
    expected_windows = np.concatenate([np.asarray(model(video[None, t:t + F]))
                                       for t in range(17 - F + 1)])
    for batch in (3, 64):
        scorer = VideoScorer(model, pooling_temperature=1.5, window_batch_size=batch)
        assert not scorer.is_fully_convolutional and scorer.clip_length == F
        assert scorer.temporal_output == "clip"
        scores = scorer.score(video)
        # Frame t carries the window centred on t (clamped to the valid starts).
        centred = np.clip(np.arange(17) - F // 2, 0, 17 - F)
        np.testing.assert_array_equal(scores.frame_scores, scores.window_scores[centred])
        np.testing.assert_allclose(scores.window_scores, expected_windows, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(scores.logits, naive_softmax_pool(expected_windows, 1.5),
                                   rtol=1e-5, atol=1e-5)
    short = VideoScorer(model).score(random_video(2, seed=1))
    assert short.window_scores.shape == (1, CLASSES)


def test_fully_conv_and_clip_paths_agree(frame_model):
    # The same per-frame model scored as a clip-level model (every window through the whole
    # model) gives the same pooled scores as the single fully-convolutional pass.
    video = random_video(14, seed=13)
    one_pass = VideoScorer(frame_model, clip_length=F, pooling_temperature=1.0).score(video)
    windows = VideoScorer(frame_model, clip_length=F, pooling_temperature=1.0,
                          frame_scores_layer="absent").score(video)
    np.testing.assert_allclose(one_pass.logits, windows.logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames", [1, 4, 6, 30])
@pytest.mark.parametrize("gamma", [0.0, 0.7, 4.0])
def test_numpy_pooling_matches_windowed_softmax_pooling_layer(frames, gamma):
    frame_scores = np.random.default_rng(frames).normal(0, 3, (frames, CLASSES))
    layer = WindowedSoftmaxPooling(window_size=F, pooling_temperature=gamma)
    np.testing.assert_allclose(pool_video_scores(frame_scores, F, gamma),
                               np.asarray(layer(frame_scores[None].astype("float32")))[0],
                               rtol=1e-4, atol=1e-4)


def test_pooling_limits():
    scores = np.array([[0.0, 5.0], [2.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(softmax_pool(scores, 0.0), scores.mean(axis=0))
    np.testing.assert_allclose(softmax_pool(scores, np.inf), scores.max(axis=0))
    np.testing.assert_allclose(softmax_pool(scores, 1e4), scores.max(axis=0))
    np.testing.assert_allclose(softmax_pool(scores * 1e3, 50.0), scores.max(axis=0) * 1e3)


@pytest.mark.parametrize("kwargs, match", [
    ({"clip_length": 0}, "clip_length"),
    ({"clip_length": 4, "pooling_temperature": -1.0}, "pooling_temperature"),
    ({"clip_length": 4, "window_batch_size": 0}, "window_batch_size"),
    ({"clip_length": 4, "short_video": "mirror"}, "short_video"),
])
def test_bad_arguments(frame_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoScorer(frame_model, **kwargs)


def test_bad_video_shape(frame_model):
    scorer = VideoScorer(frame_model, clip_length=F)
    with pytest.raises(ValueError, match="frames >= 1"):
        scorer.score(np.zeros((0, SIZE, SIZE, 3), "float32"))
    with pytest.raises(ValueError, match="one video at a time"):
        scorer.score(np.zeros((2, 8, SIZE, SIZE, 3), "float32"))
    with pytest.raises(ValueError, match="clip_length=6"):
        VideoScorer(clip_level_model(), clip_length=8)


def test_pad_to_length_modes():
    video = np.arange(3)[:, None]
    np.testing.assert_array_equal(pad_to_length(video, 7)[:, 0], [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(pad_to_length(video, 5, "repeat_last")[:, 0], [0, 1, 2, 2, 2])
    assert pad_to_length(video, 2) is video
    with pytest.raises(ValueError, match="short_video"):
        pad_to_length(video, 5, "mirror")


def test_open_frame_shape_is_probed_on_the_first_video():
    # A model whose input leaves height, width and channels open is probed on the first
    # video; a fixed-length model is clip-level even with a frame_scores layer.
    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, None, 3))
    x = keras.layers.Conv3D(CLASSES, (1, 3, 3), padding="same")(inputs)
    frame_scores = keras.layers.Lambda(lambda t: keras.ops.max(t, axis=(2, 3)),
                                       name="frame_scores")(x)
    model = keras.Model(inputs, WindowedSoftmaxPooling(F, 1.0)(frame_scores))
    scorer = VideoScorer(model, clip_length=F)
    assert scorer.temporal_output is None
    scores = scorer.score(random_video(9, seed=2))
    assert scorer.temporal_output == "dense" and scores.frame_scores.shape == (9, CLASSES)
    inputs = keras.Input((F, SIZE, SIZE, 3))
    frame_scores = keras.layers.Reshape((F, -1), name="frame_scores")(
        keras.layers.Conv3D(CLASSES, (1, SIZE, SIZE))(inputs))
    fixed = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(frame_scores))
    assert VideoScorer(fixed).temporal_output == "clip"
