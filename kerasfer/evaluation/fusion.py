"""`ScoreFusion`: late fusion of per-video class probabilities from several models.

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Sections 3.3
and 4.4, Table 3: the probability distributions of the video models (VGG + Bi-LSTM, C3D)
and the audio models (random forest, SVC on eGeMAPS) are fused by

* `"average"`: a weighted average of the probabilities (50.13 % on AFEW 6.0);
* `"max"`: the highest confidence, i.e. the class of the largest probability over all
  models (41.78 %);
* `"svm"`: an SVM with penalty C = 18.5 trained on the concatenated probabilities of the
  validation videos (55.3 %, their best).

Settings the paper leaves open (assumptions): the average's weights are the models'
validation accuracies (normalised; explicit `weights` override them); the SVM kernel is
RBF (scikit-learn's default). A model that has no output for a video (NaN row, e.g. the
audio models on a video without an audio track) is left out for that video: the average
and the maximum use the remaining models, and the SVM of that availability pattern is
trained on the validation videos' columns of the available models only.

Example:

>>> fusion = ScoreFusion("svm").fit({"cnn_bilstm": p_val, "audio_svc": a_val}, y_val)
>>> fusion.predict({"cnn_bilstm": p_test, "audio_svc": a_test})  # (videos,) classes
"""

from __future__ import annotations

import numpy as np

FUSION_METHODS = ("average", "max", "svm")
PAPER_SVM_C = 18.5


def _stack(scores, names):
    arrays = [np.asarray(scores[name], np.float64) for name in names]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or len(arrays[0].shape) != 2:
        raise ValueError("every model needs a (videos, classes) probability array of the same "
                         f"shape. Received: shapes={ {n: a.shape for n, a in zip(names, arrays)} }")
    return np.stack(arrays, axis=1)  # (videos, models, classes)


class ScoreFusion:
    """Fuses per-video class probabilities of several models (Fan et al. 2017, Table 3).

    Args:
        method: str. "average", "max" or "svm". Defaults to "svm".
        weights: dict name → float or None. Weights of the average. Defaults to None
            (validation accuracy of each model).
        svm_c: float. Penalty of the fusion SVM. Defaults to 18.5 (paper).
        seed: int. Random state of the SVM. Defaults to 0.

    Example:

    >>> ScoreFusion("average").fit(val_scores, val_labels).accuracy(test_scores, test_labels)
    """

    def __init__(self, method="svm", weights=None, svm_c=PAPER_SVM_C, seed=0):
        if method not in FUSION_METHODS:
            raise ValueError(f"`method` must be one of {FUSION_METHODS}. Received: method={method!r}")
        if not float(svm_c) > 0:
            raise ValueError(f"`svm_c` must be > 0. Received: svm_c={svm_c}")
        self.method = method
        self.weights = None if weights is None else {k: float(v) for k, v in weights.items()}
        self.svm_c = float(svm_c)
        self.seed = int(seed)
        self.names = None
        self._svms = {}

    def fit(self, scores, labels):
        """Learns the fusion on validation videos; returns self.

        Args:
            scores: dict name → float `(videos, classes)`; NaN rows = no output.
            labels: int `(videos,)`.
        """
        self.names = sorted(scores)
        if not self.names:
            raise ValueError("need at least one model's scores. Received: scores={}")
        self._val = _stack(scores, self.names)
        self._labels = np.asarray(labels, np.int64)
        self.num_classes = self._val.shape[2]
        available = ~np.isnan(self._val).any(axis=2)
        if self.weights is None:
            accuracy = {}
            for m, name in enumerate(self.names):
                rows = available[:, m]
                hits = np.argmax(self._val[rows, m], axis=1) == self._labels[rows]
                accuracy[name] = float(hits.mean()) if rows.any() else 0.0
            self.fitted_weights = accuracy
        else:
            missing = set(self.names) - set(self.weights)
            if missing:
                raise ValueError(f"`weights` needs every model. Received: weights={self.weights}, "
                                 f"missing {sorted(missing)}")
            self.fitted_weights = {n: self.weights[n] for n in self.names}
        self._svms = {}
        return self

    def _svm(self, pattern):
        if pattern not in self._svms:
            from sklearn.svm import SVC

            columns = np.array(pattern, bool)
            rows = ~np.isnan(self._val[:, columns]).any(axis=(1, 2))
            x = self._val[rows][:, columns].reshape(int(rows.sum()), -1)
            y = self._labels[rows]
            if len(np.unique(y)) < 2:
                raise ValueError("the fusion SVM needs validation videos of at least two classes "
                                 f"with the models {[n for n, c in zip(self.names, columns) if c]}")
            self._svms[pattern] = SVC(C=self.svm_c, random_state=self.seed).fit(x, y)
        return self._svms[pattern]

    def predict(self, scores):
        """Fused class of every video `(videos,)`; -1 where no model has an output."""
        if self.names is None:
            raise ValueError("call fit() before predict()")
        if sorted(scores) != self.names:
            raise ValueError(f"predict needs the models fit saw. Received: {sorted(scores)}, "
                             f"expected {self.names}")
        stacked = _stack(scores, self.names)
        available = ~np.isnan(stacked).any(axis=2)
        predicted = np.full(len(stacked), -1, np.int64)
        if self.method == "svm":
            for pattern in {tuple(row) for row in available.tolist()}:
                if not any(pattern):
                    continue
                rows = (available == np.array(pattern)).all(axis=1)
                x = stacked[rows][:, np.array(pattern, bool)].reshape(int(rows.sum()), -1)
                predicted[rows] = self._svm(pattern).predict(x)
            return predicted
        filled = np.where(available[..., None], stacked, 0.0)
        if self.method == "max":
            flat = np.where(available[..., None], stacked, -np.inf).max(axis=1)
            predicted[available.any(axis=1)] = np.argmax(flat, axis=1)[available.any(axis=1)]
            return predicted
        weights = np.array([self.fitted_weights[n] for n in self.names]) * available
        total = weights.sum(axis=1, keepdims=True)
        # All-zero weights (e.g. every model at 0 % on validation): plain mean.
        weights = np.where(total > 0, weights / np.where(total > 0, total, 1),
                           available / np.maximum(available.sum(axis=1, keepdims=True), 1))
        fused = (filled * weights[..., None]).sum(axis=1)
        rows = available.any(axis=1)
        predicted[rows] = np.argmax(fused[rows], axis=1)
        return predicted

    def accuracy(self, scores, labels):
        """Fraction of videos whose fused class is the label."""
        return float(np.mean(self.predict(scores) == np.asarray(labels)))
