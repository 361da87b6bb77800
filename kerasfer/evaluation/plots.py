"""PNG plots of an evaluation report: confusion matrix, per-class recall, ROC curve.

Figures are made with `matplotlib.figure.Figure`, never pyplot, so no display is needed
and the process's matplotlib backend is left alone (inline plots in a notebook keep working
after an evaluation); every function writes one PNG and returns its path.

Example:

>>> plot_confusion_matrix([[5, 1], [2, 4]], ["no_pain", "pain"], "confusion_matrix.png")
'confusion_matrix.png'
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def new_figure(figsize, **subplots_kwargs):
    """Returns `(figure, axes)` like `pyplot.subplots`, without touching pyplot's state."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(**subplots_kwargs)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return str(path)


def plot_confusion_matrix(counts, class_names, path, title="Confusion matrix"):
    """Row-normalised confusion matrix (colour = recall share) annotated with counts and %.

    Args:
        counts: int array `(C, C)`, row = true class, column = predicted class.
        class_names: list of C str.
        path: str. Output PNG path.
        title: str. Figure title. Defaults to "Confusion matrix".
    """
    counts = np.asarray(counts)
    rows = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(rows, 1)
    size = max(4.0, 0.7 * len(class_names) + 2.5)
    figure, axes = new_figure((size + 1.0, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true class")
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    font = 9 if len(class_names) <= 8 else 7
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            colour = "white" if shares[i, j] > 0.55 else "black"
            axes.text(j, i, f"{counts[i, j]}\n{100 * shares[i, j]:.0f}%", ha="center",
                      va="center", color=colour, fontsize=font)
    return _save(figure, path)


def plot_per_class_recall(recalls, class_names, path, unweighted_average_recall=None,
                          errors=None, title="Per-class recall"):
    """Bars of per-class recall with the UAR and chance levels as horizontal lines.

    Args:
        recalls: float array `(C,)` (NaN for classes absent from the split, drawn as "n/a").
        class_names: list of C str.
        path: str. Output PNG path.
        unweighted_average_recall: float or None. Drawn as a dashed line. Defaults to None.
        errors: float array `(C,)` or None. Error bars (e.g. standard errors over runs).
            Defaults to None.
        title: str. Defaults to "Per-class recall".
    """
    recalls = np.asarray(recalls, dtype=np.float64)
    positions = np.arange(len(class_names))
    figure, axes = new_figure((max(5.0, 0.8 * len(class_names) + 2.0), 4.0))
    heights = np.nan_to_num(recalls, nan=0.0)
    yerr = None if errors is None else np.nan_to_num(np.asarray(errors, dtype=np.float64))
    axes.bar(positions, heights, color="tab:blue", yerr=yerr, capsize=3 if yerr is not None else 0)
    above = heights + (0.0 if yerr is None else yerr)  # labels clear of the error bars
    for x, value, top in zip(positions, recalls, above):
        label = "n/a" if np.isnan(value) else f"{100 * value:.0f}%"
        axes.text(x, top + 0.02, label, ha="center", fontsize=8)
    axes.axhline(1.0 / len(class_names), color="grey", linestyle=":", label="chance")
    if unweighted_average_recall is not None:
        axes.axhline(unweighted_average_recall, color="tab:red", linestyle="--",
                     label=f"UAR {100 * unweighted_average_recall:.1f}%")
    axes.set_xticks(positions, class_names, rotation=45, ha="right")
    axes.set_ylim(0.0, 1.15)
    axes.set_ylabel("recall")
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize=8)
    return _save(figure, path)


def plot_roc_curve(fpr, tpr, path, auc=None, equal_error_rate=None, title="ROC curve"):
    """ROC curve with the chance diagonal and the equal-error point.

    Args:
        fpr: float array. False-positive rates.
        tpr: float array. True-positive rates.
        path: str. Output PNG path.
        auc: float or None. Shown in the legend. Defaults to None.
        equal_error_rate: float or None. Marks the point (EER, 1 − EER). Defaults to None.
        title: str. Defaults to "ROC curve".
    """
    figure, axes = new_figure((4.8, 4.5))
    label = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    axes.plot(fpr, tpr, color="tab:blue", linewidth=2, label=label)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.plot([0, 1], [1, 0], color="lightgrey", linestyle="--", linewidth=0.8)
    if equal_error_rate is not None:
        accuracy = 100 * (1 - equal_error_rate)
        axes.plot([equal_error_rate], [1 - equal_error_rate], "o", color="tab:red",
                  label=f"EER {100 * equal_error_rate:.1f}% (acc. {accuracy:.1f}%)")
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)
    axes.set_xlabel("false-positive rate")
    axes.set_ylabel("true-positive rate")
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)
