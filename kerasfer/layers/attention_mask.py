"""Mask attention gating the positions of a 3D CNN feature map (thesis Sections 4.2, 4.5.1)."""

import keras
from keras import ops

DIMENSIONS = ("spatiotemporal", "spatial", "temporal")
NORMALIZATIONS = ("tanh", "sigmoid", "softmax")
CONTEXTS = (None, "multiplicative", "additive", "concatenation")


@keras.saving.register_keras_serializable(package="kerasfer")
class AttentionMask(keras.layers.Layer):
    """Mask attention: a learned weight per position gates the features, `y = o ⊙ f`.

    Ayral (2021) thesis, Section 4.2, Eq. 4.1 `y = α · f`, with the mask of Section 4.5.1,
    Eq. 4.10: two 1×1×1 convolutions (no activation between them) and a residual tanh,
    `o = 1 + tanh(W_2 (W_1 f + b_1) + b_2)`, so `o ∈ (0, 2)`: 0 masks a position, 1 leaves
    it unchanged, >1 enhances it. With the last projection zero-initialised (the default)
    `o = 1` and the layer starts as the exact identity, which matters when it is inserted
    into a pretrained network. Dimensions (Table 4.1): a "spatiotemporal" 3D mask, one
    weight per (t, h, w); a "spatial" mask, one weight per (h, w) computed from the
    temporally averaged features and shared by all frames; a "temporal" mask, one weight
    per frame from the spatially averaged features. Normalisations (Section 4.2): "tanh"
    (Eq. 4.10, the thesis' choice), "sigmoid" (`o = σ(z)`, Rahman et al. 2019), or
    "softmax" over every axis the mask varies along (time, space, or space-time jointly,
    Section 4.2.3); the softmax α sums to 1 and the features are multiplied by `N · α`,
    N the number of mask entries, so a uniform mask is the identity (Eq. 4.1 up to N).
    Context masks (Section 4.5.1, Table 4.1 "Context ... 3D mask"): a video context vector
    `c = mean_n ReLU(W_c f_n + b_c)` conditions every position's weight through
    "multiplicative" `W_2 ((W_1 f + b_1) ⊙ c)` (the dot-product of Section 4.4.2, the
    thesis' best mask), "additive" `W_2 tanh(W_1 f + b_1 + c)` (Eq. 4.5) or
    "concatenation" `W_2 [W_1 f + b_1; c]`.

    Args:
        hidden_units: int or None. Width of `W_1` (not given in the thesis); `None` uses a
            single 1×1×1 convolution `z = W f + b` (no context then). Defaults to `128`.
        dimensions: str. "spatiotemporal", "spatial" or "temporal". Defaults to
            `"spatiotemporal"`.
        normalization: str. "tanh", "sigmoid" or "softmax". Defaults to `"tanh"`.
        context: str or None. None, "multiplicative", "additive" or "concatenation".
            Defaults to `None`.
        output_initializer: str or initializer. Initializer of the last projection's
            kernel; "zeros" makes the tanh and softmax layers start as the identity.
            Defaults to `"zeros"`.
        return_mask: bool. Also return the mask. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, height, width, channels)`.

    Returns:
        Features of the input shape. With `return_mask=True`, a tuple `(features, mask)`,
        the mask `(batch, frames, height, width, 1)`, `(batch, 1, height, width, 1)` or
        `(batch, frames, 1, 1, 1)`: `o` for tanh and sigmoid, α (summing to 1) for softmax.

    Example:

    >>> layer = AttentionMask(hidden_units=8, context="multiplicative")
    >>> layer(np.ones((2, 4, 7, 7, 16))).shape
    (2, 4, 7, 7, 16)
    """

    def __init__(self, hidden_units=128, dimensions="spatiotemporal", normalization="tanh",
                 context=None, output_initializer="zeros", return_mask=False, **kwargs):
        super().__init__(**kwargs)
        if hidden_units is not None and (isinstance(hidden_units, bool)
                                         or not isinstance(hidden_units, int)
                                         or hidden_units < 1):
            raise ValueError("hidden_units must be a positive int or None. "
                             f"Received: hidden_units={hidden_units!r}")
        for name, value, options in (("dimensions", dimensions, DIMENSIONS),
                                     ("normalization", normalization, NORMALIZATIONS),
                                     ("context", context, CONTEXTS)):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}. Received: {name}={value!r}")
        if context is not None and hidden_units is None:
            raise ValueError("A context mask needs hidden_units (the width of W_1 and of the "
                             f"context vector). Received: hidden_units={hidden_units!r}")
        if not isinstance(return_mask, bool):
            raise ValueError(f"return_mask must be a bool. Received: return_mask={return_mask!r}")
        self.hidden_units = hidden_units
        self.dimensions = dimensions
        self.normalization = normalization
        self.context = context
        self.output_initializer = keras.initializers.get(output_initializer)
        self.return_mask = return_mask

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(f"{self.name} expects (batch, frames, height, width, channels) "
                             f"with known channels. Received: input_shape={tuple(input_shape)}")
        channels, units = input_shape[-1], self.hidden_units
        if units is not None:
            self.hidden_kernel = self.add_weight(name="hidden_kernel", shape=(channels, units),
                                                 initializer="glorot_uniform")
            self.hidden_bias = self.add_weight(name="hidden_bias", shape=(units,),
                                               initializer="zeros")
        if self.context is not None:
            self.context_kernel = self.add_weight(name="context_kernel", shape=(channels, units),
                                                  initializer="glorot_uniform")
            self.context_bias = self.add_weight(name="context_bias", shape=(units,),
                                                initializer="zeros")
        last = channels if units is None else units * (2 if self.context == "concatenation"
                                                       else 1)
        self.output_kernel = self.add_weight(name="output_kernel", shape=(last, 1),
                                             initializer=self.output_initializer)
        self.output_bias = self.add_weight(name="output_bias", shape=(1,), initializer="zeros")
        self.built = True

    def _logits(self, source):
        dtype = source.dtype
        if self.hidden_units is None:
            hidden = source
        else:
            hidden = (ops.matmul(source, ops.cast(self.hidden_kernel, dtype))
                      + ops.cast(self.hidden_bias, dtype))
        if self.context is not None:
            context = ops.relu(ops.matmul(source, ops.cast(self.context_kernel, dtype))
                               + ops.cast(self.context_bias, dtype))
            context = ops.mean(context, axis=(1, 2, 3), keepdims=True)
            if self.context == "multiplicative":
                hidden = hidden * context
            elif self.context == "additive":
                hidden = ops.tanh(hidden + context)
            else:
                hidden = ops.concatenate([hidden, context + ops.zeros_like(hidden)], axis=-1)
        return (ops.matmul(hidden, ops.cast(self.output_kernel, dtype))
                + ops.cast(self.output_bias, dtype))

    def call(self, inputs):
        if self.dimensions == "temporal":
            source = ops.mean(inputs, axis=(2, 3), keepdims=True)
        elif self.dimensions == "spatial":
            source = ops.mean(inputs, axis=1, keepdims=True)
        else:
            source = inputs
        logits = ops.cast(self._logits(source), "float32")
        if self.normalization == "tanh":
            mask = 1.0 + ops.tanh(logits)
            gate = mask
        elif self.normalization == "sigmoid":
            mask = ops.sigmoid(logits)
            gate = mask
        else:
            flat = ops.reshape(logits, (ops.shape(logits)[0], -1))
            mask = ops.reshape(ops.softmax(flat, axis=-1), ops.shape(logits))
            gate = mask * ops.cast(ops.shape(flat)[1], "float32")
        outputs = inputs * ops.cast(gate, inputs.dtype)
        if self.return_mask:
            return outputs, ops.cast(mask, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.return_mask:
            return input_shape
        batch, frames, height, width, _ = input_shape
        if self.dimensions == "temporal":
            return input_shape, (batch, frames, 1, 1, 1)
        if self.dimensions == "spatial":
            return input_shape, (batch, 1, height, width, 1)
        return input_shape, (batch, frames, height, width, 1)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_units": self.hidden_units, "dimensions": self.dimensions,
                       "normalization": self.normalization, "context": self.context,
                       "output_initializer": keras.initializers.serialize(
                           self.output_initializer),
                       "return_mask": self.return_mask})
        return config
