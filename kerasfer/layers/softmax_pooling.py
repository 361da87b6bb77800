"""Softmax pooling of class scores over time with a fixed inverse temperature (Eq. 3.3)."""

import math

import keras

from kerasfer.layers import temporal_pooling_ops
from kerasfer.layers.temporal_pooling import TemporalPooling


@keras.saving.register_keras_serializable(package="kerasfer")
class SoftmaxPooling(TemporalPooling):
    """Softmax pooling of temporal class scores with a fixed inverse temperature γ_p.

    Ayral (2021) thesis, Eq. 3.3: `y_c = sum_t p_t,c · s_t,c` with
    `p_·,c = softmax(γ · s_·,c)` over time, computed independently for each class c.
    `γ = 0` gives temporal average pooling, `γ → ∞` temporal max pooling; negative values
    favour low scores. The weights are computed in float32 with the maximum subtracted, so
    `γ = 1e6` is numerically stable (and equals max pooling to float precision).

    Args:
        pooling_temperature: float. The inverse temperature γ_p of Eq. 3.3; finite.
            Defaults to `1.0`.
        axis: int. The time axis of the scores (never the batch axis nor the last, class
            axis). Defaults to `1`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: scores `(batch, frames, num_classes)`, usually logits.
        mask: optional bool `(batch, frames)`, `False` on padded frames, which then get
            weight 0. A video with no valid frame pools to 0.

    Returns:
        `(batch, num_classes)`.

    Example:

    >>> scores = np.array([[[0.0, 1.0], [2.0, -1.0]]])
    >>> SoftmaxPooling(pooling_temperature=0.0)(scores)  # the mean: [[1.0, 0.0]]
    """

    def __init__(self, pooling_temperature=1.0, axis=1, **kwargs):
        super().__init__(axis=axis, **kwargs)
        if (isinstance(pooling_temperature, bool)
                or not isinstance(pooling_temperature, (int, float))
                or not math.isfinite(pooling_temperature)):
            raise ValueError("pooling_temperature must be a finite number (use "
                             "TemporalMaxPooling for the γ → ∞ limit). "
                             f"Received: pooling_temperature={pooling_temperature!r}")
        self.pooling_temperature = float(pooling_temperature)

    def pool(self, inputs, mask):
        return temporal_pooling_ops.softmax_pool(inputs, self.pooling_temperature, self.axis,
                                                 mask)

    def get_config(self):
        config = super().get_config()
        config.update({"pooling_temperature": self.pooling_temperature})
        return config
