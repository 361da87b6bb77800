"""The TFRecord schema of kerasfer: one `tf.train.SequenceExample` per video.

This module is the single source of truth for what `tfrecords_builder` writes and what
`kerasfer.data` reads. Bump `SCHEMA_VERSION` whenever a key or its meaning changes.

Context features (one value per video):

| key                       | dtype  | meaning                                             |
| ------------------------- | ------ | --------------------------------------------------- |
| `video/id`                | bytes  | unique id of the video inside a dataset             |
| `video/label`             | int64  | class index into `classes.json` (-1 if unlabelled)  |
| `video/label_name`        | bytes  | class name                                          |
| `video/subject`           | bytes  | subject (person) id, for subject-independent splits |
| `video/split`             | bytes  | split given by the dataset ("" if none)             |
| `video/fps`               | float  | frames per second of the kept frames                |
| `video/num_frames`        | int64  | frames kept (= length of every feature list)        |
| `video/num_source_frames` | int64  | frames decoded from the source                      |
| `video/crop_size`         | int64  | side of the square aligned face crop, in pixels     |
| `video/source_path`       | bytes  | path of the source video or frame folder            |
| `schema/version`          | int64  | `SCHEMA_VERSION` at writing time                    |
| `audio/egemaps`           | float × 88 | eGeMAPSv02 functionals of the audio track (zeros |
|                           |        | when absent; Fan et al. 2017, Section 4.2.1)        |
| `audio/present`           | int64  | 1 if `audio/egemaps` holds features, 0 if the video |
|                           |        | has no audio track or none were extracted           |

Feature lists (one entry per kept frame):

| key                | dtype        | meaning                                                 |
| ------------------ | ------------ | ------------------------------------------------------- |
| `frames/jpeg`      | bytes        | JPEG of the aligned RGB face crop                       |
| `frames/landmarks` | float × 136  | 68 (x, y) landmarks in crop pixel coordinates           |
| `frames/box`       | float × 4    | face box (x0, y0, x1, y1) in source-frame pixels        |
| `frames/timestamp` | float        | presentation time in seconds (real, also for VFR)       |
| `frames/detected`  | int64        | 1 if the detector found the face in this frame, 0 if    |
|                    |              | the box came from tracking or `--no-detect`             |
| `frames/label`     | float        | optional frame-level label (e.g. PSPI for UNBC)         |

A dataset directory holds the shards (`*.tfrecord`), `manifest.jsonl` (one JSON object per
video repeating the context, plus `frames_kept`, `frames_total` and `shard`),
`classes.json` (list of class names; index = label) and `failures.jsonl`.

Example:

>>> data = encode_video_example(video_id="v1", label=0, label_name="happy",
...     jpeg_frames=[jpeg_bytes], landmarks=np.zeros((1, 68, 2)),
...     boxes=np.zeros((1, 4)), timestamps=[0.0], detected=[True])
>>> parse_video_example(data)["num_frames"]
<tf.Tensor: shape=(), dtype=int64, numpy=1>
"""

from __future__ import annotations

import json
import os

import numpy as np

from kerasfer.atomic_write import atomic_writer
from kerasfer.errors import SchemaError

SCHEMA_VERSION = 1
NUM_LANDMARKS = 68

MANIFEST_FILENAME = "manifest.jsonl"
CLASSES_FILENAME = "classes.json"
FAILURES_FILENAME = "failures.jsonl"
# The builder's face-pipeline settings, written next to the shards so that export and
# predict run the same pipeline on a raw video: {"face_options": {detector, detect_every,
# detection_max_side, upsample, crop_size, jpeg_quality, keep_frames_without_face,
# frame_stride, target_fps, grayscale, landmarks_model, alignment, haar_backend},
# "written_by": "tfrecords_builder"} (`tfrecords_builder.face_options.settings_record`).
FACE_OPTIONS_FILENAME = "face_options.json"
SHARD_SUFFIX = ".tfrecord"

# Context keys.
ID = "video/id"
LABEL = "video/label"
LABEL_NAME = "video/label_name"
SUBJECT = "video/subject"
SPLIT = "video/split"
FPS = "video/fps"
NUM_FRAMES = "video/num_frames"
NUM_SOURCE_FRAMES = "video/num_source_frames"
CROP_SIZE = "video/crop_size"
SOURCE_PATH = "video/source_path"
VERSION = "schema/version"

