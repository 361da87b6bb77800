"""Evaluation reports: metrics of a `VideoPredictions`, written as JSON, Markdown and PNGs.

Which metrics a report holds follows the protocols of Ayral (2021) master's thesis (Section
3.3.1.1) and of Ozkan & Akar (2017, real-fake expression prediction): accuracy, UAR,
per-class recall and the confusion matrix always (AFEW, HMDB-51);
ROC-AUC and accuracy at the ROC equal-error point for two-class tasks (UNBC-McMaster,
BioVid); per-emotion average precision and its mean (MAP) when the classes are
`<emotion>_<genuine|fake>` pairs or `emotions` are given for a genuine/fake task (SASE-FE).

Files written by `write_report(report, predictions, out_dir)`:
`report.json`, `report.md`, `predictions.csv`, `window_scores.npz` (to re-pool with another
γ_p or pool folds together), `confusion_matrix.png`, `per_class_recall.png` and, for binary
tasks, `roc_curve.png`.

Example:

>>> report = build_report(predictions, ["no_pain", "pain"], split="test")
>>> write_report(report, predictions, "run/evaluation")
"""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from kerasfer.errors import KerasferError
from kerasfer.evaluation import binary_metrics
from kerasfer.evaluation import classification_metrics
from kerasfer.evaluation import genuine_fake
from kerasfer.evaluation import plots


def _clean(value):
    # JSON has no NaN: a metric that is undefined (no video of a class) becomes null.
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _positive_index(positive_class, class_names):
    if positive_class is None:
        return 1
    if isinstance(positive_class, str):
        if positive_class not in class_names:
            raise ValueError(f"`positive_class` must be one of {list(class_names)}. "
                             f"Received: positive_class={positive_class!r}")
        return list(class_names).index(positive_class)
    return int(positive_class)


