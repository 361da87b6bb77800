"""The thesis' two-stage temporal pooling of per-frame class scores, in NumPy.

Ayral (2021) master's thesis, Section 3.3.1.3: "Temporal pooling is performed at the end of
the network in two stages: within clips and across clips. [...] [score vectors of size
L × C] are first max-pooled with kernel size F and stride 1 [...]. For inference, we then
apply softmax weighted pooling with a fixed temperature to aggregate clip-level scores",
i.e. Eq. 3.3 with the pooling inverse temperature γ_p, per class c:

    s_{n,c} = max_{t ∈ [n, n + F)} x_{t,c}                      (window n = 0 … L − F)
    y_c     = Σ_n softmax_n(γ_p · s_{·,c}) · s_{n,c}               (Eq. 3.3)

γ_p = 0 is the mean of the window maxima, γ_p → ∞ the maximum. These functions are the
float64 NumPy reference of `VideoInferenceModel`'s pooling; `VideoPredictions` uses them to
pool stored window scores at other γ_p without another network pass. They work on one
video at a time, so videos of any length (including L < F) need no padding masks.

Example:

>>> frame_scores = np.random.randn(40, 7).astype("float32")   # (frames, classes)
>>> logits = pool_video_scores(frame_scores, window_size=16, pooling_temperature=1.0)
>>> logits.shape
(7,)
"""

from __future__ import annotations

import numpy as np


def _check_scores(scores, name):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] < 1:
        raise ValueError(f"`{name}` must have shape (steps >= 1, classes). "
                         f"Received: {name}.shape={scores.shape}")
    return scores


def window_max(frame_scores, window_size):
    """Temporal max within every window of `window_size` frames, stride 1.

    Args:
        frame_scores: array `(frames, classes)`. Per-frame class scores (logits).
        window_size: int. Window length F (the training clip length). A video shorter than
            F gives one window covering all its frames.

    Returns:
        float64 array `(max(frames - F + 1, 1), classes)`.
    """
    frame_scores = _check_scores(frame_scores, "frame_scores")
    if int(window_size) < 1:
        raise ValueError(f"`window_size` must be >= 1. Received: window_size={window_size}")
    window_size = min(int(window_size), frame_scores.shape[0])
    windows = np.lib.stride_tricks.sliding_window_view(frame_scores, window_size, axis=0)
    return windows.max(axis=-1)


def softmax_weights(window_scores, pooling_temperature):
    """Per-class softmax weights across windows, softmax_n(γ_p · s_{n,c}) (Eq. 3.3).

    Args:
        window_scores: array `(windows, classes)`.
        pooling_temperature: float. Inverse temperature γ_p ≥ 0; `inf` puts all the weight
            on the best window(s) (ties share it equally).

    Returns:
        float64 array `(windows, classes)` whose columns sum to 1.
    """
    window_scores = _check_scores(window_scores, "window_scores")
    gamma = float(pooling_temperature)
    if not gamma >= 0:
        raise ValueError("`pooling_temperature` must be >= 0 (0 = mean, inf = max). "
                         f"Received: pooling_temperature={pooling_temperature}")
    if np.isinf(gamma):
        is_max = window_scores == window_scores.max(axis=0, keepdims=True)
        return is_max / is_max.sum(axis=0, keepdims=True)
    # Subtracting the per-class max keeps exp() finite for any γ_p and any logit range.
    exponents = gamma * (window_scores - window_scores.max(axis=0, keepdims=True))
    weights = np.exp(exponents)
    return weights / weights.sum(axis=0, keepdims=True)


def softmax_pool(window_scores, pooling_temperature):
    """Softmax pooling across windows (thesis Eq. 3.3), independently for every class.

    Args:
        window_scores: array `(windows, classes)`. Clip-level scores (logits).
        pooling_temperature: float. γ_p; 0 gives the mean, `inf` the max.

    Returns:
        float64 array `(classes,)` of pooled video-level logits.
    """
    window_scores = _check_scores(window_scores, "window_scores")
    weights = softmax_weights(window_scores, pooling_temperature)
    return (weights * window_scores).sum(axis=0)


def pool_video_scores(frame_scores, window_size, pooling_temperature):
    """Window max (kernel F, stride 1) then softmax pooling across windows (Eq. 3.3).

    Args:
        frame_scores: array `(frames, classes)`. Per-frame logits of one video.
        window_size: int. F, the training clip length.
        pooling_temperature: float. γ_p.

    Returns:
        float64 array `(classes,)`.
    """
    return softmax_pool(window_max(frame_scores, window_size), pooling_temperature)


def softmax(logits, axis=-1):
    """Numerically stable softmax over `axis` (class probabilities from logits)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