# Feature-list keys.
JPEG = "frames/jpeg"
LANDMARKS = "frames/landmarks"
BOX = "frames/box"
TIMESTAMP = "frames/timestamp"
DETECTED = "frames/detected"
FRAME_LABEL = "frames/label"

# Optional audio context keys (absent in older files: parsed as zeros / not present).
AUDIO_EGEMAPS = "audio/egemaps"
AUDIO_PRESENT = "audio/present"
NUM_EGEMAPS = 88


def _tf():
    # Imported lazily so that `import kerasfer.schema` (e.g. in builder worker processes
    # that only need the key names) does not pay TensorFlow's start-up cost.
    import tensorflow as tf

    return tf


def context_spec():
    """Returns the `tf.io.parse_single_sequence_example` context spec."""
    tf = _tf()
    return {
        ID: tf.io.FixedLenFeature([], tf.string),
        LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
        LABEL_NAME: tf.io.FixedLenFeature([], tf.string, default_value=""),
        SUBJECT: tf.io.FixedLenFeature([], tf.string, default_value=""),
        SPLIT: tf.io.FixedLenFeature([], tf.string, default_value=""),
        FPS: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
        NUM_FRAMES: tf.io.FixedLenFeature([], tf.int64),
        NUM_SOURCE_FRAMES: tf.io.FixedLenFeature([], tf.int64, default_value=0),
        CROP_SIZE: tf.io.FixedLenFeature([], tf.int64),
        SOURCE_PATH: tf.io.FixedLenFeature([], tf.string, default_value=""),
        VERSION: tf.io.FixedLenFeature([], tf.int64),
        AUDIO_EGEMAPS: tf.io.FixedLenFeature([NUM_EGEMAPS], tf.float32,
                                             default_value=[0.0] * NUM_EGEMAPS),
        AUDIO_PRESENT: tf.io.FixedLenFeature([], tf.int64, default_value=0),
    }


def sequence_spec():
    """Returns the `tf.io.parse_single_sequence_example` feature-list spec."""
    tf = _tf()
    return {
        JPEG: tf.io.FixedLenSequenceFeature([], tf.string),
        LANDMARKS: tf.io.FixedLenSequenceFeature([NUM_LANDMARKS * 2], tf.float32),
        BOX: tf.io.FixedLenSequenceFeature([4], tf.float32),
        TIMESTAMP: tf.io.FixedLenSequenceFeature([], tf.float32),
        DETECTED: tf.io.FixedLenSequenceFeature([], tf.int64),
        FRAME_LABEL: tf.io.FixedLenSequenceFeature([], tf.float32, allow_missing=True),
    }


