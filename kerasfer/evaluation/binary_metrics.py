"""Binary detection metrics: ROC curve, ROC-AUC and accuracy at the ROC equal-error point.

Ayral (2021) master's thesis, Section 3.3.1.1: UNBC-McMaster (No Pain vs Pain, OPI ≥ 3) is
evaluated with "the classification accuracy at Equal Error Rate on the Receiver Operating
Characteristic curve (ROC-EER)" because of the class imbalance (Table 3.2); BioVid BL1 vs
PA3-4 with the area under the ROC curve (Table 3.12).

The ROC curve and its area come from scikit-learn (`sklearn.metrics.roc_curve` with every
threshold kept, `roc_auc_score`). At the equal-error point the false-positive rate equals
the false-negative rate e, so the true-positive and true-negative rates are both 1 − e and
the accuracy is 1 − e whatever the class balance. scikit-learn has no EER: it is found on
its ROC curve by linear interpolation (the operating points between two thresholds are
reachable by randomising between them), the same as solving `1 − x = ROC(x)` on the
piecewise-linear curve.

Example:

>>> equal_error_rate_accuracy([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
0.5
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def _binary_inputs(labels, scores):
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise ValueError("`labels` and `scores` must have one entry per video. "
                         f"Received: lengths={labels.size}, {scores.size}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("`labels` must be 0 (negative) or 1 (positive). "
                         f"Received: labels values={sorted(set(labels.tolist()))}")
    positives = int(labels.sum())
    if positives == 0 or positives == labels.size:
        raise ValueError("A ROC curve needs at least one positive and one negative video; "
                         "evaluate on a split holding both classes. "
                         f"Received: positives={positives}, negatives={labels.size - positives}")
    return labels.astype(np.int64), scores


def roc_curve(labels, scores):
    """ROC curve over every distinct score threshold (`sklearn.metrics.roc_curve`).

    Args:
        labels: array `(videos,)` of 0/1. 1 is the positive class (e.g. Pain).
        scores: float array `(videos,)`. Higher means more positive.

    Returns:
        `(fpr, tpr, thresholds)`, arrays of equal length starting at `(0, 0, inf)` and ending
        at `(1, 1, min score)`; a video is called positive when `score >= threshold`.
    """
    labels, scores = _binary_inputs(labels, scores)
    fpr, tpr, thresholds = metrics.roc_curve(labels, scores, drop_intermediate=False)
    return fpr, tpr, thresholds


def roc_auc(labels, scores):
    """Area under the ROC curve (`sklearn.metrics.roc_auc_score`; ties count one half)."""
    labels, scores = _binary_inputs(labels, scores)
    return float(metrics.roc_auc_score(labels, scores))


def equal_error_rate(labels, scores):
    """Equal error rate of the ROC curve and the nearest vertex threshold.

    Returns:
        `(eer, threshold)`: eer is the false-positive (= false-negative) rate where the
        piecewise-linear ROC crosses `fpr = 1 − tpr`; threshold is the score threshold of the
        ROC vertex closest to that point (finite).
    """
    fpr, tpr, thresholds = roc_curve(labels, scores)
    gap = (1.0 - tpr) - fpr  # decreases from 1 at (0, 0) to -1 at (1, 1)
    crossing = int(np.argmax(gap <= 0))
    before = crossing - 1
    fraction = gap[before] / (gap[before] - gap[crossing])
    eer = fpr[before] + fraction * (fpr[crossing] - fpr[before])
    vertex = crossing if fraction >= 0.5 else before
    vertex = max(vertex, 1)  # thresholds[0] is +inf (nothing called positive)
    return float(eer), float(thresholds[vertex])


def equal_error_rate_accuracy(labels, scores):
    """Accuracy at the ROC equal-error point, 1 − EER (thesis Table 3.2 "EER Acc.")."""
    return 1.0 - equal_error_rate(labels, scores)[0]
