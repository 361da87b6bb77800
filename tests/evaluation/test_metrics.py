"""Metrics against scikit-learn and hand-computed values (table-driven)."""

import numpy as np
import pytest
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn import metrics as skm

from kerasfer.evaluation import accuracy
from kerasfer.evaluation import aggregate_reports
from kerasfer.evaluation import average_precision
from kerasfer.evaluation import confusion_matrix
from kerasfer.evaluation import equal_error_rate
from kerasfer.evaluation import equal_error_rate_accuracy
from kerasfer.evaluation import genuine_fake_scores
from kerasfer.evaluation import mean_average_precision
from kerasfer.evaluation import mean_standard_error
from kerasfer.evaluation import parse_genuine_fake_classes
from kerasfer.evaluation import per_class_recall
from kerasfer.evaluation import per_emotion_average_precision
from kerasfer.evaluation import roc_auc
from kerasfer.evaluation import roc_curve
from kerasfer.evaluation import unweighted_average_recall

MULTICLASS_CASES = [
    # labels, predicted, classes, hand-computed accuracy, hand-computed UAR
    ([0, 0, 0, 1], [0, 0, 1, 1], 2, 0.75, (2 / 3 + 1) / 2),
    ([0, 1, 2, 2, 2, 2], [0, 2, 2, 2, 1, 2], 3, 4 / 6, (1 + 0 + 3 / 4) / 3),
    ([3, 3, 1, 0], [3, 0, 1, 0], 4, 0.75, (1 + 1 + 0.5) / 3),  # class 2 absent: skipped
    ([0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6], 7, 1.0, 1.0),
]


@pytest.mark.parametrize("labels, predicted, classes, acc, uar", MULTICLASS_CASES)
def test_multiclass_metrics(labels, predicted, classes, acc, uar):
    assert accuracy(labels, predicted) == pytest.approx(acc)
    assert unweighted_average_recall(labels, predicted, classes) == pytest.approx(uar)
    present = sorted(set(labels))
    assert unweighted_average_recall(labels, predicted, classes) == pytest.approx(
        skm.recall_score(labels, predicted, labels=present, average="macro"))
    np.testing.assert_array_equal(confusion_matrix(labels, predicted, classes),
                                  skm.confusion_matrix(labels, predicted, labels=range(classes)))
    recalls = per_class_recall(labels, predicted, classes)
    assert np.isnan(recalls[[c for c in range(classes) if c not in present]]).all()


def test_confusion_matrix_and_recall_hand_computed():
    labels, predicted = [0, 1, 2, 2, 2, 2], [0, 2, 2, 2, 1, 2]
    np.testing.assert_array_equal(confusion_matrix(labels, predicted, 4),
                                  [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 3, 0], [0, 0, 0, 0]])
    recalls = per_class_recall(labels, predicted, 4)
    np.testing.assert_allclose(recalls[:3], [1.0, 0.0, 0.75])
    assert np.isnan(recalls[3])  # class 3 has no video: NaN, left out of the UAR
    assert unweighted_average_recall(labels, predicted, 4) == pytest.approx(1.75 / 3)


def test_roc_curve_hand_computed():
    # Thresholds from +inf down to the lowest score; the tie at 0.4 moves diagonally.
    fpr, tpr, thresholds = roc_curve([0, 1, 0, 1, 1], [0.1, 0.4, 0.4, 0.8, 0.9])
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.8, 0.4, 0.1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0, 0.5, 1])
    assert roc_auc([0, 1, 0, 1, 1], [0.1, 0.4, 0.4, 0.8, 0.9]) == pytest.approx(
        (1 / 3 * 0 + 2 / 3 * 0 + (2 / 3 + 1) / 2 * 0.5 + 1 * 0.5))


def test_multiclass_metrics_random_against_sklearn():
    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 7, 200), rng.integers(0, 7, 200)
    assert unweighted_average_recall(labels, predicted, 7) == pytest.approx(
        skm.balanced_accuracy_score(labels, predicted))
    np.testing.assert_allclose(per_class_recall(labels, predicted, 7),
                               skm.recall_score(labels, predicted, average=None))


def test_multiclass_bad_input():
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="equal length"):
        accuracy([0, 1], [0])


BINARY_CASES = [
    # labels, scores, hand-computed AUC, hand-computed EER accuracy
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0, 1.0),
    ([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], 0.75, 0.5),
    ([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5, 0.5),               # all tied: the diagonal
    ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], 0.0, 0.0),               # perfectly inverted
    # 3 negatives, 1 positive ranked 2nd: ROC (0,0)(1/3,0)(1/3,1)(1,1); crossing at fpr 1/3.
    ([0, 1, 0, 0], [0.9, 0.8, 0.3, 0.1], 2 / 3, 2 / 3),
]


