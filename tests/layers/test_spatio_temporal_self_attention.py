"""SpatioTemporalSelfAttention (Ayral (2021) thesis, Eq. 4.6–4.7, Fig. 4.5): reference, symmetry."""

import importlib.util
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers.attention_mask import AttentionMask
from kerasfer.layers.spatial_transformer import SpatialTransformer
from kerasfer.layers.spatio_temporal_self_attention import SpatioTemporalSelfAttention

from jax_subprocess import assert_runs_on_jax

SHAPE = (2, 4, 3, 5, 6)
DIMENSIONS = ("spatiotemporal", "spatial", "temporal")
MODES = ("all_pairs", "single_query")


def random_features(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomize_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in layer.get_weights()])


def numpy_self_attention(layer, x):
    # Eq. 4.6–4.7 per head with einsum, the heads concatenated then W_o, plus the residual.
    weights = {w.path.split("/")[-1]: np.asarray(w) for w in layer.weights}
    b, t, h, w, c = x.shape
    values = {"spatial": lambda: x.reshape(b * t, h * w, 1, c),
              "spatiotemporal": lambda: x.reshape(b, t * h * w, 1, c),
              "temporal": lambda: x.reshape(b, t, h * w, c)}[layer.dimensions]()
    entities = values.mean(axis=2)
    pooled = entities.mean(axis=1, keepdims=True)
    single = layer.mode == "single_query"
    queries_source, values = (pooled, entities[:, :, None]) if single else (entities, values)
    heads = layer.num_heads

    def project(source, name):
        out = source @ weights[name + "_kernel"] + weights[name + "_bias"]
        return out.reshape(source.shape[:-1] + (heads, -1))

    q, k, v = project(queries_source, "query"), project(entities, "key"), project(values, "value")
    scores = np.einsum("nqhd,nkhd->nhqk", q, k) / np.sqrt(layer.key_dim)
    attention = np.exp(scores - scores.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    attended = np.einsum("nhqk,nkphe->nqphe", attention, v)
    update = attended.reshape(attended.shape[:3] + (-1,)) @ weights["output_kernel"]
    update = update + weights["output_bias"]
    if single:
        outputs = (pooled + update[:, :, 0]).reshape(b, -1, c)
        return (outputs if layer.dimensions == "spatial" else outputs[:, 0]), attention[:, :, 0]
    return (values + update).reshape(x.shape), attention


def expected_shapes(dimensions, mode, heads):
    b, t, h, w, c = SHAPE
    leading = (b, t) if dimensions == "spatial" else (b,)
    length = {"spatial": h * w, "spatiotemporal": t * h * w, "temporal": t}[dimensions]
    if mode == "single_query":
        return leading + (c,), leading + (heads, length)
    return SHAPE, leading + (heads, length, length)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_output_matches_numpy_reference_and_attention_sums_to_one(dimensions, mode):
    layer = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, value_dim=4,
                                        dimensions=dimensions, mode=mode,
                                        return_attention=True)
    x = random_features()
    layer(x)
    randomize_weights(layer)
    outputs, attention = (np.asarray(t) for t in layer(x))
    assert (outputs.shape, attention.shape) == expected_shapes(dimensions, mode, 2)
    assert layer.compute_output_shape(SHAPE) == (outputs.shape, attention.shape)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
    expected, expected_attention = numpy_self_attention(layer, x)
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(attention.reshape(expected_attention.shape),
                               expected_attention, rtol=1e-4, atol=1e-6)
    symbolic = layer(keras.Input((None,) + SHAPE[2:]))  # unknown number of frames
    assert tuple(s.shape for s in symbolic) == layer.compute_output_shape(
        (None, None) + SHAPE[2:])
    assert symbolic[0].shape[-1] == 6


@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_zero_initialised_output_is_identity_or_average_pooling(dimensions):
    x = random_features()
    all_pairs = SpatioTemporalSelfAttention(num_heads=2, key_dim=4, dimensions=dimensions)
    np.testing.assert_array_equal(np.asarray(all_pairs(x)), x)
    single = SpatioTemporalSelfAttention(num_heads=2, key_dim=4, dimensions=dimensions,
                                         mode="single_query")
    axes = (2, 3) if dimensions == "spatial" else (1, 2, 3)
    np.testing.assert_allclose(np.asarray(single(x)), x.mean(axis=axes), atol=1e-6)


