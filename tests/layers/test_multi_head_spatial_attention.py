"""MultiHeadSpatialAttention (EmotiW attention paper, Eq. 2–4): attention, penalty."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.layers.multi_head_spatial_attention import MultiHeadSpatialAttention


def random_features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def numpy_attention(layer, rows):
    # Eq. 4 in NumPy: A = softmax over positions of W_s2 tanh(W_s1 Rᵀ); rows (n, L, D).
    logits = np.tanh(rows @ layer.w_s1.numpy()) @ layer.w_s2.numpy()  # (n, L, heads)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.transpose(weights / weights.sum(axis=1, keepdims=True), (0, 2, 1))


def numpy_penalty(attention):
    # ‖A Aᵀ − I‖_F² per sample, averaged; attention (n, heads, L).
    gram = attention @ np.transpose(attention, (0, 2, 1))
    return np.mean(np.sum((gram - np.eye(attention.shape[1])) ** 2, axis=(1, 2)))


@pytest.mark.parametrize("shape", [(3, 10, 6), (3, 4, 5, 6), (2, 3, 4, 5, 6)])
def test_attention_rows_sum_to_one_and_features_are_a_times_r(shape):
    keras.utils.set_random_seed(0)
    layer = MultiHeadSpatialAttention(heads=3, attention_units=7, return_attention=True)
    inputs = random_features(shape)
    features, attention = layer(inputs)
    features, attention = np.asarray(features), np.asarray(attention)
    spatial = shape[1:2] if len(shape) == 3 else shape[-3:-1]
    leading = shape[:len(shape) - len(spatial) - 1]
    assert features.shape == leading + (3 * 6,)
    assert attention.shape == leading + (3,) + spatial
    assert layer.compute_output_shape(shape) == (features.shape, attention.shape)
    sums = attention.reshape(leading + (3, -1)).sum(axis=-1)
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    assert np.all(attention >= 0)
    rows = inputs.reshape((-1, int(np.prod(spatial)), 6))
    expected_attention = numpy_attention(layer, rows)
    np.testing.assert_allclose(attention.reshape(expected_attention.shape), expected_attention,
                               atol=1e-5)
    # M = A R flattened head by head: [M_1, ..., M_N].
    expected = (expected_attention @ rows).reshape(leading + (3 * 6,))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.attention_maps(inputs), attention, atol=1e-6)


def test_penalty_matches_numpy_and_is_added_only_in_training():
    keras.utils.set_random_seed(1)
    layer = MultiHeadSpatialAttention(heads=2, attention_units=5, penalty_coefficient=0.3,
                                      return_attention=True)
    inputs = random_features((4, 3, 3, 8))
    _, attention = layer(inputs, training=True)
    assert len(layer.losses) == 1
    expected = 0.3 * numpy_penalty(np.asarray(attention).reshape(4, 2, 9))
    np.testing.assert_allclose(np.asarray(layer.losses[0]), expected, rtol=1e-5)
    layer(inputs, training=False)
    assert layer.losses == []
    layer(inputs)
    assert layer.losses == []
    disabled = MultiHeadSpatialAttention(heads=2, attention_units=5, penalty_coefficient=0.0)
    disabled(inputs, training=True)
    assert disabled.losses == []


def test_penalty_reaches_the_training_loss_but_not_evaluation():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((2, 3, 3, 4))
    layer = MultiHeadSpatialAttention(heads=2, attention_units=5, penalty_coefficient=2.0)
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = random_features((3, 2, 3, 3, 4))
    y = np.zeros((3, 2, 8), "float32")
    mse = np.mean(np.asarray(model(x)) ** 2)
    penalty = 2.0 * numpy_penalty(np.asarray(layer.attention_maps(x)).reshape(6, 2, 9))
    model(x, training=True)
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.train_on_batch(x, y), mse + penalty, rtol=1e-4)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), mse, rtol=1e-4)


def test_penalty_is_zero_for_orthogonal_one_hot_heads_and_two_for_identical_ones():
    # R = 5·I (2 positions, 2 channels), W_s1 = I: tanh(W_s1 Rᵀ) ≈ I. W_s2 = 100·I sends head
    # h to position h (A = I, orthogonal one-hot rows); W_s2 with equal columns sends both
    # heads to position 0 (A A ᵀ = all ones, penalty ‖1 − I‖_F² = 2).
    inputs = 5.0 * np.eye(2, dtype="float32")[None]
    for w_s2, expected_attention, expected_penalty in (
            ([[100.0, 0.0], [0.0, 100.0]], np.eye(2), 0.0),
            ([[100.0, 100.0], [0.0, 0.0]], [[1, 0], [1, 0]], 2.0)):
        layer = MultiHeadSpatialAttention(heads=2, attention_units=2, return_attention=True)
        layer.build((1, 2, 2))
        layer.set_weights([np.eye(2, dtype="float32"), np.asarray(w_s2, "float32")])
        _, attention = layer(inputs, training=True)
        np.testing.assert_allclose(np.asarray(attention)[0], expected_attention, atol=1e-6)
        np.testing.assert_allclose(np.asarray(layer.losses[0]), expected_penalty, atol=1e-6)


def test_penalty_alone_gives_gradients_to_both_projections():
    layer = MultiHeadSpatialAttention(heads=2, attention_units=4)
    inputs = random_features((2, 6, 3))
    layer(inputs)
    with tf.GradientTape() as tape:
        layer(inputs, training=True)
        penalty = layer.losses[0]
    gradients = tape.gradient(penalty, layer.trainable_weights)
    assert [w.name for w in layer.trainable_weights] == ["w_s1", "w_s2"]
    assert all(np.any(np.asarray(g) != 0) for g in gradients)


def test_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, 4, 4, 6))
    layer = MultiHeadSpatialAttention(heads=4, attention_units=3, penalty_coefficient=0.1,
                                      return_attention=True)
    model = keras.Model(inputs, layer(inputs))
    x = random_features((2, 5, 4, 4, 6))
    reference = [np.asarray(output) for output in model(x)]
    path = tmp_path / "attention.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    for output, expected in zip(restored(x), reference):
        np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-6, atol=1e-6)
    config = restored.layers[-1].get_config()
    assert (config["heads"], config["attention_units"], config["penalty_coefficient"],
            config["return_attention"]) == (4, 3, 0.1, True)


@pytest.mark.parametrize("kwargs, message", [
    ({"heads": 0}, "Received: heads=0"),
    ({"heads": 1.5}, "Received: heads=1.5"),
    ({"attention_units": True}, "Received: attention_units=True"),
    ({"penalty_coefficient": -1.0}, "Received: penalty_coefficient=-1.0"),
    ({"penalty_coefficient": float("nan")}, "Received: penalty_coefficient=nan"),
    ({"return_attention": 1}, "Received: return_attention=1"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadSpatialAttention(**kwargs)


def test_bad_input_rank_raises():
    with pytest.raises(ValueError, match="Received: input_shape=\\(2, 6\\)"):
        MultiHeadSpatialAttention()(np.zeros((2, 6), "float32"))
