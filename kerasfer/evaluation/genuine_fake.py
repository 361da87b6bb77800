"""Per-emotion mean average precision for the genuine vs fake (real vs posed) task.

Ozkan & Akar (2017), "Relaxed spatio-temporal deep feature aggregation for real-fake
expression prediction" (ChaLearn 2017 real-vs-fake expressions, SASE-FE): "Mean Average
Precision (MAP) metric is used to evaluate the performances" with one score per emotion
(Tables 2-3: anger, happiness, surprise, disgust, contentment, sadness) and their average.
Here the average precision of the genuine-vs-fake decision is computed separately among the
videos of each emotion, ranking them by their genuine score, and MAP is the mean over
emotions. (The values of their tables are multiples of 10 % over 10 validation videos per
emotion, which looks like per-emotion accuracy; `per_emotion_accuracy` reports that too.)

Two label layouts are supported: 2·E classes named `<emotion>_<genuine|fake>` (also
real/posed, spontaneous/deliberate), where the emotion is the true class' emotion and the
genuine score is p(emotion_genuine) / (p(emotion_genuine) + p(emotion_fake)); or two classes
(fake, genuine) with the emotion of each video given separately.

Example:

>>> per_emotion_average_precision([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], ["happy"] * 2 + ["sad"] * 2)
{'happy': 1.0, 'sad': 0.5}
"""

from __future__ import annotations

import re

import numpy as np
from sklearn import metrics

GENUINE_WORDS = ("genuine", "real", "spontaneous", "true")
FAKE_WORDS = ("fake", "posed", "deliberate", "false")
_PATTERN = re.compile(r"^(?P<emotion>.+?)[_\- ](?P<kind>%s)$"
                      % "|".join(GENUINE_WORDS + FAKE_WORDS))


