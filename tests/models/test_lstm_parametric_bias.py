"""LSTM-PB (LSTM-PB paper, ChaLearn 2017): learning, recognition and generation modes, save/load, PB classifier."""

import numpy as np
import pytest

import keras

from kerasfer.models.lstm_parametric_bias import LSTMParametricBias
from kerasfer.models.lstm_pb_classifier import fit_pb_classifier

FRAMES, DIM, PB_DIM = 16, 4, 2
SLOW, FAST = 0.3, 0.9  # radians per frame: the two dynamics


def sine_sequences(freqs, phases, frames=FRAMES):
    """(n, frames, 4): the 4 coordinates are the same sine shifted by π/4 each."""
    t = np.arange(frames)[None, :, None]
    shift = np.arange(DIM)[None, None, :] * np.pi / 4
    return np.sin(np.asarray(freqs)[:, None, None] * t + np.asarray(phases)[:, None, None]
                  + shift).astype("float32")


def next_frame_data(x):
    return {"landmarks": x[:, :-1], "sequence_index": np.arange(len(x))}, x[:, 1:]


def mse(model, x):
    inputs, targets = next_frame_data(x)
    return float(np.mean((keras.ops.convert_to_numpy(model(inputs)) - targets) ** 2))


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    # Sequences 0, 1: slow dynamics; 2, 3: fast; different phases within each class.
    x = sine_sequences([SLOW, SLOW, FAST, FAST], [0.0, 1.5, 0.4, 2.0])
    model = LSTMParametricBias(num_sequences=4, input_dim=DIM, pb_dim=PB_DIM, units=16)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    error_before = mse(model, x)
    inputs, targets = next_frame_data(x)
    # 300 full-batch steps in one epoch (Keras' per-epoch overhead dominates otherwise).
    repeats = 300
    model.fit({k: np.concatenate([v] * repeats) for k, v in inputs.items()},
              np.concatenate([targets] * repeats), batch_size=4, epochs=1, shuffle=False,
              verbose=0)
    return model, x, error_before


def test_call_shapes_and_zero_initial_pb():
    model = LSTMParametricBias(num_sequences=3, input_dim=6, pb_dim=5, units=7)
    out = model({"landmarks": np.zeros((2, 9, 6), "float32"), "sequence_index": np.array([0, 2])})
    assert tuple(out.shape) == (2, 9, 6)
    # Section 2.3.6: PB vectors start at zero.
    np.testing.assert_array_equal(model.pb_vectors(), np.zeros((3, 5)))
    assert model.generate(np.zeros(5), np.zeros(6), 4).shape == (1, 4, 6)
    assert model.generate(np.zeros((3, 5)), np.zeros(6), 2).shape == (3, 2, 6)
    assert model.lstm.units == 7 and LSTMParametricBias(2).units == 512  # paper: 512


def test_learning_mode_learns_and_groups_pb_by_dynamics(trained):
    model, x, error_before = trained
    assert mse(model, x) < error_before / 100
    pb = model.pb_vectors()
    distance = np.linalg.norm(pb[:, None] - pb[None], axis=-1)
    assert max(distance[0, 1], distance[2, 3]) < distance[:2, 2:].min()


def test_recognition_finds_own_class_pb_and_leaves_weights_unchanged(trained):
    model, x, _ = trained
    weights = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    held_out = sine_sequences([SLOW, FAST], [3.0, 1.0])  # phases unseen in training
    recognized = model.recognize(held_out, steps=100)  # the paper's SGD, learning rate 0.9
    assert recognized.shape == (2, PB_DIM)
    pb = model.pb_vectors()
    centres = np.stack([pb[:2].mean(0), pb[2:].mean(0)])
    distance = np.linalg.norm(recognized[:, None] - centres[None], axis=-1)
    assert distance[0, 0] < distance[0, 1] and distance[1, 1] < distance[1, 0]
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    assert all(w.trainable for w in model.weights)  # freezing was undone
    # The fitted PB vectors explain the held-out sequences better than PB = 0.
    fitted, zero = (np.mean((keras.ops.convert_to_numpy(
        model.predict_next_frames(held_out[:, :-1], pb)) - held_out[:, 1:]) ** 2)
        for pb in (recognized, np.zeros_like(recognized)))
    assert fitted < zero


