"""`write_indexed_frames_dataset`: a tiny dataset whose pixels say which frame they are.

For checking pipelines end to end: in video `v`, frame `k` is a flat colour with red =
green = `frame_level(k)` and blue = `video_level(v)`, so the mean of a decoded (even
resized) frame tells its frame index and video, up to JPEG rounding (±2 grey levels).
Landmarks are a fixed 68-point pattern shifted by `k` pixels to the right.
"""

from __future__ import annotations

import json
import os

import numpy as np

from kerasfer import schema


def frame_level(frame_index):
    """Red/green level of frame `k`: 8 + 8·(k mod 31), distinct for 31 consecutive frames."""
    return 8 + 8 * (np.asarray(frame_index) % 31)


def video_level(video_number):
    """Blue level of video `v`: 20 + 20·(v mod 12)."""
    return 20 + 20 * (np.asarray(video_number) % 12)


def landmark_pattern(crop_size):
    """The 68 base landmarks `(68, 2)` in crop pixels: a ring of points around the centre."""
    angles = np.linspace(0.0, 2.0 * np.pi, schema.NUM_LANDMARKS, endpoint=False)
    radius = 0.3 * crop_size
    centre = crop_size / 2.0
    return np.stack([centre + radius * np.cos(angles), centre + radius * np.sin(angles)], -1)


def write_indexed_frames_dataset(directory, lengths, crop_size=32, labels=None,
                                 classes=("neutral", "happy"), subjects=None, splits=None,
                                 fps=25.0, videos_per_shard=3, quality=95):
    """Writes shards, `manifest.jsonl` and `classes.json` of videos of the given lengths.

    Args:
        directory: str. Output dataset directory (created; a non-empty directory that this
            function did not write is refused with `SchemaError`, nothing deleted).
        lengths: list of int. Frames per video; video `v` gets id `video{v:03d}`.
        crop_size: int. Side of the square frames. Defaults to 32.
        labels: list of int or None. Class per video; `v mod len(classes)` when None.
        classes: sequence of str. Class names. Defaults to ("neutral", "happy").
        subjects: list of str or None. Subject per video; `s{v}` when None.
        splits: list of str or None. Split per video; "" when None.
        fps: float. Frame rate (timestamps are `k / fps`). Defaults to 25.0.
        videos_per_shard: int. Defaults to 3.
        quality: int. JPEG quality. Defaults to 95.

    Returns:
        list of dict, the manifest records written.

    Example:

    >>> write_indexed_frames_dataset("/tmp/ds", [20, 7, 33])[1]["frames_kept"]
    7
    """
    import tensorflow as tf

    from kerasfer.owned_directory import OwnedDirectory

    # Writes (and rewrites) shards, manifest and classes only in a directory it created or
    # found empty: a non-empty directory kerasfer did not write is refused (SchemaError).
    OwnedDirectory(directory, "kerasfer.data.indexed_frames", flag="output").claim()
    records = []
    writer, shard = None, None
    for number, length in enumerate(lengths):
        if number % videos_per_shard == 0:
            if writer is not None:
                writer.close()
            shard = f"part-{number // videos_per_shard:05d}{schema.SHARD_SUFFIX}"
            writer = tf.io.TFRecordWriter(os.path.join(directory, shard))
        label = number % len(classes) if labels is None else int(labels[number])
        jpegs = []
        for frame in range(length):
            pixels = np.empty([crop_size, crop_size, 3], np.uint8)
            pixels[..., :2] = frame_level(frame)
            pixels[..., 2] = video_level(number)
            jpegs.append(tf.io.encode_jpeg(pixels, quality=quality).numpy())
        landmarks = landmark_pattern(crop_size)[None] + np.arange(length)[:, None, None] * [1, 0]
        record = dict(
            video_id=f"video{number:03d}", label=label, label_name=classes[label],
            subject=f"s{number}" if subjects is None else subjects[number],
            split="" if splits is None else splits[number], fps=fps,
        )
        writer.write(schema.encode_video_example(
            jpeg_frames=jpegs, landmarks=landmarks, boxes=np.tile([0, 0, crop_size, crop_size],
                                                                  [length, 1]),
            timestamps=np.arange(length) / fps, detected=np.ones(length, bool),
            crop_size=crop_size, frame_labels=np.arange(length, dtype=np.float32), **record))
        records.append(schema.manifest_record(
            frames_kept=length, frames_total=length, shard=shard, crop_size=crop_size,
            has_frame_labels=True, **record))
    if writer is not None:
        writer.close()
    with open(os.path.join(directory, schema.MANIFEST_FILENAME), "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    schema.write_json_atomic(os.path.join(directory, schema.CLASSES_FILENAME), list(classes))
    return records
