"""`training_dataset`: one augmented clip per training video per epoch, at planned starts."""

from __future__ import annotations

from kerasfer.data.clip_indices import clip_frame_indices, clip_seed
from kerasfer.data.clip_plan import ClipPlan
from kerasfer.data.fused_augmentation import augment_and_normalize, resize_and_normalize
from kerasfer.data.normalization import check_normalization
from kerasfer.data.selected_videos import check_records, selected_videos
from kerasfer.errors import ConfigError

# Mixes the user seed with the epoch for the shuffle op's (int64) seed.
_SHUFFLE_SEED_MULTIPLIER = 1_000_003


def _check_positive(name, value):
    if int(value) < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")


def frame_strides(records, frame_stride=1, target_fps=None):
    """Returns one frame stride per record: `frame_stride`, or `round(fps / target_fps)`
    when `target_fps` is given (e.g. SASE-FE's 100 fps → 25 fps is a stride of 4)."""
    if target_fps is None:
        _check_positive("frame_stride", frame_stride)
        return [int(frame_stride)] * len(records)
    if float(target_fps) <= 0:
        raise ValueError(f"`target_fps` must be > 0. Received: target_fps={target_fps}")
    return [max(1, int(round(float(record.get("fps") or 0.0) / float(target_fps))))
            for record in records]


def decode_clip_frames(jpeg, clip_length, channels):
    """Decodes the `(clip_length,)` JPEG strings of one clip to uint8 frames."""
    import tensorflow as tf

    # Unrolled: F independent decodes the runtime may run in parallel, no map_fn loop.
    # uint8 stays until after the warp, which shrinks the frames before the float math.
    return tf.stack([tf.io.decode_jpeg(jpeg[k], channels=channels)
                     for k in range(clip_length)])