def test_generation_with_learned_pb_beats_random_pb(trained):
    model, x, _ = trained
    pb = model.pb_vectors()
    rng = np.random.default_rng(0)
    for i in (0, 2):
        learned = np.mean((model.generate(pb[i], x[i, 0], FRAMES)[0] - x[i]) ** 2)
        random = rng.normal(size=(5, PB_DIM))
        random *= np.linalg.norm(pb[i]) / np.linalg.norm(random, axis=1, keepdims=True)
        generated = model.generate(random, x[i, 0], FRAMES)
        assert learned < np.mean((generated - x[i]) ** 2, axis=(1, 2)).min() / 10


def test_save_load_round_trip(trained, tmp_path):
    model, x, _ = trained
    path = str(tmp_path / "lstm_pb.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, LSTMParametricBias)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.pb_vectors(), model.pb_vectors())
    inputs, _ = next_frame_data(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(inputs)),
                               keras.ops.convert_to_numpy(model(inputs)), atol=1e-6)


def test_gradient_boosting_classifies_training_pb(trained):
    model, _, _ = trained
    labels = np.array([0, 0, 1, 1])
    classifier = fit_pb_classifier(model.pb_vectors(), labels, random_state=0)
    assert classifier.n_estimators == 5000  # Section 2.4
    np.testing.assert_array_equal(classifier.predict(model.pb_vectors()), labels)


def test_pb_gradient_scale_scales_only_the_pb_update():
    x = sine_sequences([SLOW, FAST], [0.0, 1.0], frames=6)
    inputs, targets = next_frame_data(x)
    deltas = []
    for scale in (1.0, 10.0):
        keras.utils.set_random_seed(1)
        model = LSTMParametricBias(2, input_dim=DIM, pb_dim=PB_DIM, units=4,
                                   pb_gradient_scale=scale)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        before = [keras.ops.convert_to_numpy(w).copy() for w in model.lstm.weights]
        model.train_on_batch(inputs, targets)
        deltas.append((model.pb_vectors(), [keras.ops.convert_to_numpy(w) - b
                                            for w, b in zip(model.lstm.weights, before)]))
    np.testing.assert_allclose(deltas[1][0], 10 * deltas[0][0], rtol=1e-4, atol=1e-7)
    for one, ten in zip(deltas[0][1], deltas[1][1]):
        np.testing.assert_allclose(one, ten, atol=1e-7)


@pytest.mark.parametrize("kwargs", [dict(num_sequences=0), dict(num_sequences=2.5),
                                    dict(num_sequences=2, input_dim=0),
                                    dict(num_sequences=2, pb_dim=-1),
                                    dict(num_sequences=2, units=True),
                                    dict(num_sequences=2, pb_gradient_scale=0.0),
                                    dict(num_sequences=2, input_noise=-0.1)])
def test_bad_constructor_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Received: "):
        LSTMParametricBias(**kwargs)


def test_bad_method_arguments_raise():
    model = LSTMParametricBias(2, input_dim=DIM, pb_dim=PB_DIM, units=4)
    with pytest.raises(ValueError, match="Received: landmarks.shape"):
        model.recognize(np.zeros((1, 5, DIM + 1)))
    with pytest.raises(ValueError, match="Received: landmarks.shape"):
        model.recognize(np.zeros((1, 1, DIM)))
    with pytest.raises(ValueError, match="Received: optimizer"):
        model.recognize(np.zeros((1, 5, DIM)), optimizer="rmsprop")
    with pytest.raises(ValueError, match="Received: steps"):
        model.recognize(np.zeros((1, 5, DIM)), steps=0)
    with pytest.raises(ValueError, match="Received: num_frames"):
        model.generate(np.zeros(PB_DIM), np.zeros(DIM), 0)
    with pytest.raises(ValueError, match="Received: labels"):
        fit_pb_classifier(np.zeros((4, 2)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="Received: labels.shape"):
        fit_pb_classifier(np.zeros((4, 2)), [0, 1])


def test_input_noise_acts_in_training_only(tmp_path):
    keras.utils.set_random_seed(2)
    x = sine_sequences([SLOW, FAST], [0.0, 1.0])
    inputs, _ = next_frame_data(x)
    model = LSTMParametricBias(2, input_dim=DIM, pb_dim=PB_DIM, units=8, input_noise=0.5)
    clean = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(inputs, training=False)), clean)
    noisy = [keras.ops.convert_to_numpy(model(inputs, training=True)) for _ in range(2)]
    assert not np.allclose(noisy[0], clean) and not np.allclose(noisy[0], noisy[1])
    # recognition fits the PB vectors on clean inputs: the same result twice
    np.testing.assert_array_equal(model.recognize(x, steps=3), model.recognize(x, steps=3))
    path = str(tmp_path / "noisy.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["input_noise"] == 0.5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(inputs)), clean, atol=1e-6)
