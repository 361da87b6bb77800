"""Cue hit rate: does a clip sampler find the frames that carry the label?

Ayral (2021) master's thesis, Ch. 3 (Eq. 3.8, Fig. 3.2): temporal stochastic softmax should
sample clips where the expression is visible more often than uniform sampling (Eq. 3.7).
When frame labels say where the cue is (synthetic expression intensity, PSPI), this is
measured directly, independently of accuracy:

* the cue window of a video is the set of frames whose label is at least `threshold` times
  the video's maximum label (default: half the maximum, i.e. the apex and the upper half of
  the onset / offset ramps);
* the clip starting at `t` (frames `[t, t + F)`) *hits* the cue when it contains at least
  one cue frame;
* the hit rate of an epoch is the fraction of training clips that hit; the uniform
  reference is its exact expected value under Eq. 3.7, `mean_v (hits_v / N_v)`;
* `score_label_correlation` is the Pearson correlation, per video, between the score table
  `w` and the mean frame label of each clip (`clip_label_scores`), averaged over videos.

Videos without any positive label (e.g. Neutral) have no cue and are left out of the rates.

Example:

>>> labels = [np.r_[np.zeros(30), np.ones(4), np.zeros(30)]]
>>> masks = clip_hit_masks(labels, clip_length=16)
>>> int(masks[0].sum()), masks[0].size          # starts 15 … 33 hit
(19, 49)
>>> round(uniform_hit_rate(masks), 4)
0.3878
>>> hit_rate(masks, [20])
1.0
"""

from __future__ import annotations

import numpy as np

from kerasfer.data.sampling.label_guided_sampler import clip_label_scores


def cue_frames(frame_labels, threshold=0.5):
    """Returns the boolean `(L,)` cue mask: label ≥ `threshold` × max label (all False if max ≤ 0).

    Args:
        frame_labels: array `(L,)`. Frame labels; NaN counts as 0.
        threshold: float. Fraction of the video's maximum label, in (0, 1]. Defaults to 0.5.
    """
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in (0, 1]. Received: threshold={threshold}")
    labels = np.nan_to_num(np.asarray(frame_labels, np.float64).reshape(-1), nan=0.0)
    peak = labels.max() if labels.size else 0.0
    if peak <= 0:
        return np.zeros(labels.shape, bool)
    return labels >= threshold * peak


def clip_hit_masks(frame_labels, clip_length, threshold=0.5):
    """Returns, per video, the boolean `(N,)` mask of clip starts whose clip hits the cue.

    `N = max(L − F + 1, 1)` as in `ScoreTable`; a video shorter than F has one clip (padded),
    which hits when the video has any cue frame.

    Args:
        frame_labels: list of arrays `(L_v,)`.
        clip_length: int. F.
        threshold: float. See `cue_frames`. Defaults to 0.5.
    """
    if int(clip_length) < 1:
        raise ValueError(f"clip_length must be at least 1. Received: clip_length={clip_length}")
    masks = []
    for labels in frame_labels:
        cue = cue_frames(labels, threshold).astype(np.float64)
        if cue.size <= clip_length:
            masks.append(np.asarray([cue.any()]))
            continue
        counts = np.convolve(cue, np.ones(int(clip_length)), mode="valid")
        masks.append(counts > 0)
    return masks


def _has_cue(masks):
    return np.asarray([bool(np.any(m)) for m in masks])


def hit_rate(masks, starts):
    """Fraction of the planned clips `starts[v]` that hit the cue (videos with a cue only).

    Args:
        masks: list of boolean arrays from `clip_hit_masks`.
        starts: int array `(num_videos,)`. One planned start per video.

    Returns:
        float in [0, 1], or NaN when no video has a cue.
    """
    starts = np.asarray(starts, np.int64).reshape(-1)
    if starts.size != len(masks):
        raise ValueError(f"need one start per video ({len(masks)}). Received: starts.size={starts.size}")
    hits = [bool(m[min(int(s), m.size - 1)]) for m, s in zip(masks, starts) if np.any(m)]
    return float(np.mean(hits)) if hits else float("nan")


def uniform_hit_rate(masks):
    """Exact expected hit rate of uniform sampling (Eq. 3.7) over the videos with a cue."""
    rates = [float(np.mean(m)) for m in masks if np.any(m)]
    return float(np.mean(rates)) if rates else float("nan")


def expected_hit_rate(masks, distributions):
    """Exact expected hit rate when video v's start is drawn from `distributions[v]`."""
    rates = [float(np.sum(np.asarray(p)[np.asarray(m)])) for m, p in zip(masks, distributions)
             if np.any(m)]
    return float(np.mean(rates)) if rates else float("nan")


def score_label_correlation(score_rows, frame_labels, clip_length):
    """Mean over videos of the Pearson correlation between `w_v` and the clip label scores.

    Videos whose scores or labels are constant (unexplored tables, Neutral videos) are skipped.

    Args:
        score_rows: list of arrays `(N_v,)`, e.g. `[table.scores(v) for v in ...]`.
        frame_labels: list of arrays `(L_v,)`.
        clip_length: int. F.

    Returns:
        float in [-1, 1], or NaN when no video qualifies.
    """
    values = []
    for scores, labels in zip(score_rows, frame_labels):
        scores = np.asarray(scores, np.float64).reshape(-1)
        clip_labels = clip_label_scores(labels, clip_length)
        if scores.size != clip_labels.size or scores.size < 2:
            continue
        if np.ptp(scores) <= 0 or np.ptp(clip_labels) <= 0:
            continue
        values.append(float(np.corrcoef(scores, clip_labels)[0, 1]))
    return float(np.mean(values)) if values else float("nan")
