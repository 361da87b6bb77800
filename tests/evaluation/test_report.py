"""Report files: JSON + Markdown + CSV + valid PNG plots, and the γ_p sweep."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from kerasfer.errors import KerasferError
from kerasfer.evaluation import VideoPredictions
from kerasfer.evaluation import aggregate_reports
from kerasfer.evaluation import build_report
from kerasfer.evaluation import write_aggregate_report
from kerasfer.evaluation import write_report


def make_predictions(num_classes, videos=24, seed=0, gamma=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, videos)
    windows = []
    for label in labels:
        scores = rng.normal(0, 1, (int(rng.integers(1, 9)), num_classes))
        scores[:, label] += 1.0  # better than chance, not perfect
        windows.append(scores)
    return VideoPredictions([f"v{i:03d}" for i in range(videos)], labels, windows, gamma)


def assert_png(path):
    assert os.path.getsize(path) > 1000
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) >= 300


def test_multiclass_report_files(tmp_path):
    names = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    predictions = make_predictions(7, videos=60)
    report = build_report(predictions, names, split="validation", clip_length=16,
                          pooling_temperature_sweep=(0.0, 1.0, 10.0))
    files = write_report(report, predictions, str(tmp_path))
    for kind in ("confusion_matrix", "per_class_recall"):
        assert_png(files[kind])
    assert "roc_curve" not in files
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["metrics"]["accuracy"] == pytest.approx(
        np.mean(predictions.predicted == predictions.labels))
    assert np.sum(saved["confusion_matrix"]) == 60
    assert set(saved["pooling_temperature_sweep"]) == {"0.0", "1.0", "10.0"}
    assert saved["pooling_temperature_sweep"]["1.0"]["accuracy"] == saved["metrics"]["accuracy"]
    markdown = (tmp_path / "report.md").read_text()
    assert "unweighted average recall (UAR)" in markdown and "| surprise |" in markdown
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert len(lines) == 61 and lines[0].startswith("id,label,predicted,windows,p_angry")


def test_binary_report_has_roc_and_eer(tmp_path):
    predictions = make_predictions(2, videos=40, seed=1)
    report = build_report(predictions, ["no_pain", "pain"], split="test")
    metrics = report["metrics"]
    assert 0.0 <= metrics["eer_accuracy"] <= 1.0 and 0.0 <= metrics["roc_auc"] <= 1.0
    assert metrics["eer_accuracy"] == pytest.approx(1 - metrics["equal_error_rate"])
    assert report["positive_class"] == "pain"
    files = write_report(report, predictions, str(tmp_path))
    assert_png(files["roc_curve"])
    assert "![ROC curve](roc_curve.png)" in (tmp_path / "report.md").read_text()


def test_genuine_fake_report_has_per_emotion_map(tmp_path):
    names = ["anger_genuine", "anger_fake", "happiness_genuine", "happiness_fake"]
    predictions = make_predictions(4, videos=32, seed=2)
    report = build_report(predictions, names)
    metrics = report["metrics"]
    assert set(metrics["per_emotion_average_precision"]) <= {"anger", "happiness"}
    values = [v for v in metrics["per_emotion_average_precision"].values() if v is not None]
    assert metrics["mean_average_precision"] == pytest.approx(np.mean(values))
    write_report(report, predictions, str(tmp_path))
    assert "Genuine vs fake per emotion" in (tmp_path / "report.md").read_text()


def test_binary_genuine_fake_with_emotions():
    predictions = make_predictions(2, videos=20, seed=3)
    emotions = ["anger", "sadness"] * 10
    report = build_report(predictions, ["fake", "genuine"], emotions=emotions)
    assert set(report["metrics"]["per_emotion_average_precision"]) == {"anger", "sadness"}


def test_class_count_mismatch_is_clear():
    with pytest.raises(ValueError, match="outputs 3 classes but 2 class names"):
        build_report(make_predictions(3), ["a", "b"])


def test_aggregate_report_files(tmp_path):
    names = ["happy", "sad", "neutral"]
    reports = [build_report(make_predictions(3, seed=s), names) for s in range(3)]
    files = write_aggregate_report(aggregate_reports(reports, ["s0", "s1", "s2"]), str(tmp_path))
    assert_png(files["per_class_recall"])
    saved = json.loads((tmp_path / "aggregate.json").read_text())
    accuracies = [r["metrics"]["accuracy"] for r in reports]
    assert saved["metrics"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert saved["metrics"]["accuracy"]["se"] == pytest.approx(
        np.std(accuracies, ddof=1) / np.sqrt(3))
    assert "± SE" in (tmp_path / "aggregate.md").read_text()


def test_predictions_save_load_and_concatenate(tmp_path):
    first, second = make_predictions(3, videos=5, seed=1), make_predictions(3, videos=4, seed=2)
    first.save(tmp_path / "a.npz")
    loaded = VideoPredictions.load(tmp_path / "a.npz")
    assert loaded.ids == first.ids and loaded.pooling_temperature == first.pooling_temperature
    np.testing.assert_array_equal(loaded.labels, first.labels)
    np.testing.assert_allclose(loaded.logits, first.logits)
    second.ids = [f"w{i}" for i in range(4)]
    joined = VideoPredictions.concatenate([first, second])
    assert len(joined.ids) == 9
    np.testing.assert_allclose(joined.logits, np.concatenate([first.logits, second.logits]))
    with pytest.raises(ValueError, match="disjoint videos"):
        VideoPredictions.concatenate([first, first])


def test_report_replaces_only_its_own_files(tmp_path):
    names = ["happy", "sad", "neutral"]
    predictions = make_predictions(3, seed=4)
    report = build_report(predictions, names)
    out = tmp_path / "evaluation"
    out.mkdir()
    (out / "report.md").write_text("my own notes")
    (out / "NOTES.txt").write_text("mine")
    with pytest.raises(KerasferError, match="holds report.md, which no earlier kerasfer "
                                            "report wrote.*pass --out a new directory"):
        write_report(report, predictions, str(out))
    assert sorted(p.name for p in out.iterdir()) == ["NOTES.txt", "report.md"]
    (out / "report.md").unlink()
    write_report(report, predictions, str(out))
    write_report(report, predictions, str(out))  # an earlier report's files are replaced
    assert (out / "NOTES.txt").read_text() == "mine"
    # A file written through a symbolic link would replace the link's target.
    (tmp_path / "elsewhere.png").write_text("keep")
    (out / "confusion_matrix.png").unlink()
    (out / "confusion_matrix.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(KerasferError, match="confusion_matrix.png"):
        write_report(report, predictions, str(out))
    assert (tmp_path / "elsewhere.png").read_text() == "keep"
    aggregate = aggregate_reports([report, report], ["a", "b"])
    write_aggregate_report(aggregate, str(out))  # per_class_recall.png is the report's
    assert json.loads((out / "aggregate.json").read_text())["files"]["json"] == "aggregate.json"
    write_aggregate_report(aggregate, str(out))
