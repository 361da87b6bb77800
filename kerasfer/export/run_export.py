"""`export_run`: a training run's best model → SavedModel, with every setting a predictor needs.

Reads `RUN/config.yaml`, `RUN/best_model.keras` and the run's dataset (class names, crop
size, the builder's face options) and calls `export_saved_model`; the settings are written
to `assets/kerasfer_export.json` (schema in `kerasfer.export.saved_model_export`). Every
failure raises `ExportError` (a `kerasfer.errors.KerasferError`), one line naming the file,
the cause and the fix, so `python -m kerasfer.fit` can call it and fail when it fails.

Example:

>>> export_run("runs/cpu_tiny")                    # → "runs/cpu_tiny/export"
'runs/cpu_tiny/export'
"""

from __future__ import annotations

import os

from kerasfer.errors import KerasferError
from kerasfer.export.export_directory import ExportDirectory
from kerasfer.export.export_error import ExportError
from kerasfer.export.face_pipeline import face_pipeline_settings
from kerasfer.export.saved_model_export import export_saved_model

SYNTHETIC_PARAMETERS_FILENAME = "synthetic.json"  # kerasfer.data.synthetic's record


def export_run(run_dir, out_dir=None, pooling_temperature=None, data_dir=None):
    """Exports a run's best model as a SavedModel and returns the export directory.

    Args:
        run_dir: str. Directory written by `python -m kerasfer.fit` (config.yaml,
            best_model.keras, splits.json).
        out_dir: str or None. Export directory. Defaults to `RUN/export`.
        pooling_temperature: float or None. γ_p of Eq. 3.3. None takes the run config's
            `eval.pooling_temperature`. Defaults to None.
        data_dir: str or None. Dataset directory overriding the config's `data.dir` (read
            for the class names and the face options). Defaults to None.

    Returns:
        str, the export directory.

    Raises:
        ExportError: the run cannot be loaded or exported (missing files, a refused
            directory, an invalid setting, a write error).
    """
    from kerasfer.evaluate import load_run

    out_dir = out_dir or os.path.join(run_dir, "export")
    ExportDirectory(out_dir).check()  # a refused --out fails before the run is loaded
    try:
        run = load_run(run_dir, data_dir)
    except ExportError:
        raise
    except KerasferError as error:
        raise ExportError(error.path, error.cause, error.fix) from error
    except (OSError, ValueError) as error:  # e.g. a truncated best_model.keras
        raise ExportError(run_dir, f"cannot load the run ({type(error).__name__}: {error})",
                          "check the run directory was written by `python -m kerasfer.fit`"
                          ) from error
    config = run.config
    gamma = (config.eval.pooling_temperature if pooling_temperature is None
             else pooling_temperature)
    dataset_dir = run.index.data_dir
    synthetic = os.path.exists(os.path.join(dataset_dir, SYNTHETIC_PARAMETERS_FILENAME))
    model_name = getattr(config.model, "name", None)
    try:
        return export_saved_model(
            run.model, out_dir, normalization=config.data.normalization,
            image_size=config.data.image_size, grayscale=config.data.grayscale,
            clip_length=config.data.clip_length, pooling_temperature=gamma,
            class_names=run.class_names,
            short_video=getattr(config.data, "short_video", "loop"),
            # Probed on the trained model itself (as VideoScorer does): the registry's spec
            # describes a builder's defaults, which model.kwargs may change.
            temporal_output=getattr(run.model, "temporal_output", None),
            face_pipeline=face_pipeline_settings(dataset_dir, synthetic=synthetic),
            metadata={"model_name": model_name, "run": os.path.abspath(run_dir)})
    except ValueError as error:
        raise ExportError(os.path.join(run_dir, "config.yaml"), str(error),
                          "fix the setting (or pass --pooling-temperature)") from error