def classification_summary(predictions, class_names, positive_class=None, emotions=None):
    """Metrics dict of predictions (accuracy, UAR, per-class recall, binary and MAP extras).

    Args:
        predictions: `VideoPredictions`.
        class_names: list of str, one per class.
        positive_class: int, str or None. Positive class of a two-class task (ROC). Defaults
            to None (class index 1).
        emotions: list of str or None. Emotion of every video for a two-class genuine/fake
            task (class names e.g. ("fake", "genuine")); enables per-emotion MAP.
            Defaults to None.

    Returns:
        `(metrics, extras)`: metrics is a flat-ish dict of numbers, extras holds the
        confusion matrix and ROC points.
    """
    class_names = list(class_names)
    if len(class_names) != predictions.num_classes:
        raise ValueError(f"The model outputs {predictions.num_classes} classes but "
                         f"{len(class_names)} class names were given. "
                         f"Received: class_names={class_names}")
    labels, predicted = predictions.labels, predictions.predicted
    num_classes = len(class_names)
    recalls = classification_metrics.per_class_recall(labels, predicted, num_classes)
    metrics = {
        "accuracy": classification_metrics.accuracy(labels, predicted),
        "unweighted_average_recall": float(np.nanmean(recalls)),
        "per_class_recall": dict(zip(class_names, recalls.tolist())),
    }
    extras = {"confusion_matrix": classification_metrics.confusion_matrix(
        labels, predicted, num_classes).tolist()}
    probabilities = predictions.probabilities
    if num_classes == 2:
        positive = _positive_index(positive_class, class_names)
        truth = (labels == positive).astype(np.int64)
        if 0 < truth.sum() < truth.size:
            scores = probabilities[:, positive]
            eer, threshold = binary_metrics.equal_error_rate(truth, scores)
            fpr, tpr, _ = binary_metrics.roc_curve(truth, scores)
            metrics.update({"roc_auc": binary_metrics.roc_auc(truth, scores),
                            "equal_error_rate": eer, "eer_accuracy": 1.0 - eer})
            extras.update({"positive_class": class_names[positive], "eer_threshold": threshold,
                           "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()}})
        else:
            extras["roc_skipped"] = "the split holds videos of one class only"
    genuine = None
    if genuine_fake.parse_genuine_fake_classes(class_names) is not None:
        genuine = genuine_fake.genuine_fake_scores(probabilities, labels, class_names)
    elif emotions is not None and num_classes == 2:
        positive = _positive_index(positive_class, class_names)
        genuine = ((labels == positive).astype(np.int64), probabilities[:, positive],
                   list(emotions))
    if genuine is not None:
        is_genuine, scores, video_emotions = genuine
        average_precisions = genuine_fake.per_emotion_average_precision(
            is_genuine, scores, video_emotions)
        metrics["per_emotion_average_precision"] = average_precisions
        metrics["mean_average_precision"] = genuine_fake.mean_average_precision(
            average_precisions)
        metrics["per_emotion_genuine_accuracy"] = genuine_fake.per_emotion_accuracy(
            is_genuine, (scores >= 0.5).astype(np.int64), video_emotions)
    return metrics, extras


def build_report(predictions, class_names, *, split=None, clip_length=None,
                 positive_class=None, emotions=None, pooling_temperature_sweep=(),
                 run=None):
    """The full report dict of an evaluation (JSON-serialisable, NaN → null).

    Args:
        predictions: `VideoPredictions` pooled at the main γ_p.
        class_names: list of str.
        split: str or None. Name of the evaluated split. Defaults to None.
        clip_length: int or None. F (recorded only). Defaults to None.
        positive_class: int, str or None. See `classification_summary`.
        emotions: list of str or None. See `classification_summary`.
        pooling_temperature_sweep: iterable of float. Extra γ_p values whose accuracy, UAR
            (and binary metrics) are reported from the same window scores. Defaults to ().
        run: str or None. Run directory (recorded only). Defaults to None.
    """
    metrics, extras = classification_summary(predictions, class_names, positive_class, emotions)
    report = {
        "run": run, "split": split, "num_videos": len(predictions.ids),
        "class_names": list(class_names), "clip_length": clip_length,
        # JSON has no infinity: γ_p = inf (max pooling) is written as the string "inf".
        "pooling_temperature": (predictions.pooling_temperature
                                if math.isfinite(predictions.pooling_temperature) else "inf"),
        "metrics": metrics, **extras,
    }
    sweep = {}
    for gamma in pooling_temperature_sweep:
        swept, _ = classification_summary(predictions.with_pooling_temperature(gamma),
                                          class_names, positive_class, emotions)
        sweep[str(float(gamma))] = {k: v for k, v in swept.items() if not isinstance(v, dict)}
    if sweep:
        report["pooling_temperature_sweep"] = sweep
    return _clean(report)


def _percent(value):
    return "n/a" if value is None else f"{100 * value:.2f} %"


_METRIC_NAMES = {"unweighted_average_recall": "unweighted average recall (UAR)",
                 "roc_auc": "ROC-AUC", "equal_error_rate": "equal error rate (EER)",
                 "eer_accuracy": "accuracy at the ROC equal-error point",
                 "mean_average_precision": "mean average precision (per emotion)"}


def _metric_name(key):
    # "per_class_recall/no_pain" → "per class recall: no_pain" (class names kept verbatim).
    head, _, item = key.partition("/")
    name = _METRIC_NAMES.get(head, head.replace("_", " "))
    return f"{name}: {item}" if item else name


def _metric_value(key, value):
    # AUC is conventionally a number in [0, 1]; rates and accuracies read as percentages.
    if key == "roc_auc" and value is not None:
        return f"{value:.4f}"
    return _percent(value)


def _markdown(report):
    metrics = report["metrics"]
    lines = [f"# Evaluation{' — ' + report['split'] if report.get('split') else ''}", ""]
    if report.get("run"):
        lines.append(f"Run: `{report['run']}`  ")
    lines += [f"Videos: {report['num_videos']}, classes: {len(report['class_names'])}, "
              f"clip length F = {report.get('clip_length')}, pooling γ_p = "
              f"{report['pooling_temperature']} (window max then softmax pooling, thesis "
              "Eq. 3.3)", "", "| metric | value |", "| --- | --- |"]
    for key, value in metrics.items():
        if not isinstance(value, dict):
            lines.append(f"| {_metric_name(key)} | {_metric_value(key, value)} |")
    if "eer_threshold" in report:
        lines.append(f"| EER threshold on p({report['positive_class']}) | "
                     f"{report['eer_threshold']:.4f} |")
    lines += ["", "## Per-class recall", "", "| class | recall |", "| --- | --- |"]
    lines += [f"| {name} | {_percent(value)} |"
              for name, value in metrics["per_class_recall"].items()]
    if "per_emotion_average_precision" in metrics:
        lines += ["", "## Genuine vs fake per emotion", "", "| emotion | AP | accuracy |",
                  "| --- | --- | --- |"]
        for emotion, ap in metrics["per_emotion_average_precision"].items():
            acc = metrics["per_emotion_genuine_accuracy"].get(emotion)
            lines.append(f"| {emotion} | {_percent(ap)} | {_percent(acc)} |")
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", "",
              "| | " + " | ".join(report["class_names"]) + " |",
              "| --- |" + " --- |" * len(report["class_names"])]
    for name, row in zip(report["class_names"], report["confusion_matrix"]):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    if report.get("pooling_temperature_sweep"):
        keys = list(next(iter(report["pooling_temperature_sweep"].values())))
        lines += ["", "## Pooling temperature γ_p (same network pass)", "",
                  "| γ_p | " + " | ".join(_metric_name(k) for k in keys) + " |",
                  "| --- |" + " --- |" * len(keys)]
        for gamma, values in report["pooling_temperature_sweep"].items():
            lines.append(f"| {gamma} | " + " | ".join(_metric_value(k, values[k])
                                                      for k in keys) + " |")
    lines += ["", "![confusion matrix](confusion_matrix.png)",
              "![per-class recall](per_class_recall.png)"]
    if "roc" in report:
        lines.append("![ROC curve](roc_curve.png)")
    return "\n".join(lines) + "\n"


REPORT_FILES = ("confusion_matrix.png", "per_class_recall.png", "roc_curve.png",
                "window_scores.npz", "predictions.csv", "report.md", "report.json")
AGGREGATE_FILES = ("aggregate.md", "aggregate.json", "per_class_recall.png")
_RECORDS = ("report.json", "aggregate.json")  # each lists the files its report wrote


def _recorded_files(out_dir):
    recorded = set()
    for name in _RECORDS:
        path = os.path.join(out_dir, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                files = json.load(handle).get("files")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(files, dict):
            recorded |= {str(f) for f in files.values()} | {name}
    return recorded


def _record_planned(path, names):
    # Written first, so a report interrupted half-way still names every file it may have
    # written and the next report replaces them; the complete record overwrites it at the end.
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"status": "incomplete: interrupted while writing",
                   "files": {name: name for name in names}}, handle, indent=2)


