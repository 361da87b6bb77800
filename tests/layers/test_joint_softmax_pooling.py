"""JointSoftmaxPooling (EmotiW attention paper, Eq. 5–6): joint softmax, limits, masks."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers.joint_softmax_pooling import JointSoftmaxPooling
from kerasfer.layers.softmax_pooling import SoftmaxPooling


def random_scores(batch=3, frames=11, classes=5, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, frames, classes)).astype("float32")


def numpy_joint(scores):
    # Eq. 5: p(c, f | S) = exp(o_c,f) / Σ_j,k exp(o_j,k), scores (batch, frames, classes).
    scores = scores.astype("float64")
    exp = np.exp(scores - scores.max(axis=(1, 2), keepdims=True))
    return exp / exp.sum(axis=(1, 2), keepdims=True)


def softmax(x):
    exp = np.exp(x - x.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_softmax_of_the_output_is_the_frame_marginal_of_eq_5():
    scores = 3.0 * random_scores()
    logits = np.asarray(JointSoftmaxPooling()(scores))
    class_probabilities = numpy_joint(scores).sum(axis=1)  # p(c | S) = Σ_f p(c, f | S)
    np.testing.assert_allclose(softmax(logits.astype("float64")), class_probabilities,
                               atol=1e-6)
    # Eq. 6: the cross-entropy from logits is −log p(y | S).
    labels = np.array([0, 3, 4])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(np.asarray(loss(labels, logits)),
                               -np.log(class_probabilities[np.arange(3), labels]), rtol=1e-5)


def test_frame_probabilities_are_the_class_marginal():
    scores = 2.0 * random_scores(seed=1)
    frames = np.asarray(JointSoftmaxPooling().frame_probabilities(scores))
    np.testing.assert_allclose(frames, numpy_joint(scores).sum(axis=2), atol=1e-6)
    np.testing.assert_allclose(frames.sum(axis=1), 1.0, atol=1e-6)


def test_one_frame_and_identical_frames_pool_to_the_frame_scores():
    scores = random_scores(frames=1)
    for gamma in (1.0, 0.0, 0.5, 1e4, -3.0):
        layer = JointSoftmaxPooling(pooling_temperature=gamma)
        np.testing.assert_allclose(layer(scores), scores[:, 0], atol=1e-5)
        np.testing.assert_allclose(layer(np.repeat(scores, 7, axis=1)), scores[:, 0], atol=1e-5)


def test_limits_average_max_and_min_pooling():
    scores = random_scores()
    np.testing.assert_allclose(JointSoftmaxPooling(0.0)(scores), scores.mean(axis=1),
                               atol=1e-6)
    # z = mean + γ·var/2 + O(γ²) for small γ.
    np.testing.assert_allclose(JointSoftmaxPooling(1e-3)(scores), scores.mean(axis=1),
                               atol=5e-3)
    np.testing.assert_allclose(JointSoftmaxPooling(1e4)(scores), scores.max(axis=1), atol=1e-3)
    np.testing.assert_allclose(JointSoftmaxPooling(-1e4)(scores), scores.min(axis=1), atol=1e-3)
    pooled = np.asarray(JointSoftmaxPooling(1e6)(1e3 * scores))
    assert np.all(np.isfinite(pooled))
    np.testing.assert_allclose(pooled, 1e3 * scores.max(axis=1), rtol=1e-5)


def test_bounds_at_gamma_one():
    # max_f o − log F ≤ z ≤ max_f o, with equality on the right for identical frames.
    scores = 5.0 * random_scores(seed=2)
    pooled = np.asarray(JointSoftmaxPooling()(scores))
    assert np.all(pooled <= scores.max(axis=1) + 1e-5)
    assert np.all(pooled >= scores.max(axis=1) - np.log(scores.shape[1]) - 1e-5)


def test_differs_from_softmax_pooling_by_the_kl_to_uniform_weights():
    scores = 2.0 * random_scores(seed=3)
    for gamma in (1.0, 2.5, -0.7):
        weights = softmax(gamma * np.swapaxes(scores, 1, 2).astype("float64"))
        kl = np.sum(weights * np.log(weights * scores.shape[1]), axis=-1)
        expected = np.asarray(SoftmaxPooling(gamma)(scores)) - kl / gamma
        pooled = np.asarray(JointSoftmaxPooling(gamma)(scores))
        np.testing.assert_allclose(pooled, expected, atol=1e-5)
        assert np.max(np.abs(pooled - np.asarray(SoftmaxPooling(gamma)(scores)))) > 1e-2


@pytest.mark.parametrize("gamma", [1.0, 0.0, 20.0])
def test_mask_equals_truncation_and_empty_videos_pool_to_zero(gamma):
    scores = random_scores(batch=2, frames=9)
    mask = np.ones((2, 9), bool)
    mask[0, 4:] = False
    mask[1] = False
    layer = JointSoftmaxPooling(gamma)
    variable = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        pooled = layer(variable, mask=mask)
        total = tf.reduce_sum(pooled)
    gradient = tape.gradient(total, variable).numpy()
    np.testing.assert_allclose(pooled[0], layer(scores[:1, :4])[0], atol=1e-5)
    np.testing.assert_allclose(pooled[1], 0.0)
    assert np.all(np.isfinite(gradient)) and np.all(gradient[~mask] == 0)
    frames = np.asarray(layer.frame_probabilities(scores, mask=mask))
    np.testing.assert_allclose(frames[0, :4].sum(), 1.0, atol=1e-6)
    assert np.all(frames[~mask] == 0)


def test_gradient_is_the_joint_posterior():
    # d(Σ_c z_c)/d o_c,f at γ = 1 is p(f | c, S) = softmax over frames of o_c,·.
    scores = random_scores(seed=4)
    variable = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        total = tf.reduce_sum(JointSoftmaxPooling()(variable))
    expected = np.swapaxes(softmax(np.swapaxes(scores, 1, 2).astype("float64")), 1, 2)
    np.testing.assert_allclose(np.asarray(tape.gradient(total, variable)), expected, atol=1e-6)


def test_bad_arguments():
    scores = random_scores(classes=4)
    for value in (float("inf"), "1", True):
        with pytest.raises(ValueError, match=f"Received: pooling_temperature={value!r}"):
            JointSoftmaxPooling(pooling_temperature=value)
    with pytest.raises(ValueError, match="Received: axis=2"):
        JointSoftmaxPooling(axis=2)(scores)
