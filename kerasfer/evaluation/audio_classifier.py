"""`AudioClassifier`: eGeMAPS functionals → emotion probabilities (random forest or SVC).

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Section 4.2.2:
scikit-learn classifiers on the 88 eGeMAPS functionals of each video's audio (Table 2:
random forest 34.64 %, SVC 39.64 % on AFEW 6.0). The random forest has 500 trees and
min_samples_split 28 (paper). The SVC settings are partly assumptions: the paper gives
C = 2.7e-6 and tolerance 1e-3 but neither kernel nor scaling; here the features are
standardised and an RBF SVC (C = 1 by default, tolerance 1e-3) gives Platt-scaled
probabilities (fitted on cross-validation folds), because C = 2.7e-6 on standardised features predicts the class prior only.

Videos without an audio track (`audio_present = 0`) are left out of training and get NaN
probability rows, so fusion falls back to the other modalities.

Example:

>>> model = AudioClassifier("random_forest").fit(features, labels, num_classes=7)
>>> model.predict_proba(features).shape
(videos, 7)
"""

from __future__ import annotations

import numpy as np


def _random_forest(seed, svc_c, folds):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=500, min_samples_split=28, random_state=seed,
                                  n_jobs=1)


def _svc(seed, svc_c, folds):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    # Platt scaling fitted on held-out folds (scikit-learn's replacement for the deprecated
    # SVC(probability=True)).
    return make_pipeline(StandardScaler(), CalibratedClassifierCV(
        SVC(C=svc_c, tol=1e-3, random_state=seed), method="sigmoid", cv=folds, ensemble=False))


AUDIO_CLASSIFIERS = {"random_forest": _random_forest, "svc": _svc}
"""dict: name → factory `(seed, svc_c, folds) -> scikit-learn estimator`."""


class AudioClassifier:
    """A scikit-learn classifier on eGeMAPS functionals (Fan et al. 2017, Section 4.2.2).

    Args:
        kind: str. "random_forest" (500 trees, min_samples_split 28) or "svc"
            (standardised features, RBF kernel). Defaults to "random_forest".
        seed: int. Random state. Defaults to 0.
        svc_c: float. The SVC penalty (an assumption, see the module docstring).
            Defaults to 1.0.

    Example:

    >>> clf = AudioClassifier("svc").fit(x_train, y_train, num_classes=7)
    >>> clf.predict_proba(x_test)  # (videos, 7); NaN rows where `present` is False
    """

    def __init__(self, kind="random_forest", seed=0, svc_c=1.0):
        if kind not in AUDIO_CLASSIFIERS:
            raise ValueError(f"`kind` must be one of {sorted(AUDIO_CLASSIFIERS)}. "
                             f"Received: kind={kind!r}")
        if not float(svc_c) > 0:
            raise ValueError(f"`svc_c` must be > 0. Received: svc_c={svc_c}")
        self.kind = kind
        self.seed = int(seed)
        self.svc_c = float(svc_c)
        self.estimator = None
        self.num_classes = None

    def fit(self, features, labels, num_classes, present=None):
        """Fits on the videos with audio; returns self.

        Args:
            features: float `(videos, 88)`.
            labels: int `(videos,)`.
            num_classes: int. Number of classes (probabilities have this many columns
                even when a class has no training video with audio).
            present: bool `(videos,)` or None. Videos with an audio track. Defaults to
                None (all).
        """
        features, labels = np.asarray(features, np.float64), np.asarray(labels, np.int64)
        keep = np.ones(len(labels), bool) if present is None else np.asarray(present, bool)
        if keep.sum() < 2 or len(np.unique(labels[keep])) < 2:
            raise ValueError("an audio classifier needs videos with audio from at least two "
                             f"classes. Received: {int(keep.sum())} videos with audio, classes "
                             f"{sorted(set(labels[keep].tolist()))}")
        self.num_classes = int(num_classes)
        smallest_class = int(np.min(np.unique(labels[keep], return_counts=True)[1]))
        folds = max(2, min(5, smallest_class))  # calibration folds of the SVC
        self.estimator = AUDIO_CLASSIFIERS[self.kind](self.seed, self.svc_c, folds)
        self.estimator.fit(features[keep], labels[keep])
        return self

    def predict_proba(self, features, present=None):
        """Class probabilities `(videos, num_classes)`; NaN rows for videos without audio."""
        if self.estimator is None:
            raise ValueError("call fit() before predict_proba()")
        features = np.asarray(features, np.float64)
        keep = np.ones(len(features), bool) if present is None else np.asarray(present, bool)
        out = np.full((len(features), self.num_classes), np.nan)
        if keep.any():
            out[np.ix_(keep, self.estimator.classes_)] = self.estimator.predict_proba(features[keep])
            out[keep] = np.nan_to_num(out[keep], nan=0.0)
        return out
