"""`GridLSTMCell`: one time step of a 2D Grid LSTM (time × depth), as a Keras RNN cell."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class GridLSTMCell(keras.layers.Layer):
    """A column of `depth` 2D Grid LSTM blocks, run once per time step by `keras.layers.RNN`.

    Kalchbrenner, Danihelka & Graves (2015), "Grid Long Short-Term Memory", Section 3
    (Eq. 4-5): an N-dimensional block receives N hidden and N memory vectors, concatenates
    the hidden ones into `H = [h_1, ..., h_N]` and applies one LSTM transform per dimension,
    each with its own weights: `(h'_n, m'_n) = LSTM(H, m_n, W_n)`, with
    `i, f, o, g = split(W_n H + b_n)`, `m'_n = σ(f) ⊙ m_n + σ(i) ⊙ tanh(g)`,
    `h'_n = σ(o) ⊙ tanh(m'_n)`. In the 2D grid of a sequence model the two dimensions are
    time and depth: block `d` at step `t` reads `(h, m)` along time from block `d` at
    `t − 1` (the cell state) and along depth from block `d − 1` at `t`; the depth input of
    block 0 is the projected frame input with zero memory (Section 3.3), and the depth
    output of the last block is the cell output. This is the recurrent core of the LSTM-PB
    of Huynh & Kim (2017, Section 2.3.4, Fig. 4), fed by landmarks and PB vectors.

    Args:
        units: int. Size of every hidden and memory vector (Huynh & Kim 2017: 512).
        depth: int. Blocks along depth. Defaults to 2 (Fig. 4 of Huynh & Kim (2017) shows a 2 × 2
            grid of four blocks; an assumption).
        kernel_initializer: initializer of the input and block kernels. Defaults to
            `"glorot_uniform"` (uniform, Huynh & Kim 2017, Section 2.3.6).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, input_dim)`, one time step.
        states: list of `2 · depth` tensors `(batch, units)`: `[h_0, m_0, h_1, m_1, ...]`
            along time.

    Returns:
        `(output, new_states)`: output `(batch, units)`, the top block's depth hidden vector.

    Example:

    >>> layer = keras.layers.RNN(GridLSTMCell(8, depth=2), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    """

    def __init__(self, units, depth=2, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("units", units), ("depth", depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg} must be a positive int. Received: {arg}={value!r}")
        self.units = units
        self.depth = depth
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.state_size = [units] * (2 * depth)
        self.output_size = units

    def build(self, input_shape):
        u = self.units
        self.input_kernel = self.add_weight(shape=(input_shape[-1], u), name="input_kernel",
                                            initializer=self.kernel_initializer)
        self.input_bias = self.add_weight(shape=(u,), name="input_bias", initializer="zeros")
        # Per block and per dimension (0 = time, 1 = depth): kernel (2u, 4u) and bias (4u);
        # the forget-gate bias starts at 1 (Jozefowicz et al. 2015, as keras.layers.LSTM).
        forget_one = keras.initializers.Constant([0.0] * u + [1.0] * u + [0.0] * 2 * u)
        self.block_kernels = [self.add_weight(shape=(2 * u, 4 * u), name=f"kernel_{d}_{n}",
                                              initializer=self.kernel_initializer)
                              for d in range(self.depth) for n in ("time", "depth")]
        self.block_biases = [self.add_weight(shape=(4 * u,), name=f"bias_{d}_{n}",
                                             initializer=forget_one)
                             for d in range(self.depth) for n in ("time", "depth")]

    def _transform(self, hidden, memory, kernel, bias):
        i, f, o, g = ops.split(ops.matmul(hidden, kernel) + bias, 4, axis=-1)
        memory = ops.sigmoid(f) * memory + ops.sigmoid(i) * ops.tanh(g)
        return ops.sigmoid(o) * ops.tanh(memory), memory

    def call(self, inputs, states, training=None):
        depth_h = ops.matmul(inputs, self.input_kernel) + self.input_bias
        depth_m = ops.zeros_like(depth_h)
        new_states = []
        for d in range(self.depth):
            time_h, time_m = states[2 * d], states[2 * d + 1]
            grid = ops.concatenate([time_h, depth_h], axis=-1)
            time_h, time_m = self._transform(grid, time_m, self.block_kernels[2 * d],
                                             self.block_biases[2 * d])
            depth_h, depth_m = self._transform(grid, depth_m, self.block_kernels[2 * d + 1],
                                               self.block_biases[2 * d + 1])
            new_states += [time_h, time_m]
        return depth_h, new_states

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, depth=self.depth,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config
