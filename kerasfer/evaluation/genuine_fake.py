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


def genuine_fake_metrics(is_genuine, genuine_scores, emotions, threshold):
    """Accuracy and average precision of genuine scores, overall and per emotion.

    Args:
        is_genuine: array `(videos,)` of 0/1 (1 = genuine).
        genuine_scores: float array `(videos,)`. Higher means more likely genuine.
        emotions: sequence `(videos,)` of emotion names.
        threshold: float. A video is predicted genuine when its score is above it (0 for
            SVM decision values, 0.5 for probabilities).

    Returns:
        dict with `accuracy`, `per_emotion_accuracy`, `mean_average_precision` (MAP of
        Ozkan & Akar 2017) and `per_emotion_average_precision`.

    Example:

    >>> genuine_fake_metrics([1, 0], [0.9, 0.2], ["happy", "happy"], 0.5)["accuracy"]
    1.0
    """
    is_genuine = np.asarray(is_genuine).reshape(-1)
    predicted = (np.asarray(genuine_scores, dtype=np.float64).reshape(-1) > threshold)
    ap = per_emotion_average_precision(is_genuine, genuine_scores, emotions)
    return {"accuracy": float(np.mean(is_genuine == predicted.astype(int))),
            "per_emotion_accuracy": per_emotion_accuracy(is_genuine, predicted.astype(int),
                                                         emotions),
            "mean_average_precision": mean_average_precision(ap),
            "per_emotion_average_precision": ap}


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
