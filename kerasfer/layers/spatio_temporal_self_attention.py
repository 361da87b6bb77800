"""Multi-head dot-product self-attention over the positions of a 3D CNN feature map."""

import keras
from keras import ops

DIMENSIONS = ("spatiotemporal", "spatial", "temporal")
MODES = ("all_pairs", "single_query")


@keras.saving.register_keras_serializable(package="kerasfer")
class SpatioTemporalSelfAttention(keras.layers.Layer):
    """Spatio-temporal self-attention (non-local block) of thesis Section 4.4.

    Ayral (2021) thesis, Section 4.4.2, Eq. 4.6–4.7 and Fig. 4.4: for every head,
    `C = softmax(Q Kᵀ / √d_k) V` with `Q = X W_q`, `K = X W_k`, `V = X W_v`; the heads are
    concatenated and projected back to the input channels, `y = x + [C_1, ..., C_h] W_o`
    (the residual connection of Section 4.4.2, as in the non-local block of Wang et al.
    2018b). `W_o` is zero-initialised by default so the layer starts as the identity inside
    a pretrained network. No positional encoding (found not beneficial, Sections 4.4.2 and
    4.5.3). Entities (Fig. 4.6, Table 4.4): "spatiotemporal", all T·H·W positions of the
    clip; "spatial", the H·W positions of each frame, attended frame by frame;
    "temporal", the T frames, with queries and keys from the spatially averaged frame
    features (the thesis' best, Section 4.5.3) and each frame's whole map as its value, so
    the output keeps the input shape.

    `mode="all_pairs"` (Fig. 4.5 left) uses every entity as a query. `mode="single_query"`
    (Fig. 4.5 right, Section 4.5.3) uses one query `W_q mean(X)` summarising the video (per
    frame for "spatial") and pools it, `y = mean(X) + [c_1, ..., c_h] W_o`: with `W_o = 0`
    it is average pooling. Table 4.3: `num_heads=4`, `key_dim=64` is the thesis'
    compromise (4 × 1024 its best).

    Args:
        num_heads: int. h, the number of attention heads. Defaults to `4`.
        key_dim: int. d_k = d_att, the depth of each head's queries and keys. Defaults to
            `64`.
        value_dim: int or None. Depth of each head's values; `None` uses `key_dim`.
            Defaults to `None`.
        dimensions: str. "spatiotemporal", "spatial" or "temporal". Defaults to
            `"spatiotemporal"`.
        mode: str. "all_pairs" or "single_query". Defaults to `"all_pairs"`.
        output_initializer: str or initializer. Initializer of `W_o`. Defaults to
            `"zeros"`.
        return_attention: bool. Also return the attention weights. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, height, width, channels)`; a frame sequence
            `(batch, frames, channels)` can be passed as `(batch, frames, 1, 1, channels)`.

    Returns:
        "all_pairs": the input shape. "single_query": `(batch, channels)`, or
        `(batch, frames, channels)` for "spatial". With `return_attention=True`, a tuple
        `(outputs, attention)`, attention `(batch, heads, queries, keys)` (queries and keys
        T·H·W or T), `(batch, frames, heads, H·W, H·W)` for "spatial", without the queries
        axis for "single_query"; it sums to 1 over the keys.

    Example:

    >>> layer = SpatioTemporalSelfAttention(num_heads=2, key_dim=8)
    >>> layer(np.ones((2, 4, 3, 3, 16))).shape
    (2, 4, 3, 3, 16)
    """

    def __init__(self, num_heads=4, key_dim=64, value_dim=None, dimensions="spatiotemporal",
                 mode="all_pairs", output_initializer="zeros", return_attention=False,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim),
                            ("value_dim", key_dim if value_dim is None else value_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
        for name, value, options in (("dimensions", dimensions, DIMENSIONS),
                                     ("mode", mode, MODES)):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}. Received: {name}={value!r}")
        if not isinstance(return_attention, bool):
            raise ValueError("return_attention must be a bool. "
                             f"Received: return_attention={return_attention!r}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.dimensions = dimensions
        self.mode = mode
        self.output_initializer = keras.initializers.get(output_initializer)
        self.return_attention = return_attention

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(f"{self.name} expects (batch, frames, height, width, channels) "
                             f"with known channels. Received: input_shape={tuple(input_shape)}")
        channels = input_shape[-1]
        value_dim = self.value_dim or self.key_dim
        for name, width in (("query", self.key_dim), ("key", self.key_dim),
                            ("value", value_dim)):
            setattr(self, f"{name}_kernel", self.add_weight(
                name=f"{name}_kernel", shape=(channels, self.num_heads * width),
                initializer="glorot_uniform"))
            setattr(self, f"{name}_bias", self.add_weight(
                name=f"{name}_bias", shape=(self.num_heads * width,), initializer="zeros"))
        self.output_kernel = self.add_weight(name="output_kernel",
                                             shape=(self.num_heads * value_dim, channels),
                                             initializer=self.output_initializer)
        self.output_bias = self.add_weight(name="output_bias", shape=(channels,),
                                           initializer="zeros")
        self.built = True

    def _project(self, x, name):
        # (..., C) -> (..., heads, width)
        kernel = ops.cast(getattr(self, f"{name}_kernel"), x.dtype)
        y = ops.matmul(x, kernel) + ops.cast(getattr(self, f"{name}_bias"), x.dtype)
        return ops.reshape(y, tuple(ops.shape(x)[:-1]) + (self.num_heads, -1))

    def call(self, inputs):
        batch, frames, height, width, channels = ops.shape(inputs)
        if self.dimensions == "spatial":
            values = ops.reshape(inputs, (batch * frames, height * width, 1, channels))
        elif self.dimensions == "spatiotemporal":
            values = ops.reshape(inputs, (batch, frames * height * width, 1, channels))
        else:
            values = ops.reshape(inputs, (batch, frames, height * width, channels))
        entities = ops.mean(values, axis=2)  # (N, L, C): keys' source
        pooled = ops.mean(entities, axis=1, keepdims=True)  # (N, 1, C)
        if self.mode == "single_query":
            queries_source, values = pooled, ops.expand_dims(entities, 2)
        else:
            queries_source = entities
        queries = ops.transpose(self._project(queries_source, "query"), (0, 2, 1, 3))
        keys = ops.transpose(self._project(entities, "key"), (0, 2, 1, 3))  # (N, h, L, d)
        projected = ops.transpose(self._project(values, "value"), (0, 3, 1, 2, 4))
        n, _, length, positions, value_dim = ops.shape(projected)  # (N, h, L, P, dv)
        projected = ops.reshape(projected, (n, self.num_heads, length, positions * value_dim))
        scores = ops.matmul(queries, ops.transpose(keys, (0, 1, 3, 2))) / (self.key_dim ** 0.5)
        attention = ops.softmax(ops.cast(scores, "float32"), axis=-1)  # Eq. 4.6
        attended = ops.matmul(ops.cast(attention, projected.dtype), projected)  # Eq. 4.7
        queries_length = ops.shape(attended)[2]
        attended = ops.reshape(attended, (n, self.num_heads, queries_length, positions,
                                          value_dim))
        attended = ops.reshape(ops.transpose(attended, (0, 2, 3, 1, 4)),
                               (n, queries_length, positions, self.num_heads * value_dim))
        update = (ops.matmul(attended, ops.cast(self.output_kernel, attended.dtype))
                  + ops.cast(self.output_bias, attended.dtype))
        if self.mode == "single_query":
            outputs = ops.reshape(pooled + update[:, :, 0], (batch, -1, channels))
            outputs = outputs[:, 0] if self.dimensions != "spatial" else outputs
            attention = attention[:, :, 0]
        else:
            outputs = ops.reshape(values + update, (batch, frames, height, width, channels))
        if not self.return_attention:
            return outputs
        if self.dimensions == "spatial":
            attention = ops.reshape(attention, (batch, frames) + tuple(ops.shape(attention)[1:]))
        return outputs, ops.cast(attention, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        batch, frames, height, width, channels = tuple(input_shape)
        spatial = None if height is None or width is None else height * width
        if self.dimensions == "spatial":
            leading, length = (batch, frames), spatial
        else:
            leading = (batch,)
            length = frames if self.dimensions == "temporal" else (
                None if spatial is None or frames is None else frames * spatial)
        if self.mode == "single_query":
            outputs, queries = leading + (channels,), ()
        else:
            outputs, queries = tuple(input_shape), (length,)
        if not self.return_attention:
            return outputs
        return outputs, leading + (self.num_heads,) + queries + (length,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads, "key_dim": self.key_dim,
                       "value_dim": self.value_dim, "dimensions": self.dimensions,
                       "mode": self.mode,
                       "output_initializer": keras.initializers.serialize(
                           self.output_initializer),
                       "return_attention": self.return_attention})
        return config
