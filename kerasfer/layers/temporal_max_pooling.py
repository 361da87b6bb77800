"""Temporal maximum of class scores, optionally masked."""

import keras

from kerasfer.layers import temporal_pooling_ops
from kerasfer.layers.temporal_pooling import TemporalPooling


@keras.saving.register_keras_serializable(package="kerasfer")
class TemporalMaxPooling(TemporalPooling):
    """Temporal maximum of class scores over valid (unmasked) frames.

    Ayral (2021) thesis: the γ → ∞ limit of Eq. 3.3 ("3D max scores" of Fig. 2.2, Table 2.1).

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

    >>> TemporalMaxPooling()(np.zeros((2, 8, 7))).shape
    (2, 7)
    """

    def pool(self, inputs, mask):
        return temporal_pooling_ops.masked_max(inputs, self.axis, mask)