def average_precision(labels, scores):
    """Average precision of a ranking, Σ_k (R_k − R_{k−1}) · P_k over distinct thresholds.

    `sklearn.metrics.average_precision_score` (tied scores share one threshold).

    Args:
        labels: array `(videos,)` of 0/1; 1 is relevant (genuine).
        scores: float array `(videos,)`. Higher ranks first.

    Returns:
        float. NaN when there is no positive video.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape or labels.size == 0:
        raise ValueError("`labels` and `scores` must be non-empty and of equal length. "
                         f"Received: lengths={labels.size}, {scores.size}")
    if labels.sum() == 0:
        return float("nan")
    return float(metrics.average_precision_score(labels, scores))


def per_emotion_average_precision(is_genuine, genuine_scores, emotions):
    """Average precision of the genuine decision among the videos of each emotion.

    Args:
        is_genuine: array `(videos,)` of 0/1 (1 = genuine).
        genuine_scores: float array `(videos,)`. Higher means more likely genuine.
        emotions: sequence `(videos,)` of emotion names.

    Returns:
        dict emotion → AP, in order of first appearance. `mean_average_precision` averages it.
    """
    is_genuine = np.asarray(is_genuine).reshape(-1)
    genuine_scores = np.asarray(genuine_scores, dtype=np.float64).reshape(-1)
    emotions = np.asarray([str(e) for e in emotions])
    if not (is_genuine.size == genuine_scores.size == emotions.size):
        raise ValueError("`is_genuine`, `genuine_scores` and `emotions` need one entry per "
                         f"video. Received: lengths={is_genuine.size}, {genuine_scores.size}, "
                         f"{emotions.size}")
    return {str(e): average_precision(is_genuine[emotions == e], genuine_scores[emotions == e])
            for e in dict.fromkeys(emotions.tolist())}


def per_emotion_accuracy(is_genuine, predicted_genuine, emotions):
    """Accuracy of the genuine/fake decision among the videos of each emotion."""
    is_genuine = np.asarray(is_genuine).reshape(-1)
    predicted_genuine = np.asarray(predicted_genuine).reshape(-1)
    emotions = np.asarray([str(e) for e in emotions])
    return {str(e): float(np.mean(is_genuine[emotions == e] == predicted_genuine[emotions == e]))
            for e in dict.fromkeys(emotions.tolist())}


def mean_average_precision(per_emotion):
    """Mean of the per-emotion APs (emotions without a genuine video are skipped)."""
    values = np.asarray(list(per_emotion.values()), dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def paired_decisions(genuine_scores, groups, threshold):
    """Genuine/fake calls that compare the videos of one person showing one emotion.

    The ChaLearn LAP 2017 real-versus-fake protocol (SASE-FE) records every subject showing
    each emotion once genuinely and once posed; the released prediction script of Huynh &
    Kim (2017) (github.com/phunghx/Real_Fake_Expression, the script of their 66.7 % test
    entry) compares the two videos of a subject's emotion and calls the one with the higher
    fake probability fake, the other genuine. Here, in every group of an even number of
    videos (one subject, one emotion, as many genuine as posed by the protocol), the higher-
    scoring half is called genuine (ties keep the given order); a group of odd size, which
    the protocol does not pair, is decided by `threshold`.

    Args:
        genuine_scores: float array `(videos,)`. Higher means more likely genuine.
        groups: sequence `(videos,)` of hashable group keys, e.g. `(subject, emotion)`.
        threshold: float. Decision threshold of videos in odd-sized groups.

    Returns:
        int array `(videos,)`, 1 = called genuine.

    Example:

    >>> paired_decisions([0.9, 0.95, 0.2, 0.3], ["a", "a", "b", "b"], 0.5).tolist()
    [0, 1, 0, 1]
    """
    scores = np.asarray(genuine_scores, dtype=np.float64).reshape(-1)
    keys = list(groups)
    if len(keys) != scores.size:
        raise ValueError("`groups` needs one entry per video. "
                         f"Received: lengths={scores.size}, {len(keys)}")
    called = (scores > threshold).astype(int)
    members = {}
    for row, key in enumerate(keys):
        members.setdefault(key, []).append(row)
    for rows in members.values():
        if len(rows) % 2 == 0:
            rows = np.asarray(rows)
            order = rows[np.argsort(-scores[rows], kind="stable")]
            called[order[:len(rows) // 2]], called[order[len(rows) // 2:]] = 1, 0
    return called


def genuine_fake_metrics(is_genuine, genuine_scores, emotions, threshold, subjects=None):
    """Accuracy and average precision of genuine scores, overall and per emotion.

    Args:
        is_genuine: array `(videos,)` of 0/1 (1 = genuine).
        genuine_scores: float array `(videos,)`. Higher means more likely genuine.
        emotions: sequence `(videos,)` of emotion names.
        threshold: float. A video is predicted genuine when its score is above it (0 for
            SVM decision values, 0.5 for probabilities).
        subjects: sequence `(videos,)` of subject ids, or None. When given, also reports
            the accuracy of `paired_decisions` within each (subject, emotion). Defaults to
            None.

    Returns:
        dict with `accuracy`, `per_emotion_accuracy`, `mean_average_precision` (MAP of
        Ozkan & Akar 2017) and `per_emotion_average_precision`; with `subjects`, also
        `paired_accuracy` and `per_emotion_paired_accuracy`.

    Example:

    >>> genuine_fake_metrics([1, 0], [0.9, 0.2], ["happy", "happy"], 0.5)["accuracy"]
    1.0
    """
    is_genuine = np.asarray(is_genuine).reshape(-1)
    predicted = (np.asarray(genuine_scores, dtype=np.float64).reshape(-1) > threshold)
    ap = per_emotion_average_precision(is_genuine, genuine_scores, emotions)
    metrics = {"accuracy": float(np.mean(is_genuine == predicted.astype(int))),
               "per_emotion_accuracy": per_emotion_accuracy(is_genuine, predicted.astype(int),
                                                            emotions),
               "mean_average_precision": mean_average_precision(ap),
               "per_emotion_average_precision": ap}
    if subjects is not None:
        groups = [(str(s), str(e)) for s, e in zip(subjects, emotions)]
        paired = paired_decisions(genuine_scores, groups, threshold)
        metrics["paired_accuracy"] = float(np.mean(is_genuine == paired))
        metrics["per_emotion_paired_accuracy"] = per_emotion_accuracy(is_genuine, paired,
                                                                      emotions)
    return metrics


def chance_mean_average_precision(is_genuine, emotions, repeats=200, seed=0):
    """Mean MAP of `repeats` random rankings of the same videos: the chance level to beat."""
    rng = np.random.default_rng(seed)
    return float(np.mean([mean_average_precision(per_emotion_average_precision(
        is_genuine, rng.random(len(is_genuine)), emotions)) for _ in range(repeats)]))


def parse_genuine_fake_classes(class_names):
    """Maps 2·E classes named `<emotion>_<genuine|fake>` to `{emotion: (genuine, fake)}`.

    Returns:
        dict emotion → (genuine class index, fake class index), or None when the class names
        do not follow that layout.
    """
    pairs = {}
    for index, name in enumerate(class_names):
        match = _PATTERN.match(str(name).lower())
        if match is None:
            return None
        slot = 0 if match["kind"] in GENUINE_WORDS else 1
        pairs.setdefault(match["emotion"], [None, None])[slot] = index
    if len(pairs) < 1 or any(None in pair for pair in pairs.values()):
        return None
    return {emotion: tuple(pair) for emotion, pair in pairs.items()}


def genuine_fake_scores(probabilities, labels, class_names):
    """Genuine scores and truths from `<emotion>_<genuine|fake>` class probabilities.

    Args:
        probabilities: array `(videos, 2·E)`. Video-level class probabilities.
        labels: int array `(videos,)`. True class indices.
        class_names: sequence of 2·E names, see `parse_genuine_fake_classes`.

    Returns:
        `(is_genuine, genuine_scores, emotions)`: the genuine score of a video is
        p(e_genuine) / (p(e_genuine) + p(e_fake)) for its true emotion e.
    """
    pairs = parse_genuine_fake_classes(class_names)
    if pairs is None:
        raise ValueError("Class names must be <emotion>_genuine / <emotion>_fake pairs. "
                         f"Received: class_names={list(class_names)}")
    emotion_of = {index: (emotion, slot == 0) for emotion, pair in pairs.items()
                  for slot, index in enumerate(pair)}
    probabilities = np.asarray(probabilities, dtype=np.float64)
    emotions, is_genuine, scores = [], [], []
    for row, label in zip(probabilities, np.asarray(labels).reshape(-1)):
        emotion, genuine = emotion_of[int(label)]
        genuine_index, fake_index = pairs[emotion]
        emotions.append(emotion)
        is_genuine.append(int(genuine))
        scores.append(row[genuine_index] / max(row[genuine_index] + row[fake_index], 1e-300))
    return np.asarray(is_genuine), np.asarray(scores), emotions
