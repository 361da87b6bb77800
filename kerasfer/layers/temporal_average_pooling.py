"""Temporal average of class scores, optionally masked."""

import keras

from kerasfer.layers import temporal_pooling_ops


@keras.saving.register_keras_serializable(package="kerasfer")
class TemporalAveragePooling(keras.layers.Layer):
    """Temporal average of class scores over valid (unmasked) frames.

    Thesis (seed 004): the γ = 0 limit of Eq. 3.3 and the temporal half of 2-step pooling
    (Fig. 2.2, Table 2.1).

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

    Example:

    >>> TemporalAveragePooling()(np.zeros((2, 8, 7))).shape
    (2, 7)
    """

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        temporal_pooling_ops.normalize_pooling_axis(self.axis, len(input_shape), self.name)
        self.built = True

    def call(self, inputs, mask=None):
        pooled = temporal_pooling_ops.masked_mean(inputs, self.axis, mask)
        return keras.ops.cast(pooled, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return temporal_pooling_ops.pooled_output_shape(input_shape, self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
