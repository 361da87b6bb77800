"""AttentionMask (Ayral (2021) thesis, Eq. 4.1, 4.10, Table 4.1): masks, normalisation, identity."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers.attention_mask import AttentionMask

SHAPE = (2, 4, 3, 5, 6)
MASK_SHAPES = {"spatiotemporal": (2, 4, 3, 5, 1), "spatial": (2, 1, 3, 5, 1),
               "temporal": (2, 4, 1, 1, 1)}
SOFTMAX_AXES = {"spatiotemporal": (1, 2, 3), "spatial": (2, 3), "temporal": (1,)}
CONTEXTS = (None, "multiplicative", "additive", "concatenation")


def random_features(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomize_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in layer.get_weights()])


def numpy_logits(layer, x):
    # Eq. 4.10's inner term W_2 (W_1 f + b_1) + b_2, with the Table 4.1 context variants.
    if layer.dimensions == "temporal":
        x = x.mean(axis=(2, 3), keepdims=True)
    elif layer.dimensions == "spatial":
        x = x.mean(axis=1, keepdims=True)
    hidden = x @ layer.hidden_kernel.numpy() + layer.hidden_bias.numpy()
    if layer.context is not None:
        context = np.maximum(x @ layer.context_kernel.numpy() + layer.context_bias.numpy(), 0)
        context = context.mean(axis=(1, 2, 3), keepdims=True)
        hidden = {"multiplicative": lambda: hidden * context,
                  "additive": lambda: np.tanh(hidden + context),
                  "concatenation": lambda: np.concatenate(
                      [hidden, np.broadcast_to(context, hidden.shape)], -1)}[layer.context]()
    return hidden @ layer.output_kernel.numpy() + layer.output_bias.numpy()


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("normalization", ["tanh", "sigmoid", "softmax"])
@pytest.mark.parametrize("dimensions", ["spatiotemporal", "spatial", "temporal"])
def test_mask_matches_numpy_is_in_range_and_normalised_over_the_right_axes(
        dimensions, normalization, context):
    layer = AttentionMask(hidden_units=7, dimensions=dimensions, normalization=normalization,
                          context=context, return_mask=True)
    x = random_features()
    layer(x)
    randomize_weights(layer)
    outputs, mask = (np.asarray(t) for t in layer(x))
    assert outputs.shape == SHAPE and mask.shape == MASK_SHAPES[dimensions]
    assert layer.compute_output_shape(SHAPE) == (SHAPE, MASK_SHAPES[dimensions])
    logits = numpy_logits(layer, x)
    if normalization == "tanh":
        expected_mask = 1 + np.tanh(logits)
        assert np.all((mask > 0) & (mask < 2))
        gate = expected_mask
    elif normalization == "sigmoid":
        expected_mask = 1 / (1 + np.exp(-logits))
        assert np.all((mask > 0) & (mask < 1))
        gate = expected_mask
    else:
        axes = SOFTMAX_AXES[dimensions]
        exp = np.exp(logits - logits.max(axis=axes, keepdims=True))
        expected_mask = exp / exp.sum(axis=axes, keepdims=True)
        np.testing.assert_allclose(mask.sum(axis=axes), 1.0, atol=1e-5)
        gate = expected_mask * np.prod([mask.shape[a] for a in axes])  # uniform -> identity
    np.testing.assert_allclose(mask, expected_mask, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(outputs, x * gate, rtol=1e-4, atol=1e-5)  # Eq. 4.1


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("normalization", ["tanh", "softmax"])
@pytest.mark.parametrize("dimensions", ["spatiotemporal", "spatial", "temporal"])
def test_zero_initialised_output_projection_makes_the_layer_the_identity(
        dimensions, normalization, context):
    layer = AttentionMask(hidden_units=5, dimensions=dimensions, normalization=normalization,
                          context=context)
    x = random_features()
    if normalization == "tanh":
        np.testing.assert_array_equal(np.asarray(layer(x)), x)
    else:
        np.testing.assert_allclose(np.asarray(layer(x)), x, rtol=1e-6, atol=1e-6)
    assert not np.any(np.asarray(layer.output_kernel))


def test_sigmoid_starts_as_half_gate_and_single_convolution_has_no_hidden_layer():
    layer = AttentionMask(hidden_units=None, normalization="sigmoid")
    x = random_features()
    np.testing.assert_allclose(np.asarray(layer(x)), 0.5 * x, atol=1e-7)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["output_kernel", "output_bias"]
    assert layer.output_kernel.shape == (6, 1)


def test_only_context_masks_depend_on_the_rest_of_the_video():
    x = random_features()
    changed = x.copy()
    changed[:, 0] += 3.0  # alter frame 0 only
    for context, depends in ((None, False), ("multiplicative", True)):
        layer = AttentionMask(hidden_units=5, context=context, return_mask=True,
                              output_initializer="glorot_uniform")
        mask = np.asarray(layer(x)[1])
        other = np.asarray(layer(changed)[1])
        assert np.allclose(mask[:, 1:], other[:, 1:], atol=1e-6) != depends, context


@pytest.mark.parametrize("context", CONTEXTS)
def test_gradients_reach_every_weight(context):
    layer = AttentionMask(hidden_units=5, normalization="softmax", context=context)
    x = tf.constant(random_features())
    layer(x)
    randomize_weights(layer)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(gradients) == len(layer.weights)
    for variable, gradient in zip(layer.trainable_variables, gradients):
        assert gradient is not None and np.any(np.abs(np.asarray(gradient)) > 0), variable.path


def test_keras_save_load_round_trip(tmp_path):
    inputs = keras.Input((None, 3, 5, 6))
    layer = AttentionMask(hidden_units=4, dimensions="spatial", normalization="softmax",
                          context="multiplicative", output_initializer="glorot_uniform",
                          return_mask=True)
    features, mask = layer(inputs)
    model = keras.Model(inputs, [features, mask])
    x = random_features()
    expected = [np.asarray(t) for t in model(x)]
    model.save(tmp_path / "mask.keras")
    loaded = keras.saving.load_model(tmp_path / "mask.keras")
    for got, want in zip(loaded(x), expected):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)
    config = loaded.layers[1].get_config()
    assert (config["dimensions"], config["normalization"], config["context"]) == (
        "spatial", "softmax", "multiplicative")
    assert AttentionMask.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_units": 0}, "Received: hidden_units=0"),
    ({"hidden_units": True}, "Received: hidden_units=True"),
    ({"dimensions": "time"}, "Received: dimensions='time'"),
    ({"normalization": "relu"}, "Received: normalization='relu'"),
    ({"context": "dot"}, "Received: context='dot'"),
    ({"hidden_units": None, "context": "additive"}, "Received: hidden_units=None"),
    ({"return_mask": 1}, "Received: return_mask=1"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttentionMask(**kwargs)


def test_bad_input_rank_raises():
    with pytest.raises(ValueError, match="Received: input_shape"):
        AttentionMask()(np.zeros((2, 3, 4), "float32"))
