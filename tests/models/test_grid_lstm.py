"""2D Grid LSTM (Kalchbrenner et al. 2015) and the LSTM-PB cores built on it."""

import keras
import numpy as np
import pytest

from kerasfer.models import LSTMParametricBias
from kerasfer.models.grid_lstm import GridLSTM


def test_parameter_count_follows_the_block_equations():
    units, depth, features = 6, 3, 5
    layer = GridLSTM(units, depth=depth)
    layer(np.zeros((1, 4, features), "float32"))
    # input projection + per block and per dimension (time, depth) an LSTM transform of
    # the concatenated hidden vectors [h_time, h_depth] (2u inputs, 4 gates).
    expected = features * units + units + depth * 2 * (2 * units * 4 * units + 4 * units)
    assert layer.count_params() == expected


def test_causal_and_state_carrying():
    layer = GridLSTM(4, depth=2, return_sequences=True, return_state=True)
    x = np.random.default_rng(0).normal(size=(2, 8, 3)).astype("float32")
    changed = x.copy()
    changed[:, 5:] += 1.0
    full, *states = layer(x)
    assert len(states) == 4  # (h, m) along time for each of the 2 blocks
    np.testing.assert_allclose(layer(changed)[0][:, :5], full[:, :5], atol=1e-6)
    assert not np.allclose(layer(changed)[0][:, 5:], full[:, 5:])
    first, *carried = layer(x[:, :5])
    rest = layer(x[:, 5:], initial_state=carried)[0]
    np.testing.assert_allclose(np.concatenate([first, rest], 1), full, atol=1e-5)


def test_round_trips_and_bad_arguments(tmp_path):
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, GridLSTM(5, depth=2, return_sequences=True)(inputs))
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    model.save(tmp_path / "grid.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "grid.keras")(x), model(x),
                               atol=1e-6)
    layer = GridLSTM(5, depth=2)
    assert GridLSTM.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="Received: depth=0"):
        GridLSTM(5, depth=0)


@pytest.mark.slow
@pytest.mark.parametrize("recurrent", ["lstm", "grid_lstm"])
def test_lstm_pb_trains_saves_and_loads_with_either_core(tmp_path, recurrent):
    keras.utils.set_random_seed(0)
    t = np.linspace(0, 3, 12, dtype="float32")
    x = np.stack([np.stack([np.sin(t * (k + 1)), np.cos(t * (k + 1))], -1) for k in range(4)])
    model = LSTMParametricBias(4, input_dim=2, pb_dim=3, units=8, recurrent=recurrent)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    inputs = {"landmarks": x[:, :-1], "sequence_index": np.arange(4)}
    loss = model.fit(inputs, x[:, 1:], epochs=30, verbose=0).history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    path = tmp_path / f"{recurrent}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.recurrent == recurrent
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-5)
    assert loaded.recognize(x, steps=3).shape == (4, 3)
    assert model.generate(model.pb_vectors()[0], x[0, 0], 5).shape == (1, 5, 2)
    with pytest.raises(ValueError, match="Received: recurrent='gru'"):
        LSTMParametricBias(4, recurrent="gru")
