"""Multi-class video-level metrics: accuracy, confusion matrix, per-class recall, UAR.

AFEW and HMDB-51 (Ayral (2021) master's thesis, Section 3.3.1.1) report video-level top-1
accuracy; unweighted average recall (UAR, the mean of per-class recalls) is the
class-balanced counterpart used when classes are imbalanced, as in AFEW's test set. The
numbers come from scikit-learn (`sklearn.metrics`); these functions fix the class axis to
`num_classes`, check the inputs with one clear message and define recall and UAR over the
classes present in `labels` (NaN for an absent class).

Example:

>>> unweighted_average_recall([0, 0, 0, 1], [0, 0, 1, 1], num_classes=2)
0.8333333333333333
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def _labels(labels, predicted, num_classes):
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError("`labels` and `predicted` must be non-empty and of equal length. "
                         f"Received: lengths={labels.size}, {predicted.size}")
    num_classes = int(num_classes)
    for name, values in (("labels", labels), ("predicted", predicted)):
        if values.min() < 0 or values.max() >= num_classes:
            raise ValueError(f"`{name}` must lie in [0, {num_classes}). "
                             f"Received: {name} range=[{values.min()}, {values.max()}]")
    return labels, predicted, num_classes


def confusion_matrix(labels, predicted, num_classes):
    """Counts `(classes, classes)`: row = true class, column = predicted class.

    Args:
        labels: int array `(videos,)`. True class indices.
        predicted: int array `(videos,)`. Predicted class indices.
        num_classes: int. Number of classes C.

    Returns:
        int64 array `(C, C)` (`sklearn.metrics.confusion_matrix` over all C classes).
    """
    labels, predicted, num_classes = _labels(labels, predicted, num_classes)
    return metrics.confusion_matrix(labels, predicted,
                                    labels=np.arange(num_classes)).astype(np.int64)


def accuracy(labels, predicted):
    """Fraction of videos whose predicted class is the true class (top-1 accuracy)."""
    labels = np.asarray(labels).reshape(-1)
    predicted = np.asarray(predicted).reshape(-1)
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError("`labels` and `predicted` must be non-empty and of equal length. "
                         f"Received: lengths={labels.size}, {predicted.size}")
    return float(metrics.accuracy_score(labels, predicted))


def per_class_recall(labels, predicted, num_classes):
    """Recall of every class, float64 `(C,)`; NaN for a class with no video in `labels`."""
    labels, predicted, num_classes = _labels(labels, predicted, num_classes)
    return metrics.recall_score(labels, predicted, labels=np.arange(num_classes),
                                average=None, zero_division=np.nan).astype(np.float64)


def unweighted_average_recall(labels, predicted, num_classes):
    """Mean of the per-class recalls over the classes present in `labels` (UAR)."""
    labels, predicted, num_classes = _labels(labels, predicted, num_classes)
    return float(metrics.recall_score(labels, predicted, labels=np.unique(labels),
                                      average="macro"))
