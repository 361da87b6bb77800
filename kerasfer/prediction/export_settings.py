"""Reads what a predictor needs from a kerasfer SavedModel export, with builder defaults.

`kerasfer.export` writes `assets/kerasfer_export.json` next to the SavedModel: the model's
preprocessing (`image_size`, `grayscale`, `normalization`), the thesis' inference settings
(clip length F, pooling inverse temperature γ_p of Ayral (2021) thesis, Eq. 3.3), the class
names and, in `face_pipeline`, the `tfrecords_builder` settings the training faces were
made with (detector, detection size, upsampling, tracking, crop size, JPEG quality, frame
rate). A key an older export lacks falls back to the builder's defaults
(`tfrecords_builder.face_options.FaceOptions`), so a prediction crops faces exactly as
`python -m tfrecords_builder` would with no options.

`resolve_export_dir` also accepts a training run directory (`python -m kerasfer.fit`): its
`export/` subdirectory, exported on the fly when it is missing.

Example:

>>> settings = load_export_settings("runs/cpu_tiny/export")
>>> settings["class_names"], face_options(settings).crop_size
(['Happy', 'Sad', 'Surprise'], 112)
"""

from __future__ import annotations

import dataclasses
import json
import os

from kerasfer.errors import KerasferError

EXPORT_SETTINGS_FILENAME = "kerasfer_export.json"
CLASS_NAMES_FILENAME = "class_names.txt"

# What a pre-metadata export implies: the defaults of `kerasfer.export_saved_model`.
DEFAULT_SETTINGS = {"short_video": "loop", "temporal_output": None}


class ExportError(KerasferError):
    """The --model path is not a kerasfer export (or a run that can be exported)."""

    kind = "model"


def _is_export(path):
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def resolve_export_dir(path, export_missing=True):
    """Returns the SavedModel directory for an export or a training run directory.

    Args:
        path: str. A kerasfer export (holds `saved_model.pb`), or a run directory written
            by `python -m kerasfer.fit` (holds `config.yaml`): its `export/` is used.
        export_missing: bool. Export a run's best model into `RUN/export` when it has none
            (`python -m kerasfer.export --run RUN`). Defaults to True.

    Returns:
        str, the export directory.

    Raises:
        ExportError: the path is missing, or neither an export nor a run.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ExportError(path, "model not found", "pass a kerasfer export directory "
                          "(saved_model.pb) or a training run directory (config.yaml)")
    if _is_export(path):
        return path
    export_dir = os.path.join(path, "export")
    if _is_export(export_dir):
        return export_dir
    if os.path.isfile(os.path.join(path, "config.yaml")):
        if not export_missing:
            raise ExportError(path, "the run has no export/", "run `python -m kerasfer.export "
                              f"--run {path}` first")
        from kerasfer.export import export_run

        try:
            export_run(path, export_dir)
        except KerasferError as error:
            raise ExportError(error.path, f"exporting the run failed: {error.cause}",
                              error.fix) from error
        return export_dir
    raise ExportError(path, "neither a kerasfer export (no saved_model.pb) nor a training "
                      "run (no config.yaml)", "pass the export directory written by "
                      "`python -m kerasfer.export` or `python -m kerasfer.fit`")


def load_export_settings(export_dir):
    """Returns the export's settings dict, with defaults for keys an older export lacks.

    Args:
        export_dir: str. A kerasfer SavedModel export.

    Returns:
        dict with at least `class_names`, `image_size`, `grayscale`, `normalization`,
        `clip_length`, `pooling_temperature`, `short_video`, `temporal_output` and
        `face_pipeline` (a dict of `FaceOptions` fields).
    """
    path = os.path.join(export_dir, "assets", EXPORT_SETTINGS_FILENAME)
    if not os.path.isfile(path):
        raise ExportError(export_dir, f"no assets/{EXPORT_SETTINGS_FILENAME} (not a kerasfer "
                          "export)", "export the model with `python -m kerasfer.export`")
    with open(path, encoding="utf-8") as handle:
        settings = {**DEFAULT_SETTINGS, **json.load(handle)}
    if not settings.get("class_names"):
        names_path = os.path.join(export_dir, "assets", CLASS_NAMES_FILENAME)
        with open(names_path, encoding="utf-8") as handle:
            settings["class_names"] = [line.strip() for line in handle if line.strip()]
    missing = [key for key in ("image_size", "clip_length", "pooling_temperature")
               if key not in settings]
    if missing:
        raise ExportError(path, f"missing settings {missing}",
                          "re-export the model with this kerasfer version")
    settings["face_pipeline"] = dict(settings.get("face_pipeline") or {})
    return settings


def face_options(settings, **overrides):
    """Returns the builder's `FaceOptions` recorded in the export (builder defaults else).

    Args:
        settings: dict from `load_export_settings`.
        **overrides: `FaceOptions` fields to change (e.g. `detect_every=5`).

    Returns:
        `tfrecords_builder.face_options.FaceOptions`.
    """
    from tfrecords_builder.face_options import FaceOptions

    known = {field.name for field in dataclasses.fields(FaceOptions)}
    recorded = {key: value for key, value in settings.get("face_pipeline", {}).items()
                if key in known}
    if "crop_size" not in recorded and settings.get("crop_size"):
        recorded["crop_size"] = int(settings["crop_size"])
    recorded.update({key: value for key, value in overrides.items() if value is not None})
    return FaceOptions(**recorded)