def training_dataset(index, records, clip_length=16, batch_size=8, plan=None, augment=True,
                     normalization="imagenet", image_size=112, grayscale=False,
                     short_video="loop", duration="clip", frame_stride=1, target_fps=None,
                     seed=0, clean_copy=True, shuffle=True, drop_remainder=False,
                     shuffle_buffer=None, cache=None, augmentation=None,
                     num_parallel_calls=None):
    """Training clips from TFRecord shards: one clip per video per iteration (epoch).

    Each iteration of the dataset is one epoch: it increments `plan.epoch`, reads the
    selected videos, takes each video's clip start from `plan` (thesis Ch. 3, Algorithm
    3.1; `-1` = uniform random start), slices the clip's F JPEGs and decodes only those,
    then augments them identically for all frames (2.2.3.2) and normalises. A clean copy
    (the same decoded frames, resized and normalised, not augmented) is what the sampler's
    callback scores (Eq. 3.9). Randomness is stateless, keyed on `(seed, epoch,
    video_index)`: the same seed gives identical batches whatever the parallelism.

    Args:
        index: `DatasetIndex`.
        records: list of dict. Training records (`index.select(...)`).
        clip_length: int. Frames per clip F. Defaults to 16.
        batch_size: int. Clips per batch (the global batch under a distribution strategy).
            Defaults to 8.
        plan: `ClipPlan` or None. Start per video; None = uniform random starts.
        augment: bool. Apply `augment_clip`. Defaults to True.
        normalization: str or (mean, std). See `normalize_frames`. Defaults to "imagenet".
        image_size: int. Output side. Defaults to 112.
        grayscale: bool. Decode to one channel. Defaults to False.
        short_video: str. `"loop"` or `"repeat_last"` for videos shorter than the clip.
        duration: str. `"clip"` (extraction), `"resize"` (whole video resampled to F
            frames; Table 2.3) or `"random_segments"` (one random frame in each of F equal
            segments, new every epoch; the EmotiW spatial attention paper's "16 random frames"), see
            `clip_frame_indices`. Defaults to `"clip"`.
        frame_stride: int. Step between clip frames. Defaults to 1.
        target_fps: float or None. Per-video stride `round(fps / target_fps)` instead.
        seed: int. Seed of starts, augmentation and shuffling. Defaults to 0.
        clean_copy: bool. Also yield `clean_clip`. Defaults to True.
        shuffle: bool. Shuffle the clips of each epoch. Defaults to True.
        drop_remainder: bool. Drop the last partial batch. Defaults to False.
        shuffle_buffer: int or None. Defaults to all selected videos (a full shuffle;
            the buffer holds only the clips' JPEG bytes).
        cache: None, `"memory"`, `"snapshot:<dir>"` or a file prefix: cache the parsed
            videos (see `selected_videos`). Defaults to None.
        augmentation: dict or None. Keyword arguments of `augment_clip` (e.g.
            `{"crop_fraction": 0.8}`). Applied with `augment_and_normalize` (one XLA
            kernel, the same result).
        num_parallel_calls: int or None. Parallel decoding; AUTOTUNE when None.

    Returns:
        `tf.data.Dataset` of dicts: `clip` float32 `(batch, clip_length, image_size,
        image_size, channels)` augmented and normalised; `clean_clip` (same shape, when
        `clean_copy`); `label`, `video_index`, `start`, `length` int32 `(batch,)`;
        `frame_index` int32 `(batch, clip_length)` (frames taken from the video) and
        `timestamp` float32 `(batch, clip_length)`. The dataset keeps its plan as
        `dataset.clip_plan`.

    Example:

    >>> index = DatasetIndex.load("out/")
    >>> records = index.select(split="train")
    >>> plan = ClipPlan(num_videos=len(records))
    >>> dataset = training_dataset(index, records, plan=plan, batch_size=8)
    >>> fit_inputs = dataset.map(lambda batch: (batch["clip"], batch["label"]))
    """
    import tensorflow as tf

    records = check_records(index, records)
    for name, value in (("clip_length", clip_length), ("batch_size", batch_size),
                        ("image_size", image_size)):
        _check_positive(name, value)
    check_normalization(normalization)
    if plan is None:
        plan = ClipPlan(len(records))
    if plan.num_videos != len(records):
        raise ConfigError(None, f"the clip plan has {plan.num_videos} videos but "
                          f"{len(records)} records are selected",
                          "build ClipPlan(num_videos=len(records)) for this records list")
    augmentation = dict(augmentation or {})
    # Validate here, not at the first batch.
    clip_frame_indices(tf.constant(1), tf.constant(0), 1, 1, short_video, duration)
    strides = tf.constant(frame_strides(records, frame_stride, target_fps), tf.int32)
    parallel = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
    channels = 1 if grayscale else 3
    buffer = len(records) if shuffle_buffer is None else int(shuffle_buffer)
    videos = selected_videos(index, records, cache=cache, num_parallel_calls=parallel)

    def select_clip(example, epoch):
        video_index = example["video_index"]
        key = clip_seed(seed, epoch, video_index)
        indices, start = clip_frame_indices(
            example["num_frames"], tf.gather(plan.starts, video_index), clip_length,
            tf.gather(strides, video_index), short_video, duration, key)
        return {
            "jpeg": tf.gather(example["jpeg"], indices),
            "frame_index": indices,
            "timestamp": tf.gather(example["timestamp"], indices),
            "label": tf.cast(example["label"], tf.int32),
            "video_index": video_index,
            "start": start,
            "length": tf.cast(example["num_frames"], tf.int32),
            "seed": key,
        }

    def epoch_clips(epoch):
        clips = videos.map(lambda example: select_clip(example, epoch),
                           num_parallel_calls=parallel, deterministic=True)
        if shuffle and buffer > 1:
            clips = clips.shuffle(buffer, seed=seed * _SHUFFLE_SEED_MULTIPLIER + epoch,
                                  reshuffle_each_iteration=False)
        return clips

    def decode_and_augment(clip):
        output = {key: clip[key] for key in
                  ("label", "video_index", "start", "length", "frame_index", "timestamp")}
        frames = decode_clip_frames(clip["jpeg"], clip_length, channels)
        if clean_copy or not augment:
            # = normalize_frames(resize_frames(...)), the evaluation preprocessing.
            clean = resize_and_normalize(frames, image_size, normalization)
        if augment:
            # = normalize_frames(augment_clip(...)), as one XLA kernel (~3x faster on CPU).
            output["clip"] = augment_and_normalize(frames, clip["seed"], image_size,
                                                   normalization, **augmentation)
        else:
            output["clip"] = clean
        if clean_copy:
            output["clean_clip"] = clean
        return output

    dataset = tf.data.Dataset.range(1).map(lambda _: plan.next_epoch())
    dataset = dataset.flat_map(epoch_clips)
    # Known length: Keras sizes epochs from it (and fails loudly if a shard lost a video).
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(records)))
    dataset = dataset.map(decode_and_augment, num_parallel_calls=parallel, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    # Parallelism comes from the parallel map (one clip per call); letting each warp or
    # decode also fan out over the intra-op pool only adds contention.
    options.threading.max_intra_op_parallelism = 1
    dataset = dataset.with_options(options)
    dataset.clip_plan = plan
    return dataset
