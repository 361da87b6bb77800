"""`GridLSTM`: a 2D Grid LSTM (time × depth) sequence layer, drop-in for `keras.layers.LSTM`."""

import keras

from kerasfer.models.grid_lstm_cell import GridLSTMCell


@keras.saving.register_keras_serializable(package="kerasfer")
class GridLSTM(keras.layers.RNN):
    """2D Grid LSTM over a sequence: `GridLSTMCell` blocks along depth, unrolled in time.

    Kalchbrenner, Danihelka & Graves (2015), "Grid Long Short-Term Memory", Eq. 4-5 (see
    `GridLSTMCell`); the recurrent core of the LSTM-PB of Huynh & Kim (2017; ChaLearn LAP
    2017, Section 2.3.4). Same call contract as `keras.layers.LSTM`: with
    `return_state=True` it returns `[outputs, *states]` (`2 · depth` state tensors, time
    hidden and memory of every block) and accepts them back as `initial_state`.

    Args:
        units: int. Hidden and memory size of every block.
        depth: int. Blocks along depth. Defaults to 2.
        return_sequences: bool. Defaults to False.
        return_state: bool. Defaults to False.
        kernel_initializer: kernels' initializer. Defaults to `"glorot_uniform"`.
        **kwargs: `keras.layers.RNN` arguments (`go_backwards`, `name`, ...).

    Input shape: `(batch, steps, features)`. Output shape: `(batch, steps, units)` with
    `return_sequences`, else `(batch, units)`.

    Example:

    >>> GridLSTM(8, depth=2, return_sequences=True)(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    """

    def __init__(self, units, depth=2, return_sequences=False, return_state=False,
                 kernel_initializer="glorot_uniform", **kwargs):
        kwargs.pop("cell", None)
        cell = GridLSTMCell(units, depth, kernel_initializer=kernel_initializer,
                            name="grid_lstm_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         **kwargs)
        self.units = units
        self.depth = depth

    def get_config(self):
        config = super().get_config()
        config.pop("cell", None)
        config.update(units=self.units, depth=self.depth,
                      kernel_initializer=keras.initializers.serialize(
                          self.cell.kernel_initializer))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
