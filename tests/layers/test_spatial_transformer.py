"""SpatialTransformer (Ayral (2021) thesis, Section 4.3, Table 4.2): identity, warps, sampling."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers.spatial_transformer import SpatialTransformer

SHAPE = (2, 5, 4, 5, 3)
DIMENSIONS = ("spatial", "temporal", "spatiotemporal")


def random_features(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomize_weights(layer, seed=1, scale=0.3):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32")
                       for w in layer.get_weights()])


def numpy_warp(x, theta):
    # Trilinear sampling at θ (t, y, x, 1)ᵀ over relative coordinates, zero outside.
    b, t, h, w, c = x.shape
    theta = theta if theta.ndim == 4 else np.repeat(theta[:, None], t, axis=1)
    axes = [np.linspace(-1, 1, n) if n > 1 else np.zeros(1) for n in (t, h, w)]
    sizes = np.array([t, h, w])
    out = np.zeros_like(x, dtype="float64")
    for n, i, j, k in itertools.product(range(b), range(t), range(h), range(w)):
        target = np.array([axes[0][i], axes[1][j], axes[2][k], 1.0])
        position = (theta[n, i] @ target + 1) * 0.5 * (sizes - 1)
        base = np.floor(position)
        for corner in itertools.product((0, 1), repeat=3):
            index = (base + corner).astype(int)
            if np.all((index >= 0) & (index < sizes)):
                weight = np.prod(np.where(corner, position - base, 1 - position + base))
                out[n, i, j, k] += weight * x[(n,) + tuple(index)]
    return out


@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_identity_initialisation_reproduces_the_input(dimensions):
    for shape in (SHAPE, (1, 16, 7, 7, 4), (2, 1, 3, 3, 2)):
        x = random_features(shape)
        layer = SpatialTransformer(dimensions=dimensions, return_transform=True)
        outputs, theta = (np.asarray(t) for t in layer(x))
        np.testing.assert_array_equal(outputs, x)
        leading = shape[:2] if dimensions == "spatial" else shape[:1]
        np.testing.assert_array_equal(theta, np.broadcast_to(np.eye(3, 4), leading + (3, 4)))


@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_warp_matches_numpy_trilinear_sampling_and_free_entries(dimensions):
    layer = SpatialTransformer(dimensions=dimensions, localization_units=6,
                               return_transform=True)
    x = random_features()
    layer(x)
    randomize_weights(layer)
    outputs, theta = (np.asarray(t) for t in layer(x))
    assert layer.compute_output_shape(SHAPE) == (outputs.shape, theta.shape)
    fixed = {"spatial": [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (2, 0)],
             "temporal": [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1),
                          (2, 2), (2, 3)],
             "spatiotemporal": []}[dimensions]
    identity = np.eye(3, 4)
    for row, column in fixed:
        np.testing.assert_array_equal(theta[..., row, column], identity[row, column])
    assert np.all(np.abs(theta - identity) < 1)  # θ = I + tanh(Δ)
    assert not np.allclose(theta, identity, atol=1e-3)
    np.testing.assert_allclose(outputs, numpy_warp(x, theta), rtol=1e-4, atol=1e-5)


def test_known_shift_and_temporal_zoom():
    x = random_features()
    shift = SpatialTransformer(dimensions="spatiotemporal")
    shift(x)
    bias = np.zeros(12, "float32")
    bias[11] = np.arctanh(2 / (SHAPE[3] - 1))  # x_s = x + one pixel
    shift.theta_bias.assign(bias)
    shifted = np.asarray(shift(x))
    np.testing.assert_allclose(shifted[:, :, :, :-1], x[:, :, :, 1:], atol=1e-5)
    np.testing.assert_allclose(shifted[:, :, :, -1], 0.0, atol=1e-5)
    zoom = SpatialTransformer(dimensions="temporal")
    zoom(x)
    zoom.theta_bias.assign(np.array([np.arctanh(-0.5), 0.0], "float32"))  # t_s = t / 2
    zoomed = np.asarray(zoom(x))  # 5 frames read from source frames 1, 1.5, 2, 2.5, 3
    np.testing.assert_allclose(zoomed[:, 1], (x[:, 1] + x[:, 2]) / 2, atol=1e-5)
    np.testing.assert_allclose(zoomed[:, 4], x[:, 3], atol=1e-5)


@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_gradients_reach_every_weight(dimensions):
    layer = SpatialTransformer(dimensions=dimensions, localization_units=6)
    x = tf.constant(random_features())
    layer(x)
    randomize_weights(layer)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * tf.constant(random_features(seed=5)))
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(gradients) == 6
    for variable, gradient in zip(layer.trainable_variables, gradients):
        assert gradient is not None and np.any(np.abs(np.asarray(gradient)) > 0), variable.path


def test_keras_save_load_round_trip(tmp_path):
    inputs = keras.Input((None,) + SHAPE[2:])
    layer = SpatialTransformer(dimensions="spatiotemporal", localization_frames=3)
    model = keras.Model(inputs, layer(inputs))
    randomize_weights(layer)
    x = random_features()
    expected = np.asarray(model(x))
    model.save(tmp_path / "stn.keras")
    loaded = keras.saving.load_model(tmp_path / "stn.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(loaded(random_features((1, 9) + SHAPE[2:]))).shape,
                               (1, 9) + SHAPE[2:])  # any clip length
    config = layer.get_config()
    assert SpatialTransformer.from_config(config).get_config() == config


@pytest.mark.parametrize("kwargs, message", [
    ({"dimensions": "affine"}, "Received: dimensions='affine'"),
    ({"localization_channels": 0}, "Received: localization_channels=0"),
    ({"localization_units": 2.5}, "Received: localization_units=2.5"),
    ({"localization_frames": False}, "Received: localization_frames=False"),
    ({"return_transform": None}, "Received: return_transform=None"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpatialTransformer(**kwargs)


def test_unknown_height_raises():
    with pytest.raises(ValueError, match="Received: input_shape"):
        SpatialTransformer()(keras.Input((None, None, 5, 3)))
