"""Spatial global pooling of 3D feature maps that keeps the time axis."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class GlobalSpatialPooling(keras.layers.Layer):
    """Max or average over height and width of `(batch, frames, height, width, channels)`.

    The spatial half of the thesis' 2-step pooling (Ayral (2021) thesis, Fig. 2.2 and Table 2.1:
    spatial max on features, then per-frame scores, then temporal average), and the
    spatial reduction that turns per-position class scores into per-frame scores.

    Args:
        mode: str. `"max"` or `"average"`. Defaults to `"max"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, height, width, channels)`.

    Returns:
        `(batch, frames, channels)`.

    Example:

    >>> GlobalSpatialPooling("max")(np.zeros((2, 8, 4, 4, 16))).shape
    (2, 8, 16)
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "average"):
            raise ValueError(f"mode must be 'max' or 'average'. Received: mode={mode!r}")
        self.mode = mode

    def build(self, input_shape):
        if len(input_shape) != 5:
            raise ValueError("GlobalSpatialPooling expects (batch, frames, height, width, "
                             f"channels). Received: input_shape={tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        if self.mode == "max":
            return ops.max(inputs, axis=(2, 3))
        return ops.mean(inputs, axis=(2, 3))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[4])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
