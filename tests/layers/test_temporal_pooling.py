"""Temporal pooling layers: Eq. 2.1 / 3.3 limits, masks, windowed inference, gradients."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers import AdaptiveSoftmaxPooling
from kerasfer.layers import GlobalSpatialPooling
from kerasfer.layers import SoftmaxPooling
from kerasfer.layers import TemporalAveragePooling
from kerasfer.layers import TemporalMaxPooling
from kerasfer.layers import WindowedSoftmaxPooling


def random_scores(batch=3, frames=11, classes=5, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, frames, classes)).astype("float32")


def naive_softmax_pool(scores, temperature):
    weights = np.exp(temperature * (scores - scores.max(axis=1, keepdims=True)))
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights * scores).sum(axis=1)


def naive_windowed(scores, window_size, temperature):
    frames = scores.shape[1]
    if frames <= window_size:
        return scores.max(axis=1)
    maxima = np.stack([scores[:, t:t + window_size].max(axis=1)
                       for t in range(frames - window_size + 1)], axis=1)
    return naive_softmax_pool(maxima.astype("float64"), temperature)


def test_softmax_pooling_limits_mean_and_max():
    scores = random_scores() * 10.0
    np.testing.assert_allclose(SoftmaxPooling(pooling_temperature=0.0)(scores),
                               scores.mean(axis=1), atol=1e-5)
    pooled_max = SoftmaxPooling(pooling_temperature=1e6)(scores)
    assert np.all(np.isfinite(pooled_max))
    np.testing.assert_allclose(pooled_max, scores.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(SoftmaxPooling(pooling_temperature=2.0)(scores),
                               naive_softmax_pool(scores.astype("float64"), 2.0), atol=1e-4)


def test_softmax_pooling_large_temperature_gradient_is_finite():
    scores = tf.constant(random_scores())
    with tf.GradientTape() as tape:
        tape.watch(scores)
        pooled = SoftmaxPooling(pooling_temperature=1e6)(scores)
    gradient = tape.gradient(pooled, scores).numpy()
    assert np.all(np.isfinite(gradient))
    # At γ → ∞ the gradient flows only to the argmax frame of each (video, class).
    expected = (scores.numpy() == scores.numpy().max(axis=1, keepdims=True)).astype("float32")
    np.testing.assert_allclose(gradient, expected, atol=1e-3)


def test_softmax_pooling_float16_does_not_overflow():
    scores = random_scores()
    pooled = SoftmaxPooling(pooling_temperature=1e6, dtype="mixed_float16")(scores)
    assert pooled.dtype == "float16"
    np.testing.assert_allclose(np.asarray(pooled, "float32"), scores.max(axis=1), atol=1e-2)


def test_mask_equals_unpadded_video_for_every_pooling():
    scores = random_scores(batch=2, frames=12)
    mask = np.ones((2, 12), bool)
    mask[0, 7:] = False
    layers = [SoftmaxPooling(0.7), AdaptiveSoftmaxPooling(), TemporalAveragePooling(),
              TemporalMaxPooling(), WindowedSoftmaxPooling(window_size=4,
                                                           pooling_temperature=0.5)]
    for layer in layers:
        padded = np.asarray(layer(scores, mask=mask))
        np.testing.assert_allclose(padded[0], np.asarray(layer(scores[:1, :7]))[0], atol=1e-5,
                                   err_msg=layer.name)
        np.testing.assert_allclose(padded[1], np.asarray(layer(scores[1:]))[0], atol=1e-5,
                                   err_msg=layer.name)


def test_fully_masked_video_pools_to_zero_without_nan():
    scores = random_scores(batch=2)
    mask = np.zeros((2, 11), bool)
    mask[1] = True
    for layer in [SoftmaxPooling(3.0), TemporalAveragePooling(), TemporalMaxPooling(),
                  WindowedSoftmaxPooling(4)]:
        pooled = np.asarray(layer(scores, mask=mask))
        np.testing.assert_array_equal(pooled[0], 0.0)
        assert np.all(np.isfinite(pooled))


@pytest.mark.parametrize("frames,window_size,temperature",
                         [(20, 4, 1.0), (16, 16, 2.0), (9, 3, 0.0), (5, 16, 1.0), (30, 1, -0.5)])
def test_windowed_softmax_pooling_equals_naive_loop(frames, window_size, temperature):
    scores = random_scores(frames=frames, seed=frames)
    layer = WindowedSoftmaxPooling(window_size=window_size, pooling_temperature=temperature)
    np.testing.assert_allclose(layer(scores), naive_windowed(scores, window_size, temperature),
                               atol=1e-5)


def test_windowed_pooling_in_a_model_accepts_any_number_of_frames():
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, WindowedSoftmaxPooling(window_size=6)(inputs))
    for frames in (3, 6, 17):
        scores = random_scores(frames=frames, seed=frames)
        np.testing.assert_allclose(model.predict(scores, verbose=0),
                                   naive_windowed(scores, 6, 1.0), atol=1e-5)


def test_adaptive_softmax_pooling_beta_initialised_to_one_and_gets_gradients():
    scores = random_scores()
    layer = AdaptiveSoftmaxPooling()
    np.testing.assert_allclose(layer(scores), SoftmaxPooling(1.0)(scores), atol=1e-6)
    np.testing.assert_array_equal(layer.beta.numpy(), np.ones(5))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(scores))
    gradient = tape.gradient(loss, layer.beta).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(np.abs(gradient) > 1e-4)
    # d y_c / d β_c is the variance of the scores under the pooling weights (≥ 0).
    assert np.all(gradient > 0)


def test_adaptive_beta_zero_and_large_are_mean_and_max():
    scores = random_scores()
    layer = AdaptiveSoftmaxPooling()
    layer.build(scores.shape)
    layer.beta.assign(np.array([0.0, 0.0, 1e6, 1e6, 0.0], "float32"))
    pooled = np.asarray(layer(scores))
    np.testing.assert_allclose(pooled[:, [0, 1, 4]], scores.mean(axis=1)[:, [0, 1, 4]],
                               atol=1e-5)
    np.testing.assert_allclose(pooled[:, 2:4], scores.max(axis=1)[:, 2:4], atol=1e-5)


def test_pooling_over_another_axis():
    scores = np.random.default_rng(1).normal(size=(2, 3, 6, 4)).astype("float32")
    np.testing.assert_allclose(SoftmaxPooling(0.0, axis=2)(scores), scores.mean(axis=2),
                               atol=1e-5)
    np.testing.assert_allclose(TemporalMaxPooling(axis=-2)(scores), scores.max(axis=2))


def test_global_spatial_pooling():
    features = np.random.default_rng(2).normal(size=(2, 4, 3, 5, 6)).astype("float32")
    np.testing.assert_allclose(GlobalSpatialPooling("max")(features), features.max(axis=(2, 3)))
    np.testing.assert_allclose(GlobalSpatialPooling("average")(features),
                               features.mean(axis=(2, 3)), atol=1e-6)


@pytest.mark.parametrize("build,message", [
    (lambda: SoftmaxPooling(pooling_temperature=float("inf")), "pooling_temperature=inf"),
    (lambda: SoftmaxPooling(pooling_temperature="hot"), "pooling_temperature='hot'"),
    (lambda: SoftmaxPooling(axis=1.0), "axis=1.0"),
    (lambda: WindowedSoftmaxPooling(window_size=0), "window_size=0"),
    (lambda: GlobalSpatialPooling("min"), "mode='min'"),
])
def test_bad_arguments_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match="Received: " + message.replace("(", r"\(")):
        build()


def test_class_axis_cannot_be_pooled():
    with pytest.raises(ValueError, match="Received: axis=-1"):
        SoftmaxPooling(axis=-1)(random_scores())
    with pytest.raises(ValueError, match="Received: rank=1"):
        TemporalAveragePooling()(np.zeros((4,), "float32"))
