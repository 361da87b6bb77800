"""SavedModel export: aligned-face uint8 videos in, class probabilities and frame scores out.

`export_saved_model(model, out_dir, ...)` writes a TensorFlow SavedModel whose
`serving_default` signature takes `videos`, uint8 `[batch, frames, height, width, 3]` of any
number of frames ≥ 1 and any size, preprocesses them inside the graph as
`kerasfer.data.evaluation_dataset` does (see `ServingModule`) and runs the one whole-video
inference model, `kerasfer.evaluation.VideoInferenceModel` — the same one `VideoScorer`
evaluates with (Ayral (2021) master's thesis, Section 3.3.1.3: temporal max within every
window of F frames, stride 1, then softmax pooling across windows with γ_p, Eq. 3.3). It
returns float32:

* `probabilities` `(batch, classes)`: softmax of the pooled video logits;
* `logits` `(batch, classes)`: the pooled video logits (Eq. 3.3);
* `frame_scores` `(batch, frames, classes)`: per-frame logits; for strided and clip-level
  models, those of the F-frame window centred on each frame;
* `window_scores` `(batch, max(frames, F) − F + 1, classes)`: one row per window.

A video shorter than F frames is padded as in training (looped, or its last frame repeated).
Loading needs TensorFlow only, not kerasfer. Bad input: another dtype is rejected by the
signature ("... was expected to be a uint8 tensor but is a float tensor"); a wrong rank,
channel count, an empty batch, a video with 0 frames or empty frames fails with an
`InvalidArgumentError` carrying `SERVING_ERROR` ("kerasfer serving: `videos` must be uint8
[batch >= 1, frames >= 1, ...]"). The signature's TensorSpec has an open rank because
signature functions do not check shapes and a static rank would let TensorFlow fold the
rank check away (`saved_model_cli show` lists DT_UINT8, unknown_rank).

Files: the SavedModel (`saved_model.pb`, `fingerprint.pb`, `variables/`), `assets/
class_names.txt` (one class name a line; also the string variable `class_names`),
`assets/kerasfer_export.json` (below) and the export marker `kerasfer_export_marker.json`
listing every file the export wrote: a later export into the same directory deletes only
those (`ExportDirectory`).

`assets/kerasfer_export.json` holds everything a predictor needs, so a user never repeats
a training setting:

| key                   | type            | meaning                                             |
| --------------------- | --------------- | --------------------------------------------------- |
| `format_version`      | int             | 2 (this table); bumped when a key changes meaning   |
| `class_names`         | list of str     | one per output class, in output order               |
| `image_size`          | int             | side of the square frames the model takes (px)      |
| `grayscale`           | bool            | the model takes one grey channel (ITU-R 601 luma)   |
| `normalization`       | str             | "imagenet", "minus_one_one" or "unit"               |
| `clip_length`         | int             | F, the training clip length (the window of Eq. 3.3) |
| `pooling_temperature` | float           | γ_p of Eq. 3.3 across windows                       |
| `temporal_output`     | str             | "dense", "strided" or "clip" (`TEMPORAL_OUTPUTS`)   |
| `short_video`         | str             | padding of videos shorter than F ("loop"/"repeat_last") |
| `window_batch_size`   | int             | windows per forward pass (strided / clip models)    |
| `model`               | str             | the Keras model's name                              |
| `model_name`          | str or null     | registry name (`kerasfer.models.get_model`) if known |
| `input`, `outputs`    | str / dict      | the serving signature, in words                     |
| `face_pipeline`       | dict or null    | the builder's settings (below); null when unknown   |
| `run`                 | str or null     | the training run directory exported, if any         |

`face_pipeline` (written by `export_run`; see `kerasfer.export.face_pipeline`): `recorded_by`
("dataset" when the dataset's `face_options.json` was read, else "builder defaults ..."),
the builder's `FaceOptions` fields `detector` ("hog", "cnn", "haar", "none"), `upsample`,
`detection_max_side`, `detect_every`, `crop_size` (px, also read from the manifest),
`jpeg_quality`, `keep_frames_without_face`, `frame_stride`, `target_fps`, plus
`landmarks_model` (str) and `alignment` (`method`, `points`, `template` as fractions of the
crop side, `weights`).

Example:

>>> export_saved_model(model, "exported/", normalization="imagenet", image_size=48,
...                    grayscale=False, clip_length=16, pooling_temperature=1.0,
...                    class_names=["happy", "sad"])
>>> serve = tf.saved_model.load("exported/").signatures["serving_default"]
>>> serve(videos=tf.zeros([1, 40, 48, 48, 3], tf.uint8))["probabilities"].shape
TensorShape([1, 2])
"""

from __future__ import annotations

import json
import math
import os

from kerasfer.export.export_directory import ExportDirectory
from kerasfer.export.export_error import ExportError

EXPORT_SETTINGS_FILENAME = "kerasfer_export.json"
CLASS_NAMES_FILENAME = "class_names.txt"
EXPORT_FORMAT_VERSION = 2


def _check_settings(model, normalization, image_size, clip_length, pooling_temperature,
                    class_names, window_batch_size, short_video):
    from kerasfer.data.normalization import check_normalization

    check_normalization(normalization)
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"The model outputs {outputs} classes but {len(class_names)} class "
                         f"names were given. Received: class_names={class_names}")
    gamma = pooling_temperature
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) \
            or not 0.0 <= float(gamma) < math.inf:
        raise ValueError("`pooling_temperature` must be finite and >= 0. "
                         f"Received: pooling_temperature={pooling_temperature}")
    for name, value in (("image_size", image_size), ("clip_length", clip_length),
                        ("window_batch_size", window_batch_size)):
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if short_video not in ("loop", "repeat_last"):
        raise ValueError("`short_video` must be 'loop' or 'repeat_last'. "
                         f"Received: short_video={short_video!r}")


