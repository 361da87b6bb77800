"""Joint softmax over frames × classes, marginalised over frames (EmotiW attention paper, Eq. 5)."""

import math

import keras
from keras import ops

from kerasfer.layers import temporal_pooling_ops
from kerasfer.layers.temporal_pooling import TemporalPooling


@keras.saving.register_keras_serializable(package="kerasfer")
class JointSoftmaxPooling(TemporalPooling):
    """Temporal softmax pooling of the EmotiW attention paper: one softmax over frames × classes.

    EmotiW spatial attention paper, Eq. 5: `p(c, f | S) = exp(o_c,f) / Σ_j,k exp(o_j,k)`
    over all frames and classes of the frame scores o; the clip probability is the marginal
    `p(c | S) = Σ_f p(c, f | S)`, trained with the cross-entropy of Eq. 6. The layer returns
    logits `z_c = (1/γ) · log((1/F) Σ_f exp(γ · o_c,f))` (a log-mean-exp over the F valid
    frames, γ = `pooling_temperature`). At γ = 1, `softmax(z) = p(c | S)` exactly (the
    per-class `log Σ_f` differs from `log p(c | S)` by a constant shared by all classes), so
    `CategoricalCrossentropy(from_logits=True)` on z is Eq. 6. The `− log F` keeps z in the
    units of the scores: a clip of identical frames pools to that frame's scores. γ → 0 is
    temporal average pooling of the scores (the paper's "VGG+AVG", Eq. 7), γ → +∞ max and γ
    → −∞ min pooling; γ = 0 is computed as the exact mean.

    This is not `SoftmaxPooling` (thesis Eq. 3.3, `Σ_f w_c,f o_c,f` with
    `w_c,· = softmax(γ o_c,·)`): the two differ per class by the entropy term,
    `z_c = SoftmaxPooling_γ(o)_c − KL(w_c,· ‖ uniform) / γ`. Computed in float32 with the
    maximum subtracted, so large |γ| stays finite.

    Args:
        pooling_temperature: float. γ, the inverse temperature of the joint softmax; 1
            reproduces the paper. Defaults to `1.0`.
        axis: int. The time axis of the scores (never the batch axis nor the last, class
            axis). Defaults to `1`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: frame scores `(batch, frames, num_classes)`, the o of Eq. 5.
        mask: optional bool `(batch, frames)`, `False` on padded frames, which are left out
            of the softmax. A video with no valid frame pools to 0.

    Returns:
        `(batch, num_classes)` logits.

    Example:

    >>> scores = np.array([[[0.0, 1.0], [2.0, -1.0]]])
    >>> keras.ops.softmax(JointSoftmaxPooling()(scores))  # p(c | S): [[0.731, 0.269]]
    """

    def __init__(self, pooling_temperature=1.0, axis=1, **kwargs):
        super().__init__(axis=axis, **kwargs)
        if (isinstance(pooling_temperature, bool)
                or not isinstance(pooling_temperature, (int, float))
                or not math.isfinite(pooling_temperature)):
            raise ValueError("pooling_temperature must be a finite number. "
                             f"Received: pooling_temperature={pooling_temperature!r}")
        self.pooling_temperature = float(pooling_temperature)

    def pool(self, inputs, mask):
        gamma = self.pooling_temperature
        if gamma == 0.0:
            return temporal_pooling_ops.masked_mean(inputs, self.axis, mask)
        logits = ops.cast(inputs, "float32") * gamma
        if mask is None:
            shift = ops.max(logits, axis=self.axis, keepdims=True)
            mean_exp = ops.mean(ops.exp(logits - shift), axis=self.axis)
            return (ops.squeeze(shift, self.axis) + ops.log(mean_exp)) / gamma
        mask = ops.broadcast_to(temporal_pooling_ops.expand_mask(mask, logits),
                                ops.shape(logits))
        valid = ops.any(mask, axis=self.axis)
        shift = ops.max(ops.where(mask, logits, temporal_pooling_ops.NEGATIVE_FILL),
                        axis=self.axis, keepdims=True)
        shift = ops.where(ops.expand_dims(valid, self.axis), shift, 0.0)
        exp = ops.where(mask, ops.exp(ops.where(mask, logits - shift, 0.0)), 0.0)
        count = ops.sum(ops.cast(mask, "float32"), axis=self.axis)
        mean_exp = ops.where(valid, ops.sum(exp, axis=self.axis) / ops.maximum(count, 1.0), 1.0)
        pooled = (ops.squeeze(shift, self.axis) + ops.log(mean_exp)) / gamma
        return ops.where(valid, pooled, 0.0)

    def frame_probabilities(self, inputs, mask=None):
        """Returns the frame importance `p(f | S) = Σ_c p(c, f | S)` of Section 3.3 (Fig. 2d).

        Args:
            inputs: frame scores `(batch, frames, num_classes)`.
            mask: optional bool `(batch, frames)`; padded frames get probability 0.

        Returns:
            `(batch, frames)` in float32, summing to 1 over the valid frames (0 for a
            video with no valid frame).
        """
        logits = ops.cast(ops.convert_to_tensor(inputs), "float32") * self.pooling_temperature
        axes = (self.axis, len(logits.shape) - 1)
        if mask is not None:
            mask = ops.broadcast_to(temporal_pooling_ops.expand_mask(mask, logits),
                                    ops.shape(logits))
            logits = ops.where(mask, logits, temporal_pooling_ops.NEGATIVE_FILL)
        exp = ops.exp(logits - ops.max(logits, axis=axes, keepdims=True))
        if mask is not None:
            exp = ops.where(mask, exp, 0.0)
        joint = exp / ops.maximum(ops.sum(exp, axis=axes, keepdims=True), 1e-30)  # Eq. 5
        return ops.sum(joint, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"pooling_temperature": self.pooling_temperature})
        return config
