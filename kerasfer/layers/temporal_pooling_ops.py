"""Functions shared by the temporal pooling layers (keras.ops only, backend agnostic).

Scores are `(batch, frames, ..., num_classes)`; the pooled axis is `axis` (the time axis)
and classes are always the last axis. An optional boolean `mask` has the shape of the scores
without the class axis, e.g. `(batch, frames)`, and is `True` on real frames, `False` on
padding. The pooling weights are computed in float32 even under mixed precision, because
`pooling_temperature * scores` overflows float16 for the large temperatures (γ = 1e6) that
approximate max pooling.
"""

from keras import ops

# Finite stand-in for -inf: exp(NEGATIVE_FILL - max) underflows to exactly 0 while a fully
# masked row stays NaN-free (softmax of equal values is uniform, then zeroed by the mask).
NEGATIVE_FILL = -3.0e38


def normalize_pooling_axis(axis, rank, layer_name):
    """Returns `axis` as a non-negative int, checking it is neither batch nor class axis."""
    if rank is None or rank < 2:
        raise ValueError(f"{layer_name} expects scores of shape (batch, frames, num_classes). "
                         f"Received: rank={rank}")
    positive_axis = axis + rank if axis < 0 else axis
    if not 1 <= positive_axis <= rank - 2:
        raise ValueError(f"{layer_name} pools a time axis between the batch axis and the "
                         f"class axis (last) of rank-{rank} scores. Received: axis={axis}")
    return positive_axis


def expand_mask(mask, scores):
    """Returns the boolean `mask` with a trailing class axis, broadcastable to `scores`."""
    mask = ops.cast(mask, "bool")
    while len(mask.shape) < len(scores.shape):
        mask = ops.expand_dims(mask, -1)
    return mask


def softmax_pool(scores, pooling_temperature, axis, mask=None):
    """Softmax pooling of Eq. 3.3: `sum_t softmax(γ·s)_t · s_t` along `axis`, in float32.

    `pooling_temperature` is a Python float or a tensor broadcastable over the class axis
    (the learnable β_c of Eq. 2.1). Masked positions get weight 0; a row with no valid
    position pools to 0.
    """
    scores = ops.cast(scores, "float32")
    logits = scores * ops.cast(pooling_temperature, "float32")
    if mask is not None:
        mask = expand_mask(mask, scores)
        logits = ops.where(mask, logits, NEGATIVE_FILL)
        scores = ops.where(mask, scores, 0.0)
    # ops.softmax subtracts the maximum first, so γ = 1e6 stays finite.
    weights = ops.softmax(logits, axis=axis)
    if mask is not None:
        weights = weights * ops.cast(mask, "float32")
    return ops.sum(weights * scores, axis=axis)


def masked_mean(scores, axis, mask=None):
    """Mean along `axis` over valid positions (0 when none is valid), in float32."""
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.mean(scores, axis=axis)
    mask = ops.cast(expand_mask(mask, scores), "float32")
    total = ops.sum(ops.where(mask > 0, scores, 0.0), axis=axis)
    count = ops.sum(ops.broadcast_to(mask, ops.shape(scores)), axis=axis)
    return total / ops.maximum(count, 1.0)


def masked_max(scores, axis, mask=None):
    """Max along `axis` over valid positions (0 when none is valid), in float32."""
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.max(scores, axis=axis)
    mask = expand_mask(mask, scores)
    pooled = ops.max(ops.where(mask, scores, NEGATIVE_FILL), axis=axis)
    any_valid = ops.any(ops.broadcast_to(mask, ops.shape(scores)), axis=axis)
    return ops.where(any_valid, pooled, 0.0)


def pooled_output_shape(input_shape, axis):
    """`input_shape` without the pooled axis."""
    input_shape = tuple(input_shape)
    positive_axis = axis + len(input_shape) if axis < 0 else axis
    return input_shape[:positive_axis] + input_shape[positive_axis + 1:]
