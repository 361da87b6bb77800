"""`evaluation_dataset`: whole videos, deterministic, no augmentation."""

from __future__ import annotations

from kerasfer import schema
from kerasfer.data.augmentation import resize_frames
from kerasfer.data.clip_dataset import frame_strides
from kerasfer.data.normalization import check_normalization, normalize_frames
from kerasfer.data.selected_videos import check_records, selected_videos


def kept_frame_indices(length, frame_stride=1, max_frames=None):
    """Returns int32 `(frames,)` indices `0, s, 2s, …` below `length`, at most `max_frames`."""
    import tensorflow as tf

    indices = tf.range(0, tf.cast(length, tf.int32), tf.maximum(tf.cast(frame_stride, tf.int32), 1))
    if max_frames is not None:
        indices = indices[:max_frames]
    return indices


def whole_video_fields(example, strides, max_frames=None):
    """Returns `(indices, fields)`: the kept frames of a parsed video and its common fields.

    `indices` are `kept_frame_indices` with the video's stride (`strides[video_index]`);
    `fields` are the entries every whole-video dataset yields next to its frame data:
    `mask` (ones), `label`, `video_index`, `length`, `frame_index` and `id`.
    """
    import tensorflow as tf

    indices = kept_frame_indices(example["num_frames"],
                                 tf.gather(strides, example["video_index"]), max_frames)
    length = tf.shape(indices)[0]
    return indices, {
        "mask": tf.ones([length], tf.float32),
        "label": tf.cast(example["label"], tf.int32),
        "video_index": example["video_index"],
        "length": length,
        "frame_index": indices,
        "id": example["id"],
    }


def evaluation_dataset(index, records, normalization="imagenet", image_size=112,
                       grayscale=False, batch_size=1, max_frames=None, frame_stride=1,
                       target_fps=None, cache=None, num_parallel_calls=None):
    """Whole videos for inference: thesis 2.2.3.3, one fully-convolutional pass per video.

    Every frame is decoded, resized to `image_size` (bilinear, antialiased: the same
    resize as the training pipeline's `clean_clip`) and normalised; nothing is random.
    Videos come in shard order; `video_index` is the position in `records`.

    Args:
        index: `DatasetIndex`.
        records: list of dict. Records to evaluate.
        normalization: str or (mean, std). See `normalize_frames`. Defaults to "imagenet".
        image_size: int. Output side. Defaults to 112.
        grayscale: bool. Decode to one channel. Defaults to False.
        batch_size: int. 1 = one video per batch; more = zero-padded batches whose `mask`
            marks the real frames. Defaults to 1.
        max_frames: int or None. Keep at most this many frames per video. Defaults to None.
        frame_stride: int. Keep every `frame_stride`-th frame. Defaults to 1.
        target_fps: float or None. Per-video stride `round(fps / target_fps)` instead.
        cache: None, `"memory"` or a file prefix: cache the parsed videos. Defaults to None.
        num_parallel_calls: int or None. Parallel decoding; AUTOTUNE when None.

    Returns:
        `tf.data.Dataset` of dicts: `video` float32 `(batch, frames, image_size,
        image_size, channels)`; `mask` float32 `(batch, frames)` (1 = real frame);
        `label`, `video_index`, `length` int32 `(batch,)` (`length` = real frames);
        `frame_index` int32 `(batch, frames)`; `id` string `(batch,)`.

    Example:

    >>> for batch in evaluation_dataset(index, index.select(split="test")):
    ...     logits = model(batch["video"])
    """
    import tensorflow as tf

    records = check_records(index, records)
    check_normalization(normalization)
    if int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: "
                         f"batch_size={batch_size}")
    if max_frames is not None and int(max_frames) < 1:
        raise ValueError(f"`max_frames` must be a positive integer or None. Received: "
                         f"max_frames={max_frames}")
    strides = tf.constant(frame_strides(records, frame_stride, target_fps), tf.int32)
    parallel = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
    channels = 1 if grayscale else 3

    def load_video(example):
        indices, fields = whole_video_fields(example, strides, max_frames)
        frames = schema.decode_frames(tf.gather(example["jpeg"], indices), channels)
        frames = resize_frames(frames, image_size)
        return {"video": normalize_frames(frames, normalization), **fields}

    dataset = selected_videos(index, records, cache=cache, num_parallel_calls=parallel)
    dataset = dataset.map(load_video, num_parallel_calls=parallel, deterministic=True)
    dataset = dataset.padded_batch(int(batch_size))
    return dataset.prefetch(tf.data.AUTOTUNE)