@pytest.mark.parametrize("labels, scores, auc, eer_acc", BINARY_CASES)
def test_binary_metrics_hand_computed(labels, scores, auc, eer_acc):
    assert roc_auc(labels, scores) == pytest.approx(auc)
    assert equal_error_rate_accuracy(labels, scores) == pytest.approx(eer_acc)


@pytest.mark.parametrize("seed, positives, negatives", [(0, 57, 92), (1, 10, 40), (2, 30, 30)])
def test_binary_metrics_against_sklearn(seed, positives, negatives):
    # UNBC-McMaster-like imbalance (57 Pain vs 92 No Pain), with tied scores.
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(positives), np.zeros(negatives)].astype(int)
    scores = np.round(rng.normal(labels * 1.0, 1.0), 1)
    fpr, tpr, thresholds = roc_curve(labels, scores)
    sk_fpr, sk_tpr, _ = skm.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert roc_auc(labels, scores) == pytest.approx(skm.roc_auc_score(labels, scores))
    # The usual EER recipe: solve 1 − x = ROC(x) on the interpolated curve.
    expected = brentq(lambda x: 1.0 - x - interp1d(sk_fpr, sk_tpr)(x), 0.0, 1.0)
    eer, threshold = equal_error_rate(labels, scores)
    assert eer == pytest.approx(expected, abs=1e-9)
    assert np.isfinite(threshold) and threshold in scores


def test_binary_needs_both_classes():
    with pytest.raises(ValueError, match="one positive and one negative"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0 \\(negative\\) or 1"):
        roc_auc([0, 2], [0.1, 0.2])


AP_CASES = [
    ([1, 0], [0.9, 0.1], 1.0),
    ([0, 1], [0.9, 0.1], 0.5),
    ([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], (1 + 2 / 3) / 2),
    ([1, 1, 0], [0.5, 0.5, 0.5], 2 / 3),   # ties: one threshold, precision 2/3
]


@pytest.mark.parametrize("labels, scores, expected", AP_CASES)
def test_average_precision(labels, scores, expected):
    assert average_precision(labels, scores) == pytest.approx(expected)
    assert average_precision(labels, scores) == pytest.approx(
        skm.average_precision_score(labels, scores))


def test_average_precision_random_against_sklearn():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(labels * 0.5, 1.0), 1)
    assert average_precision(labels, scores) == pytest.approx(
        skm.average_precision_score(labels, scores))


def test_per_emotion_map_hand_computed():
    # Ozkan & Akar (2017) protocol: AP of the genuine decision within every emotion, then
    # the mean.
    emotions = ["anger"] * 4 + ["happiness"] * 4
    is_genuine = [1, 0, 1, 0, 1, 0, 0, 1]
    scores = [0.9, 0.8, 0.7, 0.1, 0.2, 0.9, 0.4, 0.3]
    per_emotion = per_emotion_average_precision(is_genuine, scores, emotions)
    # anger ranking 1,0,1,0 → (1 + 2/3)/2; happiness ranking 0(0.9),0(0.4),1(0.3),1(0.2)
    # → (1/3 + 2/4)/2.
    assert per_emotion == pytest.approx({"anger": 5 / 6, "happiness": (1 / 3 + 1 / 2) / 2})
    assert mean_average_precision(per_emotion) == pytest.approx((5 / 6 + 5 / 12) / 2)


def test_genuine_fake_class_layout():
    names = ["anger_genuine", "anger_fake", "happy_fake", "happy_genuine"]
    assert parse_genuine_fake_classes(names) == {"anger": (0, 1), "happy": (3, 2)}
    assert parse_genuine_fake_classes(["anger", "happy"]) is None
    assert parse_genuine_fake_classes(["anger_genuine", "happy_fake"]) is None
    probabilities = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.6, 0.2]])
    is_genuine, scores, emotions = genuine_fake_scores(probabilities, [1, 3], names)
    np.testing.assert_array_equal(is_genuine, [0, 1])
    np.testing.assert_allclose(scores, [0.75, 0.25])
    assert emotions == ["anger", "happy"]


