"""Video-level predictions of a dataset, kept at window level so γ_p can be changed freely."""

from __future__ import annotations

import numpy as np

from kerasfer.evaluation.window_pooling import softmax
from kerasfer.evaluation.window_pooling import softmax_pool


class VideoPredictions:
    """Per-video window scores, pooled with Eq. 3.3 at a pooling inverse temperature γ_p.

    Keeping the `(windows, classes)` scores of every video lets the evaluation decouple the
    training (γ_s) and test (γ_p) temperatures (thesis Table 3.3) with a single network pass.

    Args:
        ids: list of str. Video ids.
        labels: list of int. True class index of every video.
        window_scores: list of arrays `(windows, classes)`, one per video.
        pooling_temperature: float. γ_p used for `logits`. Defaults to 1.0.

    Example:

    >>> predictions = VideoPredictions(["a"], [1], [np.array([[0., 2.], [1., 0.]])], 0.0)
    >>> predictions.logits
    array([[0.5, 1. ]])
    """

    def __init__(self, ids, labels, window_scores, pooling_temperature=1.0):
        if not (len(ids) == len(labels) == len(window_scores)):
            raise ValueError("`ids`, `labels` and `window_scores` must have one entry per "
                             f"video. Received: lengths={len(ids)}, {len(labels)}, "
                             f"{len(window_scores)}")
        if len(ids) == 0:
            raise ValueError("No videos to evaluate: the split is empty. Received: ids=[]")
        self.ids = [str(i) for i in ids]
        self.labels = np.asarray(labels, dtype=np.int64)
        self.window_scores = [np.asarray(w, dtype=np.float64) for w in window_scores]
        self.pooling_temperature = float(pooling_temperature)
        self.logits = np.stack([softmax_pool(w, self.pooling_temperature)
                                for w in self.window_scores])

    @property
    def num_classes(self):
        return self.logits.shape[1]

    @property
    def probabilities(self):
        """Array `(videos, classes)`: softmax of the pooled logits."""
        return softmax(self.logits, axis=1)

    @property
    def predicted(self):
        """Array `(videos,)`: arg-max class of every video."""
        return self.logits.argmax(axis=1)

    def with_pooling_temperature(self, pooling_temperature):
        """Returns the same predictions pooled with another γ_p (no network pass)."""
        return VideoPredictions(self.ids, self.labels, self.window_scores, pooling_temperature)

    def rows(self, class_names):
        """One dict per video (id, label, prediction, windows, probabilities) for a CSV."""
        rows = []
        for i, video_id in enumerate(self.ids):
            row = {"id": video_id, "label": class_names[self.labels[i]],
                   "predicted": class_names[self.predicted[i]],
                   "windows": len(self.window_scores[i])}
            row.update({f"p_{name}": float(p)
                        for name, p in zip(class_names, self.probabilities[i])})
            rows.append(row)
        return rows