def export_saved_model(model, out_dir, *, normalization, image_size, grayscale, clip_length,
                       pooling_temperature, class_names, frame_scores_layer="frame_scores",
                       window_batch_size=16, short_video="loop", temporal_output=None,
                       face_pipeline=None, metadata=None):
    """Writes a SavedModel serving whole aligned-face videos (see the module docstring).

    Args:
        model: `keras.Model`. Clips `(batch, frames, image_size, image_size, channels)` →
            logits `(batch, classes)`; with a `frame_scores` layer for one-pass inference.
        out_dir: str. Export directory: created, or updated in place if it holds an
            earlier kerasfer export (only the files its marker lists are replaced); a path
            that is a file or a symbolic link, or a non-empty directory without a marker,
            is refused with `ExportError` before any work.
        normalization: str. "imagenet", "minus_one_one" or "unit" (as in training).
        image_size: int. Side of the square frames the model takes.
        grayscale: bool. The model takes one grey channel.
        clip_length: int. F, the training clip length (window of the pooling).
        pooling_temperature: float. γ_p of Eq. 3.3 (finite, ≥ 0).
        class_names: list of str. One per output class.
        frame_scores_layer: str. Name of the per-frame score layer. Defaults to
            "frame_scores".
        window_batch_size: int. Windows per forward pass for strided and clip-level models.
            Defaults to 16.
        short_video: str. Padding of videos shorter than F: "loop" or "repeat_last", as in
            training (`kerasfer.data.clip_frame_indices`). Defaults to "loop".
        temporal_output: str or None. "dense", "strided" or "clip"; None detects it
            (`kerasfer.evaluation.VideoInferenceModel`). Defaults to None.
        face_pipeline: dict or None. The builder's face-pipeline settings recorded under
            `face_pipeline` (see `kerasfer.export.face_pipeline`). Defaults to None.
        metadata: dict or None. More keys for `kerasfer_export.json` (e.g. `run`,
            `model_name`). Defaults to None.

    Returns:
        str, `out_dir`.

    Raises:
        ExportError: the directory is refused or cannot be written.
        ValueError: an argument is invalid.
    """
    import tensorflow as tf

    from kerasfer.evaluation import VideoInferenceModel
    from kerasfer.export.serving_module import ServingModule

    class_names = [str(name) for name in class_names]
    _check_settings(model, normalization, image_size, clip_length, pooling_temperature,
                    class_names, window_batch_size, short_video)
    target = ExportDirectory(out_dir)
    target.check()  # refuse a file, a link or a foreign directory before any work
    channels = 1 if grayscale else 3
    inference = VideoInferenceModel(
        model, clip_length=int(clip_length), pooling_temperature=float(pooling_temperature),
        temporal_output=temporal_output, window_batch_size=int(window_batch_size),
        frame_scores_layer=frame_scores_layer, short_video=short_video,
        frame_shape=(int(image_size), int(image_size), channels))
    settings = {"format_version": EXPORT_FORMAT_VERSION, "class_names": class_names,
                "image_size": int(image_size), "grayscale": bool(grayscale),
                "normalization": normalization, "clip_length": int(clip_length),
                "pooling_temperature": float(pooling_temperature),
                "temporal_output": inference.temporal_output, "short_video": short_video,
                "window_batch_size": int(window_batch_size), "model": model.name,
                "model_name": None,
                "input": "videos: uint8 [batch, frames, height, width, 3] aligned faces",
                "outputs": {"probabilities": "(batch, classes)",
                            "logits": "(batch, classes) pooled with Eq. 3.3",
                            "frame_scores": "(batch, frames, classes) logits",
                            "window_scores": "(batch, windows, classes) logits"},
                "face_pipeline": face_pipeline, "run": None}
    settings.update(metadata or {})
    try:
        staging = target.staging_folder()
    except OSError as error:
        raise ExportError(out_dir, f"cannot create the export next to it ({error.strerror})",
                          "check the parent folder exists and is writable") from error
    try:
        # The assets are written in the staging folder's `assets/` themselves: the
        # SavedModel copies them there, so nothing is left behind elsewhere.
        assets = os.path.join(staging, ".assets_source")
        os.mkdir(assets)
        asset_paths = {"class_names": os.path.join(assets, CLASS_NAMES_FILENAME),
                       "settings": os.path.join(assets, EXPORT_SETTINGS_FILENAME)}
        with open(asset_paths["class_names"], "w", encoding="utf-8") as handle:
            handle.write("\n".join(class_names) + "\n")
        with open(asset_paths["settings"], "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
        module = ServingModule(inference, settings, asset_paths)
        saved = os.path.join(staging, "saved_model")
        tf.saved_model.save(module, saved, signatures={"serving_default": module.serve})
        target.install(saved)
    except OSError as error:
        raise ExportError(out_dir, f"cannot write the export ({error})",
                          "check free space and permissions; an earlier export is unchanged"
                          ) from error
    finally:
        ExportDirectory.discard(staging)
    return out_dir


def read_export_settings(export_dir):
    """Returns the dict of `export_dir/assets/kerasfer_export.json` (see the table above)."""
    path = os.path.join(export_dir, "assets", EXPORT_SETTINGS_FILENAME)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise ExportError(path, f"cannot read the export settings ({error})",
                          "pass the directory written by `python -m kerasfer.export`"
                          ) from error
