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

    def save(self, path):
        """Writes ids, labels, γ_p and every video's window scores to an `.npz` file."""
        lengths = np.array([len(w) for w in self.window_scores], dtype=np.int64)
        np.savez_compressed(path, ids=np.array(self.ids), labels=self.labels, lengths=lengths,
                            window_scores=np.concatenate(self.window_scores, axis=0),
                            pooling_temperature=self.pooling_temperature)

    @classmethod
    def load(cls, path):
        """Reads predictions written by `save`."""
        with np.load(path) as data:
            splits = np.cumsum(data["lengths"])[:-1]
            windows = np.split(data["window_scores"], splits, axis=0)
            return cls(data["ids"].tolist(), data["labels"], windows,
                       float(data["pooling_temperature"]))

    @classmethod
    def concatenate(cls, predictions, pooling_temperature=None):
        """Joins the predictions of several folds into one set (e.g. leave-one-subject-out:
        UNBC-McMaster's ROC is computed over the videos of all 25 folds together).

        Args:
            predictions: list of `VideoPredictions` over disjoint videos.
            pooling_temperature: float or None. γ_p of the result; None keeps the first one's.
        """
        ids = [i for p in predictions for i in p.ids]
        if len(set(ids)) != len(ids):
            raise ValueError("Pooled predictions need disjoint videos (folds), but some ids "
                             "repeat; use mean ± SE over runs instead. Received: "
                             f"{len(ids) - len(set(ids))} repeated ids")
        gamma = predictions[0].pooling_temperature if pooling_temperature is None \
            else pooling_temperature
        return cls(ids, np.concatenate([p.labels for p in predictions]),
                   [w for p in predictions for w in p.window_scores], gamma)

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
