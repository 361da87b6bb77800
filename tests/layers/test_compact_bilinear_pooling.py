"""CompactBilinearPooling: naive Tensor Sketch, <x, y>² estimator, normalisation, JAX."""

import importlib.util
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers import CompactBilinearPooling
from kerasfer.layers import NetVLAD

from jax_subprocess import assert_runs_on_jax


def random_features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def stored_hashes(layer):
    return [np.asarray(weight) for weight in (layer.hashes[0], layer.signs[0],
                                              layer.hashes[1], layer.signs[1])]


def naive_cbp(first, second, layer):
    """Explicit count sketches and circular convolution, then pooling and normalisation."""
    hash_1, sign_1, hash_2, sign_2 = stored_hashes(layer)
    d = layer.output_dim
    first = first.reshape(first.shape[0], -1, first.shape[-1]).astype("float64")
    second = second.reshape(second.shape[0], -1, second.shape[-1]).astype("float64")
    pooled = np.zeros((first.shape[0], d))
    for b in range(first.shape[0]):
        for i in range(first.shape[1]):
            sketch_1, sketch_2 = np.zeros(d), np.zeros(d)
            for c in range(first.shape[2]):
                sketch_1[hash_1[c]] += sign_1[c] * first[b, i, c]
            for c in range(second.shape[2]):
                sketch_2[hash_2[c]] += sign_2[c] * second[b, i, c]
            for k in range(d):
                for j in range(d):
                    pooled[b, k] += sketch_1[j] * sketch_2[(k - j) % d]
    if layer.pooling == "average":
        pooled /= first.shape[1]
    if layer.power_normalization is not None:
        pooled = np.sign(pooled) * np.abs(pooled) ** layer.power_normalization
    if layer.l2_normalization:
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled


@pytest.mark.parametrize("options", [
    {},
    {"power_normalization": None, "l2_normalization": False},
    {"power_normalization": 0.3, "pooling": "average"},
])
def test_cbp_equals_naive_tensor_sketch(options):
    # d = 15 is odd: the inverse FFT then needs the explicit fft_length. 36 channel pairs
    # leave bins no pair can reach: they must be exactly 0, not FFT round-off lifted by
    # |y|^σ from ~1e-9 to ~1e-4.
    features = random_features((2, 3, 2, 6))
    layer = CompactBilinearPooling(output_dim=15, seed=3, **options)
    np.testing.assert_allclose(np.asarray(layer(features)),
                               naive_cbp(features, features, layer), rtol=1e-5, atol=1e-5)


def test_cbp_of_two_inputs_equals_naive_tensor_sketch():
    first, second = random_features((2, 5, 6), seed=1), random_features((2, 5, 4), seed=2)
    layer = CompactBilinearPooling(output_dim=16, power_normalization=None,
                                   l2_normalization=False, seed=0)
    np.testing.assert_allclose(np.asarray(layer([first, second])),
                               naive_cbp(first, second, layer), rtol=1e-5, atol=1e-5)
    assert [w.shape[0] for w in layer.hashes] == [6, 4]


@pytest.mark.slow
def test_cbp_inner_product_estimates_squared_dot_product():
    # <TS(x ⊗ x), TS(y ⊗ y)> is unbiased for <x, y>² over the random hashes (Pham & Pagh
    # 2013). Sharing one hash for both sketches would give about 2<x, y>² instead.
    rng = np.random.default_rng(0)
    x = rng.normal(size=8)
    vectors = np.stack([x, x + 0.5 * rng.normal(size=8), rng.normal(size=8)]).astype("float32")
    estimates = []
    for seed in range(200):
        layer = CompactBilinearPooling(output_dim=64, power_normalization=None,
                                       l2_normalization=False, seed=seed)
        sketches = np.asarray(layer(vectors[:, None, :]), "float64")
        estimates.append(sketches @ sketches.T)
    estimates = np.array(estimates)
    mean = estimates.mean(axis=0)
    standard_error = estimates.std(axis=0) / np.sqrt(len(estimates))
    exact = (vectors.astype("float64") @ vectors.T.astype("float64")) ** 2
    assert np.all(standard_error < 0.05 * exact.max())
    assert np.all(np.abs(mean - exact) < 4.0 * standard_error + 1e-6), (mean, exact)


@pytest.mark.parametrize("shape", [(2, 9, 6), (2, 3, 3, 6), (2, 2, 3, 3, 6)])
def test_cbp_shapes_and_unit_norm(shape):
    layer = CompactBilinearPooling(output_dim=32, seed=0)
    pooled = np.asarray(layer(random_features(shape)))
    assert pooled.shape == (2, 32) == layer.compute_output_shape(shape)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    # Unknown position axes are fine: only the channels must be known.
    symbolic = CompactBilinearPooling(output_dim=32)(keras.Input((None, None, 6)))
    assert tuple(symbolic.shape) == (None, 32)


