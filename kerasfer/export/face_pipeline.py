"""The builder's face-pipeline settings of a dataset, as recorded in an export.

`kerasfer.predict` turns a raw video into the aligned faces the model was trained on with
`tfrecords_builder`'s own pipeline (decode → detect → track → 68 landmarks → similarity
alignment → square crop); it must use the same settings as the dataset. They are read from
the dataset directory's `face_options.json` (`dataclasses.asdict` of the builder's
`FaceOptions`) when the builder recorded it; otherwise the builder's defaults are written
and `"recorded_by"` says so. The crop size is also read from `manifest.jsonl` (every
record carries it).

Example:

>>> face_pipeline_settings("data/afew")["detector"]
'hog'
"""

from __future__ import annotations

import dataclasses
import json
import os

from kerasfer.export.export_error import ExportError

FACE_OPTIONS_FILENAME = "face_options.json"
LANDMARKS_MODEL = "dlib shape_predictor_68_face_landmarks.dat (face_recognition_models)"


def _builder_defaults():
    from tfrecords_builder.face_options import FaceOptions

    return dataclasses.asdict(FaceOptions())


def _alignment():
    from tfrecords_builder import alignment

    return {"method": "similarity transform (weighted Umeyama) of 5 landmark points onto "
                      "a template, then a square crop (tfrecords_builder.alignment)",
            "points": ["left eye centre", "right eye centre", "nose tip",
                       "left mouth corner", "right mouth corner"],
            "template": [[round(float(v), 6) for v in point] for point in alignment.TEMPLATE],
            "template_units": "fractions of the crop side",
            "weights": [float(w) for w in alignment.ALIGNMENT_WEIGHTS]}


def recorded_face_options(data_dir):
    """Returns the `FaceOptions` dict the builder recorded in `data_dir`, or None."""
    if not data_dir:
        return None
    path = os.path.join(data_dir, FACE_OPTIONS_FILENAME)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            recorded = json.load(handle)
        if not isinstance(recorded, dict):
            raise ValueError(f"expected a JSON object, got {type(recorded).__name__}")
    except (OSError, ValueError) as error:
        raise ExportError(path, f"unreadable face options ({error})",
                          "rebuild the dataset's face_options.json with tfrecords_builder"
                          ) from error
    return recorded.get("face_options", recorded)


def _manifest_crop_sizes(data_dir):
    from kerasfer import schema

    try:
        records = schema.read_manifest(data_dir)
    except Exception:  # noqa: BLE001 - the crop size is informative here; the run loaded
        return []
    return sorted({int(r["crop_size"]) for r in records if r.get("crop_size")})


def face_pipeline_settings(data_dir=None, synthetic=False):
    """Returns the export's `face_pipeline` dict (schema in `kerasfer.export`).

    Args:
        data_dir: str or None. The dataset directory the run trained on. Defaults to None.
        synthetic: bool. The run trained on kerasfer's synthetic videos (no face pipeline).
            Defaults to False.
    """
    settings = _builder_defaults()
    recorded = recorded_face_options(data_dir)
    if recorded:
        settings.update({k: v for k, v in recorded.items() if k in settings or
                         k in ("landmarks_model", "alignment")})
        recorded_by = "dataset"
    elif synthetic:
        recorded_by = "builder defaults (synthetic videos: no face pipeline was run)"
    else:
        recorded_by = (f"builder defaults (the dataset has no {FACE_OPTIONS_FILENAME})")
    crop_sizes = _manifest_crop_sizes(data_dir) if data_dir else []
    if len(crop_sizes) == 1:
        settings["crop_size"] = crop_sizes[0]
    settings.setdefault("landmarks_model", LANDMARKS_MODEL)
    settings.setdefault("alignment", _alignment())
    return {"recorded_by": recorded_by, **settings}