def test_genuine_fake_metrics_threshold_the_scores_and_rank_them_per_emotion():
    from kerasfer.evaluation.genuine_fake import (
        chance_mean_average_precision,
        genuine_fake_metrics,
    )

    truth = np.array([1, 0, 1, 0, 0, 0, 1, 1])
    scores = np.array([0.8, -0.3, -0.1, 0.2, 0.9, 0.4, 0.3, 0.2])   # SVM margins
    emotions = ["anger"] * 4 + ["happiness"] * 4
    margin = genuine_fake_metrics(truth, scores, emotions, threshold=0.0)
    assert margin["accuracy"] == pytest.approx(4 / 8)   # predicted 1,0,0,1,1,1,1,1
    assert margin["per_emotion_accuracy"] == {"anger": 0.5, "happiness": 0.5}
    assert margin["per_emotion_average_precision"] == pytest.approx(
        {"anger": skm.average_precision_score(truth[:4], scores[:4]),
         "happiness": skm.average_precision_score(truth[4:], scores[4:])})
    assert margin["mean_average_precision"] == pytest.approx(
        np.mean(list(margin["per_emotion_average_precision"].values())))
    probability = genuine_fake_metrics(truth, scores, emotions, threshold=0.5)
    assert probability["per_emotion_accuracy"] == {"anger": 0.75, "happiness": 0.25}
    assert probability["per_emotion_average_precision"] == margin[
        "per_emotion_average_precision"]                     # a ranking: no threshold
    chance = chance_mean_average_precision(truth, emotions, repeats=400)
    assert 0.5 < chance < margin["mean_average_precision"] + 0.3
    assert chance == chance_mean_average_precision(truth, emotions, repeats=400)


def test_mean_standard_error():
    mean, se, n = mean_standard_error([0.4735, 0.47, 0.477, 0.4705])
    values = np.array([0.4735, 0.47, 0.477, 0.4705])
    assert (mean, n) == (pytest.approx(values.mean()), 4)
    assert se == pytest.approx(values.std(ddof=1) / 2.0)
    assert mean_standard_error([0.5]) == (0.5, None, 1)
    assert mean_standard_error([None, float("nan")]) == (None, None, 0)


def test_aggregate_reports():
    reports = [{"metrics": {"accuracy": a, "per_class_recall": {"happy": r, "sad": None}}}
               for a, r in [(0.5, 0.6), (0.7, 0.8)]]
    aggregate = aggregate_reports(reports, names=["seed0", "seed1"])
    assert aggregate["num_runs"] == 2 and aggregate["runs"] == ["seed0", "seed1"]
    assert aggregate["metrics"]["accuracy"]["mean"] == pytest.approx(0.6)
    assert aggregate["metrics"]["accuracy"]["se"] == pytest.approx(0.1)
    assert aggregate["metrics"]["per_class_recall/happy"]["mean"] == pytest.approx(0.7)
    assert aggregate["metrics"]["per_class_recall/sad"]["n"] == 0
    with pytest.raises(ValueError, match="at least one report"):
        aggregate_reports([])


def test_paired_decisions_compare_one_persons_videos():
    from kerasfer.evaluation import genuine_fake_metrics, paired_decisions

    rng = np.random.default_rng(0)
    # 6 subjects x (2 genuine + 2 posed); genuine scores 0.1 above posed within a subject,
    # but a per-subject offset larger than that gap: thresholds fail, pairing does not.
    subjects = np.repeat(np.arange(6), 4)
    truth = np.tile([1, 0, 1, 0], 6)
    scores = rng.uniform(-1, 1, 6)[subjects] + 0.1 * truth + rng.uniform(0, 0.01, 24)
    called = paired_decisions(scores, subjects, threshold=0.0)
    np.testing.assert_array_equal(called, truth)
    # adding any per-group constant leaves the calls unchanged
    shifted = scores + rng.normal(0, 5, 6)[subjects]
    np.testing.assert_array_equal(paired_decisions(shifted, subjects, 0.0), called)
    # odd groups (not pairs) fall back to the threshold
    np.testing.assert_array_equal(paired_decisions([0.7, 0.2, 0.9], ["a", "b", "b"], 0.5),
                                  [1, 0, 1])
    metrics = genuine_fake_metrics(truth, scores, ["happy"] * 24, 0.0, subjects=subjects)
    assert metrics["paired_accuracy"] == 1.0 > metrics["accuracy"]
    assert metrics["per_emotion_paired_accuracy"] == {"happy": 1.0}
    assert "paired_accuracy" not in genuine_fake_metrics(truth, scores, ["happy"] * 24, 0.0)
    with pytest.raises(ValueError, match="Received: lengths=2, 1"):
        paired_decisions([0.1, 0.2], ["a"], 0.5)
