"""Writers of a `VideoPrediction`: per-frame CSV, JSON summary, PNG timeline.

Example:

>>> write_frame_csv(prediction, "out/clip.csv")
>>> write_summary_json(prediction, "out/clip.json", outputs={"csv": "out/clip.csv"})
>>> plot_timeline(prediction, "out/clip_timeline.png")
"""

from __future__ import annotations

import csv
import json
import math
import os


def _number(value, digits=6):
    value = float(value)
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def write_frame_csv(prediction, path):
    """Writes one row per decoded frame: index, time, face found, box, label, probabilities.

    Frames without a face have `face_found = 0` and empty box, label and probability cells.

    Args:
        prediction: `VideoPrediction`.
        path: str. The CSV file.
    """
    header = (["frame_index", "timestamp_seconds", "face_found", "detected",
               "box_x0", "box_y0", "box_x1", "box_y1", "predicted"]
              + [f"p_{name}" for name in prediction.class_names])
    labels = prediction.frame_labels()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in range(prediction.frames):
            writer.writerow(
                [int(prediction.frame_index[row]), _number(prediction.timestamps[row], 4),
                 int(prediction.face_found[row]), int(prediction.detected[row])]
                + [_number(v, 1) for v in prediction.boxes[row]]
                + [labels[row] or ""]
                + [_number(p) for p in prediction.frame_probabilities[row]])
    return path


def write_summary_json(prediction, path, outputs=None):
    """Writes `prediction.summary()` (plus the paths of the other outputs) as JSON."""
    payload = prediction.summary()
    if outputs:
        payload["outputs"] = {key: os.path.basename(value) for key, value in outputs.items()}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    return path


def plot_timeline(prediction, path):
    """Plots each class probability over time; frames without a face are shaded grey.

    Args:
        prediction: `VideoPrediction`.
        path: str. The PNG file.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.6))
    axis = figure.add_subplot(1, 1, 1)
    times = prediction.timestamps
    for index, name in enumerate(prediction.class_names):
        axis.plot(times, prediction.frame_probabilities[:, index], lw=1.4,
                  label=f"{name} ({prediction.probabilities[index]:.2f})")
    step = 1.0 / prediction.fps if prediction.fps else 0.0
    for time in times[~prediction.face_found]:
        axis.axvspan(time - step / 2, time + step / 2, color="0.85", lw=0)
    axis.set(xlabel="time (s)", ylabel="probability", ylim=(-0.02, 1.02),
             xlim=(float(times[0]), float(max(times[-1], times[0] + step))) if len(times)
             else None)
    missing = prediction.frames - prediction.frames_with_face
    axis.set_title(f"{prediction.name}: {prediction.label} (whole video); "
                   f"{prediction.frames_with_face}/{prediction.frames} frames with a face"
                   + (" (grey: no face)" if missing else ""), fontsize=10)
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                title="class (whole video)", title_fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path

