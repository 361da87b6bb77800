"""`TemporalPooling`: the base of the layers that pool class scores over time."""

import keras

from kerasfer.layers import temporal_pooling_ops


@keras.saving.register_keras_serializable(package="kerasfer")
class TemporalPooling(keras.layers.Layer):
    """Base layer pooling class scores `(batch, frames, num_classes)` over an axis.

    Subclasses implement `pool(inputs, mask)`; this base validates `axis`, drops the mask,
    computes the output shape and serialises `axis`. The pooled result is cast to the
    layer's compute dtype (the pooling itself may run in float32 for stability).

    Args:
        axis: int. The time axis of the scores (never the batch axis nor the last, class
            axis). Defaults to `1`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: scores `(batch, frames, num_classes)`.
        mask: optional bool `(batch, frames)`, `False` on padded frames, which are
            ignored. A video with no valid frame pools to 0.

    Returns:
        `(batch, num_classes)`.
    """

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        temporal_pooling_ops.normalize_pooling_axis(self.axis, len(input_shape), self.name)
        self.built = True

    def pool(self, inputs, mask):
        """Returns the pooled scores; implemented by subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must implement `pool`.")

    def call(self, inputs, mask=None):
        return keras.ops.cast(self.pool(inputs, mask), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return temporal_pooling_ops.pooled_output_shape(input_shape, self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