def encode_video_example(
    *,
    video_id,
    label,
    label_name,
    jpeg_frames,
    landmarks,
    boxes,
    timestamps,
    detected,
    crop_size=None,
    subject="",
    split="",
    fps=0.0,
    num_source_frames=None,
    source_path="",
    frame_labels=None,
    audio_egemaps=None,
):
    """Serialises one video to a `tf.train.SequenceExample` string.

    Args:
        video_id: str. Unique id of the video.
        label: int. Class index (-1 when unlabelled).
        label_name: str. Class name.
        jpeg_frames: list of bytes. One JPEG-encoded aligned face per kept frame.
        landmarks: array-like `(frames, 68, 2)`. Landmarks in crop pixel coordinates.
        boxes: array-like `(frames, 4)`. Face boxes (x0, y0, x1, y1) in the source frame.
        timestamps: array-like `(frames,)`. Presentation times in seconds.
        detected: array-like `(frames,)` of bool. Whether the detector ran and found the face.
        crop_size: int or None. Side of the crops; read from the first JPEG when None.
        subject: str. Subject id. Defaults to "".
        split: str. Dataset split. Defaults to "".
        fps: float. Frame rate of the kept frames. Defaults to 0.0 (unknown).
        num_source_frames: int or None. Frames decoded from the source; defaults to the
            number of kept frames.
        source_path: str. Source video path. Defaults to "".
        frame_labels: array-like `(frames,)` or None. Optional frame-level labels.
        audio_egemaps: array-like `(88,)` or None. eGeMAPS functionals of the audio track;
            None writes no audio keys (read back as `audio_present = 0`). Defaults to None.

    Returns:
        bytes, the serialised SequenceExample (deterministic: equal inputs give equal bytes).
    """
    tf = _tf()
    num_frames = len(jpeg_frames)
    landmarks = np.asarray(landmarks, np.float32).reshape(num_frames, NUM_LANDMARKS * 2)
    boxes = np.asarray(boxes, np.float32).reshape(num_frames, 4)
    timestamps = np.asarray(timestamps, np.float32).reshape(num_frames)
    detected = np.asarray(detected, np.int64).reshape(num_frames)
    if num_frames == 0:
        raise SchemaError(source_path or video_id, "a video needs at least one kept frame",
                          "drop videos with no frames before writing them")
    if crop_size is None:
        crop_size = int(tf.io.extract_jpeg_shape(jpeg_frames[0])[0])

    def _bytes(value):
        value = value.encode() if isinstance(value, str) else value
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def _int(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def _float(value):
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))

    context = tf.train.Features(feature={
        ID: _bytes(str(video_id)),
        LABEL: _int(label),
        LABEL_NAME: _bytes(str(label_name)),
        SUBJECT: _bytes(str(subject)),
        SPLIT: _bytes(str(split)),
        FPS: _float(fps),
        NUM_FRAMES: _int(num_frames),
        NUM_SOURCE_FRAMES: _int(num_frames if num_source_frames is None else num_source_frames),
        CROP_SIZE: _int(crop_size),
        SOURCE_PATH: _bytes(str(source_path)),
        VERSION: _int(SCHEMA_VERSION),
    })
    if audio_egemaps is not None:
        audio_egemaps = np.asarray(audio_egemaps, np.float32).reshape(NUM_EGEMAPS)
        context.feature[AUDIO_EGEMAPS].float_list.value.extend(audio_egemaps.tolist())
        context.feature[AUDIO_PRESENT].int64_list.value.append(1)
    lists = {
        JPEG: [_bytes(j) for j in jpeg_frames],
        LANDMARKS: [tf.train.Feature(float_list=tf.train.FloatList(value=row)) for row in landmarks],
        BOX: [tf.train.Feature(float_list=tf.train.FloatList(value=row)) for row in boxes],
        TIMESTAMP: [_float(t) for t in timestamps],
        DETECTED: [_int(d) for d in detected],
    }
    if frame_labels is not None:
        frame_labels = np.asarray(frame_labels, np.float32).reshape(num_frames)
        lists[FRAME_LABEL] = [_float(v) for v in frame_labels]
    feature_lists = tf.train.FeatureLists(feature_list={
        key: tf.train.FeatureList(feature=value) for key, value in lists.items()
    })
    example = tf.train.SequenceExample(context=context, feature_lists=feature_lists)
    # Deterministic: map entries (the feature keys) in sorted order, so the same video gives
    # the same bytes whatever the protobuf backend, PYTHONHASHSEED, runner or worker count.
    return example.SerializeToString(deterministic=True)


