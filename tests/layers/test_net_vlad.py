"""NetVLAD: naive soft and hard VLAD, intra- and L2 normalisation, gradients, save/load."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers import NetVLAD


def random_features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def normalize(vector):
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def naive_vlad(features, centers, assign):
    """VLAD with intra-normalisation and L2, looping over positions and clusters.

    `assign(x)` returns the K assignment weights of one local feature x.
    """
    features = features.reshape(features.shape[0], -1, features.shape[-1]).astype("float64")
    outputs = []
    for sample in features:
        blocks = np.zeros(centers.shape)
        for x in sample:
            weights = assign(x)
            for k in range(len(centers)):
                blocks[k] += weights[k] * (x - centers[k])
        outputs.append(normalize(np.concatenate([normalize(block) for block in blocks])))
    return np.stack(outputs)


def layer_weights(layer):
    return [np.asarray(w, "float64") for w in (layer.centers, layer.kernel, layer.bias)]


def test_net_vlad_equals_naive_soft_assignment_vlad():
    features = random_features((2, 2, 3, 3, 5))
    layer = NetVLAD(num_clusters=4)
    layer.build(features.shape)
    layer.bias.assign(random_features((4,), seed=1))  # a nonzero bias is part of Eq. 4
    centers, kernel, bias = layer_weights(layer)

    def soft_assignment(x):
        logits = x @ kernel + bias
        return np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()

    np.testing.assert_allclose(np.asarray(layer(features)),
                               naive_vlad(features, centers, soft_assignment), atol=1e-5)


def test_net_vlad_alpha_initialisation_and_hard_assignment_limit():
    layer = NetVLAD(num_clusters=5, alpha=1e4)
    layer.build((None, 30, 4))
    centers, kernel, bias = layer_weights(layer)
    np.testing.assert_allclose(kernel, 2e4 * centers.T, rtol=1e-6)
    np.testing.assert_allclose(bias, -1e4 * (centers ** 2).sum(axis=1), rtol=1e-6)
    # Every cluster gets features near its centre; huge α leaves only the nearest centre.
    rng = np.random.default_rng(0)
    nearest = rng.permutation(np.arange(30) % 5).reshape(2, 15)
    features = (centers[nearest] + 0.1 * rng.normal(size=(2, 15, 4))).astype("float32")
    distances = ((features[:, :, None, :] - centers) ** 2).sum(axis=-1)
    gaps = np.sort(distances, axis=-1)[..., 1] - distances.min(axis=-1)
    assert gaps.min() > 0.01  # so the softmax weight of a runner-up is exp(-100) at most

    def hard_assignment(x):
        return np.eye(5)[np.argmin(((x - centers) ** 2).sum(axis=1))]

    outputs = np.asarray(layer(features))
    assert np.all(np.isfinite(outputs))
    np.testing.assert_allclose(outputs, naive_vlad(features, centers, hard_assignment),
                               atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 9, 6), (2, 3, 3, 6), (2, 2, 3, 3, 6)])
def test_net_vlad_shapes_and_normalisation(shape):
    layer = NetVLAD(num_clusters=3)
    outputs = np.asarray(layer(random_features(shape)))
    assert outputs.shape == (2, 18) == layer.compute_output_shape(shape)
    np.testing.assert_allclose(np.linalg.norm(outputs, axis=1), 1.0, atol=1e-5)
    # Intra-normalised blocks have norm 1, so after the final L2 each has norm 1/sqrt(K).
    np.testing.assert_allclose(np.linalg.norm(outputs.reshape(2, 3, 6), axis=-1),
                               1.0 / np.sqrt(3.0), atol=1e-5)
    symbolic = NetVLAD(num_clusters=3)(keras.Input((None, None, 6)))
    assert tuple(symbolic.shape) == (None, 18)


def test_net_vlad_gradients_reach_every_weight():
    layer = NetVLAD(num_clusters=4)
    features = tf.constant(random_features((2, 7, 5)))
    with tf.GradientTape() as tape:
        tape.watch(features)
        loss = tf.reduce_sum(layer(features) * random_features((2, 20), seed=3))
    gradients = tape.gradient(loss, [features, *layer.trainable_weights])
    assert [w.name for w in layer.trainable_weights] == ["centers", "kernel", "bias"]
    for gradient in gradients:
        gradient = np.asarray(gradient)
        assert np.all(np.isfinite(gradient)) and np.all(np.abs(gradient) > 0)


@pytest.mark.parametrize("arguments", [
    {"num_clusters": 0}, {"num_clusters": 2.0}, {"num_clusters": True},
    {"alpha": 0.0}, {"alpha": -1.0}, {"alpha": float("inf")}, {"alpha": "1"},
])
def test_net_vlad_rejects_bad_arguments(arguments):
    with pytest.raises(ValueError, match="Received: " + next(iter(arguments))):
        NetVLAD(**arguments)


def test_net_vlad_rejects_inputs_without_positions_or_channels():
    with pytest.raises(ValueError, match="Received: input_shape"):
        NetVLAD(num_clusters=2)(np.zeros((2, 6), "float32"))
    with pytest.raises(ValueError, match="Received: input_shape"):
        NetVLAD(num_clusters=2)(keras.Input((4, None)))
