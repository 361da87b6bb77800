"""Zero-pads the channel axis: the parameter-free "type A" residual shortcut."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class ChannelZeroPadding(keras.layers.Layer):
    """Appends zero channels to `(batch, ..., channels)` inputs.

    The "type A" shortcut of He et al. (2016) used by the 3D ResNets of Hara et al. (2018)
    (Ayral (2021) thesis, Section 2.1.1): when a residual block widens its output, the identity
    path is subsampled and padded with zero channels instead of being projected, so the
    shortcut has no parameters.

    Args:
        extra_channels: int. Number of zero channels appended (≥ 0). Defaults to `0`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, ..., channels)`, e.g. `(batch, frames, height, width, channels)`.

    Returns:
        `(batch, ..., channels + extra_channels)`.

    Example:

    >>> ChannelZeroPadding(64)(np.ones((2, 8, 7, 7, 64))).shape
    (2, 8, 7, 7, 128)
    """

    def __init__(self, extra_channels=0, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(extra_channels, bool) or not isinstance(extra_channels, int)
                or extra_channels < 0):
            raise ValueError("extra_channels must be a non-negative int. "
                             f"Received: extra_channels={extra_channels!r}")
        self.extra_channels = extra_channels

    def call(self, inputs):
        if self.extra_channels == 0:
            return inputs
        rank = len(inputs.shape)
        return ops.pad(inputs, [[0, 0]] * (rank - 1) + [[0, self.extra_channels]])

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return tuple(input_shape[:-1]) + (
            None if channels is None else channels + self.extra_channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"extra_channels": self.extra_channels})
        return config