def parse_video_example(serialized):
    """Parses one serialised video; JPEGs are left encoded so a clip decodes only its frames.

    Works eagerly and inside `tf.data.Dataset.map`.

    Args:
        serialized: scalar string tensor, one SequenceExample.

    Returns:
        dict of tensors: `id`, `label_name`, `subject`, `split`, `source_path` (string
        scalars); `label`, `num_frames`, `num_source_frames`, `crop_size`,
        `schema_version` (int64 scalars); `fps` (float32 scalar); `jpeg` (string
        `(frames,)`); `landmarks` (float32 `(frames, 68, 2)`); `box` (float32
        `(frames, 4)`); `timestamp` (float32 `(frames,)`); `detected` (bool `(frames,)`);
        `frame_label` (float32 `(frames,)`, NaN when the video has no frame labels);
        `audio_egemaps` (float32 `(88,)`, zeros without audio); `audio_present` (bool scalar).
    """
    tf = _tf()
    context, lists = tf.io.parse_single_sequence_example(
        serialized, context_features=context_spec(), sequence_features=sequence_spec()
    )
    num_frames = tf.shape(lists[JPEG])[0]
    frame_label = lists[FRAME_LABEL]
    frame_label = tf.cond(
        tf.shape(frame_label)[0] == num_frames,
        lambda: frame_label,
        lambda: tf.fill([num_frames], tf.constant(float("nan"), tf.float32)),
    )
    return {
        "id": context[ID],
        "label": context[LABEL],
        "label_name": context[LABEL_NAME],
        "subject": context[SUBJECT],
        "split": context[SPLIT],
        "fps": context[FPS],
        "num_frames": context[NUM_FRAMES],
        "num_source_frames": context[NUM_SOURCE_FRAMES],
        "crop_size": context[CROP_SIZE],
        "source_path": context[SOURCE_PATH],
        "schema_version": context[VERSION],
        "jpeg": lists[JPEG],
        "landmarks": tf.reshape(lists[LANDMARKS], [-1, NUM_LANDMARKS, 2]),
        "box": lists[BOX],
        "timestamp": lists[TIMESTAMP],
        "detected": tf.cast(lists[DETECTED], tf.bool),
        "frame_label": frame_label,
        "audio_egemaps": context[AUDIO_EGEMAPS],
        "audio_present": tf.cast(context[AUDIO_PRESENT], tf.bool),
    }


def decode_frames(jpeg, channels=3):
    """Decodes a `(frames,)` string tensor of JPEGs to uint8 `(frames, H, W, channels)`."""
    tf = _tf()
    frames = tf.map_fn(
        lambda j: tf.io.decode_jpeg(j, channels=channels),
        jpeg,
        fn_output_signature=tf.TensorSpec([None, None, channels], tf.uint8),
    )
    return frames


def manifest_record(*, video_id, label, label_name, subject, split, frames_kept,
                    frames_total, shard, fps=0.0, crop_size=0, source_path="",
                    has_frame_labels=False):
    """Returns the manifest dict of one written video (one line of `manifest.jsonl`)."""
    return {
        "id": str(video_id),
        "label": int(label),
        "label_name": str(label_name),
        "subject": str(subject),
        "split": str(split),
        "frames_kept": int(frames_kept),
        "frames_total": int(frames_total),
        "shard": str(shard),
        "fps": float(fps),
        "crop_size": int(crop_size),
        "source_path": str(source_path),
        "has_frame_labels": bool(has_frame_labels),
        "schema_version": SCHEMA_VERSION,
    }


def read_manifest(directory):
    """Reads `manifest.jsonl` of a dataset directory; returns a list of dicts in file order."""
    path = os.path.join(directory, MANIFEST_FILENAME)
    if not os.path.exists(path):
        raise SchemaError(path, "no manifest found",
                          "point to a directory written by `python -m tfrecords_builder`")
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SchemaError(f"{path}:{line_number}", f"invalid JSON ({exc.msg})",
                                  "delete the line and rerun the builder to rewrite it") from exc
    for record in records:
        if record.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise SchemaError(path, f"schema version {record.get('schema_version')} != "
                              f"{SCHEMA_VERSION}", "rebuild the dataset with this kerasfer")
    return records


def read_classes(directory):
    """Reads `classes.json` (list of class names, index = label) of a dataset directory."""
    path = os.path.join(directory, CLASSES_FILENAME)
    if not os.path.exists(path):
        raise SchemaError(path, "no class list found",
                          "point to a directory written by `python -m tfrecords_builder`")
    with open(path, encoding="utf-8") as handle:
        return list(json.load(handle))


def write_json_atomic(path, payload):
    """Writes JSON to `path` through a temporary file and an atomic rename.

    See `kerasfer.atomic_write`: the temporary file (`<path>.tmp-<pid>` unless something
    already stands there) is created with `O_EXCL | O_NOFOLLOW`, so a link planted there is
    never written through, and removed if writing fails; `os.replace` replaces `path`
    itself, never a link's target.
    """
    with atomic_writer(path) as handle:
        json.dump(payload, handle, indent=1)
