"""Per-person mean and power normalisation and the linear SVM of Ozkan & Akar (2017).

Pipeline of Ozkan & Akar (2017), "Relaxed spatio-temporal deep feature aggregation for
real-fake expression prediction" (Sections 3, 6): per-person mean normalisation of the ReLU
conv5 features, relaxed aggregation (`kerasfer.models.relaxed_aggregation`), power
normalisation σ = 0.5, and one linear SVM (LibSVM, C = 1) per emotion; scored with the
per-emotion MAP of `kerasfer.evaluation.genuine_fake` (`per_emotion_average_precision`,
`mean_average_precision`), which this module reuses rather than redefines.

Example:

>>> x = per_person_mean_normalization(np.array([[1.0], [3.0], [10.0]]), ["a", "a", "b"])
>>> x.ravel().tolist()
[-1.0, 1.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.svm import SVC

PAPER_EXPONENT = 0.5  # σ of Section 3
PAPER_C = 1.0  # Section 3: "C value is fixed to 1 for all emotion types"


def per_person_mean_normalization(descriptors, person_ids):
    """Subtracts from every sample the mean of all samples of the same person.

    Ozkan & Akar (2017) Section 3: "we separately normalize the deep features (conv5) for
    each person by subtracting the average of his/her facial emotions during video rather
    than overall dataset mean", so each person's samples have zero mean. The paper applies
    it to the conv5 maps of every frame (pass them as `(frames, 6, 6, 512)` with one person
    id per frame, pooled over all of that person's videos); it works the same on descriptors.
    It needs no labels, so it applies to unseen people too. The mean is element-wise over
    the first axis.

    Args:
        descriptors: float array `(samples, ...)`.
        person_ids: array-like `(samples,)` of hashable person identifiers.

    Returns:
        float64 array of the shape of `descriptors`.

    Example:

    >>> per_person_mean_normalization(np.array([[2.0, 0.0], [4.0, 2.0]]), [7, 7]).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    descriptors = np.asarray(descriptors, dtype=np.float64)
    person_ids = np.asarray(person_ids)
    if descriptors.ndim < 1 or descriptors.shape[0] == 0:
        raise ValueError("descriptors must have at least one sample on the first axis. "
                         f"Received: descriptors.shape={descriptors.shape}")
    if person_ids.shape != (descriptors.shape[0],):
        raise ValueError(f"person_ids must have shape ({descriptors.shape[0]},), one id per "
                         f"sample. Received: person_ids.shape={person_ids.shape}")
    _, inverse = np.unique(person_ids, return_inverse=True)
    inverse = inverse.reshape(-1)
    flat = descriptors.reshape(descriptors.shape[0], -1)
    sums = np.zeros((inverse.max() + 1, flat.shape[1]))
    np.add.at(sums, inverse, flat)
    means = sums / np.bincount(inverse)[:, None]
    return (flat - means[inverse]).reshape(descriptors.shape)


def power_normalization(x, exponent=PAPER_EXPONENT):
    """Signed power normalisation `sign(x) · |x|^σ`, element-wise (Section 3, [5, 21]).

    Ozkan & Akar (2017) apply σ = 0.5 to each element of the video representation before the SVM.
    The CBP layers of `relaxed_aggregation` already end with it (then L2 normalisation), so
    use this only on descriptors that are not normalised yet (e.g. `"average"`).

    Args:
        x: float array of any shape.
        exponent: float. σ > 0. Defaults to 0.5.

    Returns:
        float64 array of the shape of `x`.

    Example:

    >>> power_normalization(np.array([-4.0, 9.0])).tolist()
    [-2.0, 3.0]
    """
    if (isinstance(exponent, bool) or not isinstance(exponent, (int, float))
            or not math.isfinite(exponent) or exponent <= 0):
        raise ValueError(f"exponent must be a positive finite number. "
                         f"Received: exponent={exponent!r}")
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.power(np.abs(x), exponent)


def fit_linear_svm(descriptors, labels, C=PAPER_C):
    """Fits the linear SVM of Ozkan & Akar (2017) (Section 3, LibSVM, C = 1) on descriptors.

    Section 3 uses LibSVM (footnote 1) with a linear kernel and C = 1 for every emotion,
    one classifier per emotion type; `sklearn.svm.SVC(kernel="linear")` is LibSVM (hinge
    loss, unregularised bias), unlike `LinearSVC` (liblinear). Its `decision_function`
    gives the scores to rank for average precision.

    Args:
        descriptors: float array `(videos, dim)`.
        labels: array `(videos,)` with at least two classes (e.g. 1 genuine, 0 fake).
        C: float. Positive soft-margin penalty. Defaults to 1.0.

    Returns:
        A fitted `sklearn.svm.SVC`.

    Example:

    >>> fit_linear_svm([[0.0], [1.0]], [0, 1]).predict([[0.9]]).tolist()
    [1]
    """
    if (isinstance(C, bool) or not isinstance(C, (int, float)) or not math.isfinite(C)
            or C <= 0):
        raise ValueError(f"C must be a positive finite number. Received: C={C!r}")
    descriptors = np.asarray(descriptors, dtype=np.float64)
    labels = np.asarray(labels)
    if descriptors.ndim != 2 or descriptors.shape[0] == 0:
        raise ValueError("descriptors must be a non-empty (videos, dim) array. "
                         f"Received: descriptors.shape={descriptors.shape}")
    if labels.shape != (descriptors.shape[0],):
        raise ValueError(f"labels must have shape ({descriptors.shape[0]},). "
                         f"Received: labels.shape={labels.shape}")
    if np.unique(labels).size < 2:
        raise ValueError("labels must contain at least two classes. "
                         f"Received: labels={np.unique(labels).tolist()}")
    return SVC(kernel="linear", C=float(C)).fit(descriptors, labels)