def check_report_directory(out_dir, names=REPORT_FILES):
    """Refuses to replace files in `out_dir` that no earlier kerasfer report wrote.

    A report replaces its own earlier files (listed under "files" in `report.json` /
    `aggregate.json`) and never a user's file of the same name, nor writes through a
    symbolic link.

    Args:
        out_dir: str. The report directory.
        names: sequence of str. The file names the report is about to write. Defaults to
            `REPORT_FILES`.

    Raises:
        KerasferError: one line naming the files and the fix.
    """
    if not os.path.isdir(out_dir):
        if os.path.lexists(out_dir):
            raise KerasferError(out_dir, "is a file, not a directory",
                                "pass --out a new directory")
        return
    recorded = _recorded_files(out_dir)
    clashes = [name for name in names if os.path.lexists(os.path.join(out_dir, name))
               and (name not in recorded or os.path.islink(os.path.join(out_dir, name)))]
    if clashes:
        raise KerasferError(out_dir, f"holds {', '.join(clashes)}, which no earlier kerasfer "
                            "report wrote and this report would replace",
                            "pass --out a new directory; nothing was written")


def write_report(report, predictions, out_dir):
    """Writes report.json, report.md, predictions.csv and the PNG plots into `out_dir`.

    Files of an earlier report (listed in its `report.json`) are replaced; any other file
    of the same name is refused (`check_report_directory`) before anything is written.

    Returns:
        dict file kind → path of every file written.
    """
    check_report_directory(out_dir, REPORT_FILES)
    os.makedirs(out_dir, exist_ok=True)
    _record_planned(os.path.join(out_dir, "report.json"), REPORT_FILES)
    names = report["class_names"]
    metrics = report["metrics"]
    files = {
        "confusion_matrix": plots.plot_confusion_matrix(
            report["confusion_matrix"], names, os.path.join(out_dir, "confusion_matrix.png"),
            title=f"Confusion matrix (accuracy {_percent(metrics['accuracy'])})"),
        "per_class_recall": plots.plot_per_class_recall(
            [np.nan if v is None else v for v in metrics["per_class_recall"].values()], names,
            os.path.join(out_dir, "per_class_recall.png"),
            unweighted_average_recall=metrics["unweighted_average_recall"]),
    }
    if "roc" in report:
        files["roc_curve"] = plots.plot_roc_curve(
            report["roc"]["fpr"], report["roc"]["tpr"], os.path.join(out_dir, "roc_curve.png"),
            auc=metrics["roc_auc"], equal_error_rate=metrics["equal_error_rate"],
            title=f"ROC, positive class: {report['positive_class']}")
    files["window_scores"] = os.path.join(out_dir, "window_scores.npz")
    predictions.save(files["window_scores"])
    files["predictions"] = os.path.join(out_dir, "predictions.csv")
    rows = predictions.rows(names)
    with open(files["predictions"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    files["markdown"] = os.path.join(out_dir, "report.md")
    with open(files["markdown"], "w") as handle:
        handle.write(_markdown(report))
    files["json"] = os.path.join(out_dir, "report.json")
    with open(files["json"], "w") as handle:
        json.dump({**report, "files": {k: os.path.basename(v) for k, v in files.items()}},
                  handle, indent=2)
    return files


def write_aggregate_report(aggregate, out_dir):
    """Writes aggregate.json, aggregate.md and per_class_recall.png (mean ± SE over runs).

    Args:
        aggregate: dict from `aggregate_reports`.
        out_dir: str. Output directory.

    Returns:
        dict file kind → path.
    """
    check_report_directory(out_dir, AGGREGATE_FILES)
    os.makedirs(out_dir, exist_ok=True)
    _record_planned(os.path.join(out_dir, "aggregate.json"), AGGREGATE_FILES)
    aggregate = _clean(aggregate)
    lines = [f"# Evaluation over {aggregate['num_runs']} runs (mean ± standard error)", "",
             "Runs: " + ", ".join(f"`{name}`" for name in aggregate["runs"]), "",
             "| metric | mean | ± SE (same unit; % points for rates) | n |",
             "| --- | --- | --- | --- |"]
    for key, value in aggregate["metrics"].items():
        scale = 1.0 if key == "roc_auc" else 100.0
        se = "n/a" if value["se"] is None else f"{scale * value['se']:.{2 if scale > 1 else 4}f}"
        lines.append(f"| {_metric_name(key)} | {_metric_value(key, value['mean'])} | {se} | "
                     f"{value['n']} |")
    files = {"markdown": os.path.join(out_dir, "aggregate.md"),
             "json": os.path.join(out_dir, "aggregate.json")}
    with open(files["markdown"], "w") as handle:
        handle.write("\n".join(lines) + "\n")
    recall_keys = [k for k in aggregate["metrics"] if k.startswith("per_class_recall/")]
    if recall_keys:
        means = [aggregate["metrics"][k]["mean"] for k in recall_keys]
        errors = [aggregate["metrics"][k]["se"] or 0.0 for k in recall_keys]
        uar = aggregate["metrics"].get("unweighted_average_recall", {}).get("mean")
        files["per_class_recall"] = plots.plot_per_class_recall(
            [np.nan if m is None else m for m in means],
            [k.split("/", 1)[1] for k in recall_keys],
            os.path.join(out_dir, "per_class_recall.png"), unweighted_average_recall=uar,
            errors=errors, title=f"Per-class recall, mean ± SE over {aggregate['num_runs']} runs")
    with open(files["json"], "w") as handle:  # last: it records the files written
        json.dump({**aggregate, "files": {k: os.path.basename(v) for k, v in files.items()}},
                  handle, indent=2)
    return files