def test_cbp_gradients_are_finite_even_at_zero_and_hashes_are_not_trainable():
    layer = CompactBilinearPooling(output_dim=32, seed=0)

    def input_gradient(features):
        features = tf.constant(features)
        with tf.GradientTape() as tape:
            tape.watch(features)
            loss = tf.reduce_sum(layer(features) * random_features((2, 32), seed=5))
        return tape.gradient(loss, features).numpy()

    gradient = input_gradient(random_features((2, 4, 6)))
    assert np.all(np.isfinite(gradient)) and np.all(np.abs(gradient).sum(axis=-1) > 0)
    # sign(y)·|y|^0.5 has an infinite slope at 0; the layer gives 0 there, not NaN.
    np.testing.assert_array_equal(input_gradient(np.zeros((2, 4, 6), "float32")), 0.0)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_cbp_seed_fixes_the_hashes():
    first, second, other = (CompactBilinearPooling(output_dim=64, seed=seed) for seed in (7, 7, 8))
    for layer in (first, second, other):
        layer.build((None, 5, 16))
    assert all(np.array_equal(a, b) for a, b in zip(stored_hashes(first), stored_hashes(second)))
    assert not np.array_equal(stored_hashes(first)[0], stored_hashes(other)[0])
    hash_1, sign_1, _, _ = stored_hashes(first)
    assert hash_1.min() >= 0 and hash_1.max() < 64 and set(sign_1) == {-1.0, 1.0}


@pytest.mark.parametrize("arguments", [
    {"output_dim": 0}, {"output_dim": 8.0}, {"output_dim": True},
    {"power_normalization": 0.0}, {"power_normalization": 1.5}, {"power_normalization": "0.5"},
    {"l2_normalization": 1}, {"pooling": "max"}, {"seed": -1}, {"seed": 1.5},
])
def test_cbp_rejects_bad_arguments(arguments):
    with pytest.raises(ValueError, match="Received: " + next(iter(arguments))):
        CompactBilinearPooling(**arguments)


def test_cbp_rejects_inputs_without_positions_or_channels():
    with pytest.raises(ValueError, match="Received: input_shape"):
        CompactBilinearPooling(output_dim=8)(np.zeros((2, 6), "float32"))
    with pytest.raises(ValueError, match="Received: input_shape"):
        CompactBilinearPooling(output_dim=8)(keras.Input((4, None)))


def test_cbp_and_net_vlad_under_mixed_float16_compute_in_float32():
    features = random_features((2, 3, 4, 8))
    for make in (lambda dtype: CompactBilinearPooling(output_dim=32, seed=0, dtype=dtype),
                 lambda dtype: NetVLAD(num_clusters=4, dtype=dtype)):
        full, mixed = make("float32"), make("mixed_float16")
        full.build(features.shape)
        mixed.build(features.shape)
        mixed.set_weights(full.get_weights())
        outputs = mixed(features)
        assert outputs.dtype == "float16"
        np.testing.assert_allclose(np.asarray(outputs, "float32"), np.asarray(full(features)),
                                   atol=2e-3)


JAX_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    import kerasfer.layers

    directory = sys.argv[1]
    model = keras.saving.load_model(os.path.join(directory, "model.keras"))
    features = np.load(os.path.join(directory, "features.npy"))
    expected = np.load(os.path.join(directory, "outputs.npy"))
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(trainable, features):
        outputs, _ = model.stateless_call(trainable, non_trainable, features)
        return (outputs * jax.numpy.arange(outputs.shape[-1])).sum(), outputs

    (_, outputs), (weight_grads, input_grads) = jax.jit(
        jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))(trainable, features)
    np.testing.assert_allclose(np.asarray(outputs), expected, rtol=1e-4, atol=1e-5)
    assert len(weight_grads) == 3
    for gradient in (*weight_grads, input_grads):
        gradient = np.asarray(gradient)
        assert np.all(np.isfinite(gradient)) and np.any(np.abs(gradient) > 1e-6)
    print("jax ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_cbp_and_net_vlad_run_on_jax(tmp_path):
    # Saved under TensorFlow, reloaded under JAX: same outputs, finite nonzero gradients.
    inputs = keras.Input((2, 3, 3, 6))
    outputs = keras.layers.Concatenate()([
        CompactBilinearPooling(output_dim=15, seed=0)(inputs), NetVLAD(num_clusters=3)(inputs)])
    model = keras.Model(inputs, outputs)
    features = random_features((2, 2, 3, 3, 6))
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "features.npy", features)
    np.save(tmp_path / "outputs.npy", np.asarray(model(features)))
    assert_runs_on_jax(JAX_SCRIPT, tmp_path)