def permutation(dimensions, x, seed=3):
    # Permutes the attended entities of x (same permutation for every sample / frame).
    rng = np.random.default_rng(seed)
    b, t, h, w, c = x.shape
    if dimensions == "spatiotemporal":
        order = rng.permutation(t * h * w)
        return lambda y: y.reshape(b, t * h * w, c)[:, order].reshape(y.shape)
    if dimensions == "spatial":
        order = rng.permutation(h * w)
        return lambda y: y.reshape(b, t, h * w, c)[:, :, order].reshape(y.shape)
    frames, positions = rng.permutation(t), rng.permutation(h * w)
    return lambda y: y.reshape(b, t, h * w, c)[:, frames][:, :, positions].reshape(y.shape)


@pytest.mark.parametrize("dimensions", DIMENSIONS)
def test_all_pairs_is_permutation_equivariant_and_single_query_invariant(dimensions):
    x = random_features()
    permute = permutation(dimensions, x)
    for mode in MODES:
        layer = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, dimensions=dimensions,
                                            mode=mode)
        layer(x)
        randomize_weights(layer)
        outputs, permuted = np.asarray(layer(x)), np.asarray(layer(permute(x)))
        expected = permute(outputs) if mode == "all_pairs" else outputs
        np.testing.assert_allclose(permuted, expected, rtol=1e-4, atol=1e-5)
        if mode == "all_pairs":  # the outputs do move with the positions
            assert not np.allclose(permuted, outputs, atol=1e-3)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_reach_every_weight(mode):
    layer = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, mode=mode)
    x = tf.constant(random_features())
    layer(x)
    randomize_weights(layer)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(gradients) == 8
    for variable, gradient in zip(layer.trainable_variables, gradients):
        assert gradient is not None and np.any(np.abs(np.asarray(gradient)) > 0), variable.path


@pytest.mark.parametrize("kwargs, message", [
    ({"num_heads": 0}, "Received: num_heads=0"),
    ({"key_dim": 2.0}, "Received: key_dim=2.0"),
    ({"value_dim": -1}, "Received: value_dim=-1"),
    ({"dimensions": "time"}, "Received: dimensions='time'"),
    ({"mode": "pairs"}, "Received: mode='pairs'"),
    ({"return_attention": "yes"}, "Received: return_attention='yes'"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpatioTemporalSelfAttention(**kwargs)


def test_bad_input_rank_raises():
    with pytest.raises(ValueError, match="Received: input_shape"):
        SpatioTemporalSelfAttention()(np.zeros((2, 3, 4), "float32"))


JAX_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    import kerasfer.layers.attention_mask
    import kerasfer.layers.spatial_transformer
    import kerasfer.layers.spatio_temporal_self_attention

    directory = sys.argv[1]
    model = keras.saving.load_model(os.path.join(directory, "attention.keras"))
    inputs = np.load(os.path.join(directory, "inputs.npy"))
    expected = np.load(os.path.join(directory, "outputs.npy"))
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def forward(trainable, non_trainable):
        return model.stateless_call(trainable, non_trainable, inputs)[0]

    np.testing.assert_allclose(np.asarray(jax.jit(forward)(trainable, non_trainable)),
                               expected, rtol=1e-4, atol=1e-4)
    grads = jax.jit(jax.grad(lambda *a: (forward(*a) ** 2).sum()))(trainable, non_trainable)
    assert len(grads) == len(trainable)
    assert all(np.all(np.isfinite(np.asarray(g))) and np.any(np.asarray(g) != 0)
               for g in grads)
    print("jax ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_attention_and_transformer_layers_run_on_jax(tmp_path):
    # Saved under TensorFlow, reloaded under JAX: same outputs, nonzero finite gradients.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 3, 5, 6))
    transformers = [SpatialTransformer(dimensions=d, localization_units=4)
                    for d in ("spatial", "spatiotemporal")]
    x = transformers[1](transformers[0](inputs))
    x = AttentionMask(hidden_units=4, normalization="softmax", context="multiplicative",
                      output_initializer="glorot_uniform")(x)
    x = AttentionMask(hidden_units=4, dimensions="temporal",
                      output_initializer="glorot_uniform")(x)
    x = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, dimensions="temporal",
                                    output_initializer="glorot_uniform")(x)
    x = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, dimensions="spatial",
                                    output_initializer="glorot_uniform")(x)
    x = SpatioTemporalSelfAttention(num_heads=2, key_dim=3, mode="single_query",
                                    output_initializer="glorot_uniform")(x)
    model = keras.Model(inputs, x)
    for seed, transformer in enumerate(transformers):  # leave the identity initialisation
        randomize_weights(transformer, seed=seed)
    features = random_features()
    model.save(tmp_path / "attention.keras")
    np.save(tmp_path / "inputs.npy", features)
    np.save(tmp_path / "outputs.npy", np.asarray(model(features)))
    assert_runs_on_jax(JAX_SCRIPT, tmp_path)
