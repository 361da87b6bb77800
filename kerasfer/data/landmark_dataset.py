"""`landmark_dataset`: per-frame 68-landmark sequences for landmark models (LSTM-PB)."""

from __future__ import annotations

from kerasfer.data.clip_dataset import frame_strides
from kerasfer.data.evaluation_dataset import whole_video_fields
from kerasfer.data.selected_videos import check_records, selected_videos

LANDMARK_NORMALIZATIONS = ("crop", "face")


def normalize_landmarks(landmarks, crop_size, normalization="crop"):
    """Normalises `(frames, 68, 2)` landmarks given in crop pixels.

    `"crop"`: divide by the crop side, so coordinates are in [0, 1] of the aligned face
    (the alignment already removed translation, scale and roll). `"face"`: per frame,
    subtract the landmarks' centroid and divide by their RMS distance to it (zero mean,
    unit scale; the input normalisation of landmark-sequence models such as the LSTM-PB
    of Huynh & Kim (2017), which feeds the coordinates of tracked points).

    Args:
        landmarks: float32 tensor `(frames, 68, 2)`.
        crop_size: scalar tensor. Side of the crop in pixels.
        normalization: str. `"crop"` or `"face"`. Defaults to `"crop"`.

    Returns:
        float32 tensor `(frames, 68, 2)`.
    """
    import tensorflow as tf

    if normalization not in LANDMARK_NORMALIZATIONS:
        raise ValueError(f"`normalization` must be one of {LANDMARK_NORMALIZATIONS}. "
                         f"Received: normalization={normalization!r}")
    landmarks = tf.cast(landmarks, tf.float32)
    if normalization == "crop":
        return landmarks / tf.maximum(tf.cast(crop_size, tf.float32), 1.0)
    centred = landmarks - tf.reduce_mean(landmarks, axis=1, keepdims=True)
    scale = tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(centred), -1), -1))
    return centred / tf.maximum(scale, 1e-6)[:, None, None]


def landmark_dataset(index, records, normalization="crop", batch_size=1, max_frames=None,
                     frame_stride=1, target_fps=None, cache=None):
    """Whole landmark sequences, zero-padded in batches with a frame mask.

    Args:
        index: `DatasetIndex`.
        records: list of dict. Selected records; `video_index` = position here.
        normalization: str. See `normalize_landmarks`. Defaults to `"crop"`.
        batch_size: int. Videos per (padded) batch. Defaults to 1.
        max_frames: int or None. Keep at most this many frames. Defaults to None.
        frame_stride: int. Keep every `frame_stride`-th frame. Defaults to 1.
        target_fps: float or None. Per-video stride `round(fps / target_fps)` instead.
        cache: None, `"memory"` or a file prefix. Defaults to None.

    Returns:
        `tf.data.Dataset` of dicts: `landmarks` float32 `(batch, frames, 68, 2)`;
        `detected` float32 `(batch, frames)` (1 where the detector found the face);
        `mask` float32 `(batch, frames)`; `label`, `video_index`, `length` int32
        `(batch,)`; `frame_index` int32 `(batch, frames)`; `id` string `(batch,)`.

    Example:

    >>> batch = next(iter(landmark_dataset(index, records, batch_size=4)))
    >>> inputs = tf.reshape(batch["landmarks"], [4, -1, 136])
    """
    import tensorflow as tf

    records = check_records(index, records)
    normalize_landmarks(tf.zeros([1, 68, 2]), 1, normalization)
    if int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: "
                         f"batch_size={batch_size}")
    strides = tf.constant(frame_strides(records, frame_stride, target_fps), tf.int32)

    def load(example):
        indices, fields = whole_video_fields(example, strides, max_frames)
        landmarks = normalize_landmarks(tf.gather(example["landmarks"], indices),
                                        example["crop_size"], normalization)
        return {
            "landmarks": landmarks,
            "detected": tf.cast(tf.gather(example["detected"], indices), tf.float32),
            **fields,
        }

    dataset = selected_videos(index, records, cache=cache)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.padded_batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)
