"""Depthwise 3D convolution built from per-tap 2D depthwise convolutions."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class DepthwiseConv3D(keras.layers.Layer):
    """Depthwise convolution over `(frames, height, width)`, temporally "valid", stride 1 in time.

    The 3D analogue of `DepthwiseConv2D` that `kerasfer.models.inflate` uses for inflated
    depthwise and separable convolutions (Carreira & Zisserman 2017; Ayral (2021)
    Section 1.2.5): channel c gets its own T×kh×kw filters (times `depth_multiplier`),
    `y[t] = Σ_τ depthwise2d(x[t + τ], W[τ])`. It is computed as T native 2D depthwise
    convolutions over all frames at once, which runs on every backend and on TF CPU without
    XLA (a grouped `Conv3D` needs XLA on TF CPU). Pad the time axis beforehand (e.g. with
    `TemporalPadding`) to keep the number of frames.

    Args:
        kernel_size: tuple of 3 ints. `(T, kh, kw)`.
        strides: int or tuple of 2 ints. Spatial strides. Defaults to `1`.
        padding: str. Spatial padding, "valid" or "same". Defaults to "valid".
        depth_multiplier: int. Output channels per input channel. Defaults to `1`.
        dilation_rate: int or tuple of 2 ints. Spatial dilation. Defaults to `1`.
        activation: str or callable. Defaults to None.
        use_bias: bool. Defaults to True.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, height, width, channels)`.

    Returns:
        `(batch, frames - T + 1, height', width', channels · depth_multiplier)`.

    Example:

    >>> DepthwiseConv3D((3, 3, 3))(np.zeros((2, 8, 16, 16, 4))).shape
    (2, 6, 14, 14, 4)
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(kernel_size, (tuple, list)) or len(kernel_size) != 3
                or any(isinstance(k, bool) or not isinstance(k, int) or k < 1
                       for k in kernel_size)):
            raise ValueError("kernel_size must be 3 positive ints (T, kh, kw). "
                             f"Received: kernel_size={kernel_size!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same'. Received: padding={padding!r}")
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) \
                or depth_multiplier < 1:
            raise ValueError("depth_multiplier must be a positive int. "
                             f"Received: depth_multiplier={depth_multiplier!r}")
        self.kernel_size = tuple(kernel_size)
        self.strides = _pair(strides, "strides")
        self.padding = padding
        self.depth_multiplier = depth_multiplier
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError("DepthwiseConv3D expects (batch, frames, height, width, channels) "
                             f"with known channels. Received: input_shape={tuple(input_shape)}")
        channels = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer="glorot_uniform")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(channels * self.depth_multiplier,),
                                        initializer="zeros")
        self.built = True

    def call(self, inputs):
        time_kernel = self.kernel_size[0]
        shape = ops.shape(inputs)
        frames = shape[1] - time_kernel + 1
        outputs = None
        for tap in range(time_kernel):
            # Frames t + tap for every output frame t, folded into the batch axis.
            window = ops.slice(inputs, (0, tap, 0, 0, 0),
                               (shape[0], frames, shape[2], shape[3], shape[4]))
            window = ops.reshape(window, (-1, shape[2], shape[3], shape[4]))
            tap_output = ops.depthwise_conv(window, self.kernel[tap], strides=self.strides,
                                            padding=self.padding,
                                            dilation_rate=self.dilation_rate)
            outputs = tap_output if outputs is None else outputs + tap_output
        out_shape = ops.shape(outputs)
        outputs = ops.reshape(outputs, (shape[0], frames, out_shape[1], out_shape[2],
                                        out_shape[3]))
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        if frames is not None:
            frames = frames - self.kernel_size[0] + 1
        spatial = []
        for size, k, s, d in zip(input_shape[2:4], self.kernel_size[1:], self.strides,
                                 self.dilation_rate):
            if size is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(-(-size // s))
            else:
                spatial.append((size - (k - 1) * d - 1) // s + 1)
        return (input_shape[0], frames, *spatial, input_shape[4] * self.depth_multiplier)

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
            "depth_multiplier": self.depth_multiplier, "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias})
        return config


def _pair(value, name):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return tuple(value)
    raise ValueError(f"{name} must be a positive int or a pair of them. Received: {name}={value!r}")
