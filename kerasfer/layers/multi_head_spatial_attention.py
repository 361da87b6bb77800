"""Multi-head structured self-attention over the spatial positions of a feature map."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class MultiHeadSpatialAttention(keras.layers.Layer):
    """Multi-head spatial self-attention pooling a frame's local descriptors (EmotiW paper).

    EmotiW spatial attention paper, Section 3.2 (structured self-attention of Lin et al.
    2017): the L = H·W local descriptors of a frame, rows of R `(L, D)` (Eq. 1), are
    weighted by the N heads of Eq. 4, `A = softmax(W_s2 tanh(W_s1 Rᵀ))` with `W_s1`
    `(U, D)`, `W_s2` `(N, U)` (the paper's "R × L" is a typo for N × U) and the softmax over
    the L positions, so each row of A sums to 1. The attended matrix `M = A R` `(N, D)` (Eq.
    2 per head) is flattened row by row into one `N·D` vector per frame, as in the paper.
    Like Lin et al. the two projections have no bias. During training the layer adds the
    diversity penalty of Section 3.2 (Lin et al. Eq. 8),
    `penalty_coefficient · ‖A Aᵀ − I‖_F²` averaged over frames, with `add_loss`; it is 0
    when the heads attend to disjoint positions one-hot. The softmax and the penalty are
    computed in float32.

    Inputs can be one frame's positions `(batch, positions, channels)`, a feature map
    `(batch, height, width, channels)`, or a video `(batch, frames, height, width,
    channels)`, whose frames are folded into the batch so every frame is attended
    independently with the same weights (the penalty is then the mean over batch × frames).

    Args:
        heads: int. N, the number of attention heads (the paper's best: 2, Table 1).
            Defaults to `2`.
        attention_units: int. U, the hidden width of `W_s1`; not given in the paper, 350 is
            Lin et al.'s d_a. Defaults to `350`.
        penalty_coefficient: float. Weight of `‖A Aᵀ − I‖_F²` in the loss (Table 1 "Reg.";
            the paper's best is 1); `0` disables the penalty. Defaults to `1.0`.
        return_attention: bool. Also return the attention maps A. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, positions, channels)`, `(batch, height, width, channels)` or
            `(batch, frames, height, width, channels)`.
        training: bool. The penalty is added only when True.

    Returns:
        Features `(batch, heads * channels)` (`(batch, frames, heads * channels)` for
        video), head-major: `[M_1, ..., M_N]`. With `return_attention=True`, a tuple
        `(features, attention)` with attention `(batch, heads, positions)`,
        `(batch, heads, height, width)` or `(batch, frames, heads, height, width)`.

    Example:

    >>> layer = MultiHeadSpatialAttention(heads=2, attention_units=8)
    >>> layer(np.zeros((4, 7, 7, 16))).shape
    (4, 32)
    """

    def __init__(self, heads=2, attention_units=350, penalty_coefficient=1.0,
                 return_attention=False, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("heads", heads), ("attention_units", attention_units)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
        if (isinstance(penalty_coefficient, bool)
                or not isinstance(penalty_coefficient, (int, float))
                or not math.isfinite(penalty_coefficient) or penalty_coefficient < 0):
            raise ValueError("penalty_coefficient must be a finite number ≥ 0. "
                             f"Received: penalty_coefficient={penalty_coefficient!r}")
        if not isinstance(return_attention, bool):
            raise ValueError("return_attention must be a bool. "
                             f"Received: return_attention={return_attention!r}")
        self.heads = heads
        self.attention_units = attention_units
        self.penalty_coefficient = float(penalty_coefficient)
        self.return_attention = return_attention

    def build(self, input_shape):
        if len(input_shape) not in (3, 4, 5):
            raise ValueError(f"{self.name} expects (batch, positions, channels), (batch, height, "
                             "width, channels) or (batch, frames, height, width, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name} needs a known number of channels. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.w_s1 = self.add_weight(name="w_s1", shape=(channels, self.attention_units),
                                    initializer="glorot_uniform")
        self.w_s2 = self.add_weight(name="w_s2", shape=(self.attention_units, self.heads),
                                    initializer="glorot_uniform")
        self.built = True

    def attention_maps(self, inputs):
        """Returns the attention A of Eq. 4 (no penalty), shaped for plotting.

        Args:
            inputs: a tensor of one of the input shapes of `call`.

        Returns:
            `(batch, heads, positions)`, `(batch, heads, height, width)` or
            `(batch, frames, heads, height, width)`, each map summing to 1.
        """
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if not self.built:
            self(inputs)
        _, attention = self._attend(inputs)
        return self._unfold_maps(attention, inputs)

    def _attend(self, inputs):
        # inputs (..., [height, width,] channels) -> rows R (samples, positions, channels).
        channels = inputs.shape[-1]
        spatial_rank = 1 if len(inputs.shape) == 3 else 2
        leading = ops.shape(inputs)[:len(inputs.shape) - spatial_rank - 1]
        samples = leading[0]
        for size in leading[1:]:
            samples = samples * size
        rows = ops.reshape(inputs, (samples, -1, channels))
        hidden = ops.tanh(ops.matmul(rows, ops.cast(self.w_s1, rows.dtype)))
        logits = ops.matmul(hidden, ops.cast(self.w_s2, rows.dtype))  # (samples, L, heads)
        attention = ops.softmax(ops.cast(logits, "float32"), axis=1)
        attention = ops.transpose(attention, (0, 2, 1))  # (samples, heads, L): Eq. 4
        attended = ops.matmul(ops.cast(attention, rows.dtype), rows)  # M = A R
        features = ops.reshape(attended, tuple(leading) + (self.heads * channels,))
        return features, attention

    def _unfold_maps(self, attention, inputs):
        shape = ops.shape(inputs)
        if len(inputs.shape) == 3:
            return ops.reshape(attention, (shape[0], self.heads, shape[1]))
        return ops.reshape(attention, tuple(shape[:-3]) + (self.heads,) + tuple(shape[-3:-1]))

    def call(self, inputs, training=None):
        features, attention = self._attend(inputs)
        if training and self.penalty_coefficient > 0:
            gram = ops.matmul(attention, ops.transpose(attention, (0, 2, 1)))
            identity = ops.eye(self.heads, dtype="float32")
            penalty = ops.mean(ops.sum(ops.square(gram - identity), axis=(1, 2)))
            self.add_loss(self.penalty_coefficient * penalty)
        if self.return_attention:
            return features, ops.cast(self._unfold_maps(attention, inputs), self.compute_dtype)
        return features

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial_rank = 1 if len(input_shape) == 3 else 2
        leading = input_shape[:len(input_shape) - spatial_rank - 1]
        features = leading + (self.heads * input_shape[-1],)
        if not self.return_attention:
            return features
        if spatial_rank == 1:
            return features, (input_shape[0], self.heads, input_shape[1])
        return features, leading + (self.heads,) + input_shape[-3:-1]

    def get_config(self):
        config = super().get_config()
        config.update({"heads": self.heads, "attention_units": self.attention_units,
                       "penalty_coefficient": self.penalty_coefficient,
                       "return_attention": self.return_attention})
        return config
