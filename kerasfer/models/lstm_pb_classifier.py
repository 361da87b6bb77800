"""Gradient-boosting classifier on LSTM-PB parametric-bias vectors (LSTM-PB paper, Section 2.4)."""

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

# Section 2.4: "For each emotion, 5000 boosted trees are generated." The paper names no other
# hyper-parameter (its library [3] is not sklearn), so the rest are sklearn's defaults.
PAPER_NUM_TREES = 5000


def fit_pb_classifier(pb_vectors, labels, **kwargs):
    """Fits a gradient-boosting classifier mapping PB vectors to labels (e.g. genuine/fake).

    LSTM-PB paper, Section 2.4: the PB vectors that LSTM-PB learns (learning mode) or finds
    (recognition mode, `LSTMParametricBias.recognize`) are classified by a gradient-boosting
    machine of decision trees, one per emotion, with 5000 boosted trees. Every other setting
    is sklearn's default (learning_rate=0.1, max_depth=3, log-loss), the paper giving none.

    Args:
        pb_vectors: array `(num_sequences, pb_dim)`.
        labels: array `(num_sequences,)` of class labels.
        **kwargs: `sklearn.ensemble.GradientBoostingClassifier` arguments; they override
            `n_estimators=5000` (Section 2.4) and sklearn's defaults.

    Returns:
        The fitted `GradientBoostingClassifier`.

    Example:

    >>> clf = fit_pb_classifier(np.eye(4), [0, 0, 1, 1], n_estimators=10)
    >>> clf.predict(np.eye(4)).tolist()
    [0, 0, 1, 1]
    """
    pb_vectors = np.asarray(pb_vectors)
    labels = np.asarray(labels)
    if pb_vectors.ndim != 2:
        raise ValueError("pb_vectors must be (num_sequences, pb_dim). "
                         f"Received: pb_vectors.shape={pb_vectors.shape}")
    if labels.shape != (len(pb_vectors),):
        raise ValueError(f"labels must be ({len(pb_vectors)},), one per PB vector. "
                         f"Received: labels.shape={labels.shape}")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must contain at least two classes. "
                         f"Received: labels={labels.tolist()}")
    settings = {"n_estimators": PAPER_NUM_TREES, **kwargs}
    return GradientBoostingClassifier(**settings).fit(pb_vectors, labels)
