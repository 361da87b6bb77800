"""Which frames of a video form a training clip: clip extraction or temporal resize."""

from __future__ import annotations

SHORT_VIDEO_MODES = ("loop", "repeat_last")
DURATION_MODES = ("clip", "resize", "random_segments")

# Stateless-random sub-streams of one clip, so that each random decision has its own key.
START_STREAM = 1
AUGMENT_STREAM = 2


def clip_seed(seed, epoch, video_index):
    """Returns the int64 `(2,)` stateless seed of one clip: f(seed, epoch, video index).

    Same seed, epoch and video → same start and augmentation, whatever the order or the
    parallelism in which clips are produced.
    """
    import tensorflow as tf

    base = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_fold_in(base, tf.cast(video_index, tf.int64))


def sub_seed(seed, stream):
    """Returns an independent seed for one random decision (`stream`) of a clip."""
    import tensorflow as tf

    return tf.random.experimental.stateless_fold_in(seed, tf.cast(stream, tf.int64))


def clip_frame_indices(length, start, clip_length, frame_stride=1, short_video="loop",
                       duration="clip", seed=None):
    """Returns the frame indices of a training clip and its actual start.

    Clip extraction (thesis 2.2.3.3, Table 2.3 "Clip extraction"): frames
    `start, start + s, …, start + (F − 1) · s` with `s = frame_stride`; the start is clipped
    into `[0, max(L − span, 0)]`, `span = (F − 1) · s + 1`, and `start = -1` draws it
    uniformly from that range with `seed`. Videos shorter than the span loop back to frame 0
    (`"loop"`) or repeat their last frame (`"repeat_last"`).

    Temporal resize (Table 2.3 "Temporal resize", `duration="resize"`): the whole video is
    resampled to F frames at the centres of F equal segments, `⌊(k + ½) · L / F⌋`; the
    start is then 0 and the plan is not used.

    Random segments (`duration="random_segments"`, EmotiW spatial attention + temporal
    softmax pooling paper, Section 4.2: "16 random frames" of each video; the segment-based sampling of TSN, Wang et al. 2016): one frame drawn
    uniformly inside each of the F equal segments, `⌊(k + u_k) · L / F⌋`, `u_k ~ U[0, 1)`
    from `seed` — sorted, spread over the whole video, different every epoch. Without a
    seed it is the temporal resize above (the segment centres). The plan is not used.

    Args:
        length: int32 scalar tensor. Number of frames L of the video.
        start: int32 scalar tensor. Planned start, or -1 for a uniform random start.
        clip_length: int. Frames per clip F.
        frame_stride: int or int32 scalar tensor. Step s between clip frames. Defaults to 1.
        short_video: str. `"loop"` or `"repeat_last"`. Defaults to `"loop"`.
        duration: str. `"clip"`, `"resize"` or `"random_segments"`. Defaults to `"clip"`.
        seed: int64 `(2,)` tensor or None. Stateless seed for random starts.

    Returns:
        `(indices, start)`: int32 `(clip_length,)` frame indices into the video and the
        int32 scalar start actually used.

    Example:

    >>> clip_frame_indices(tf.constant(5), tf.constant(3), 4)[0].numpy()
    array([1, 2, 3, 4], dtype=int32)
    """
    import tensorflow as tf

    if short_video not in SHORT_VIDEO_MODES:
        raise ValueError(f"`short_video` must be one of {SHORT_VIDEO_MODES}. "
                         f"Received: short_video={short_video!r}")
    if duration not in DURATION_MODES:
        raise ValueError(f"`duration` must be one of {DURATION_MODES}. "
                         f"Received: duration={duration!r}")
    length = tf.maximum(tf.cast(length, tf.int32), 1)
    steps = tf.range(clip_length, dtype=tf.int32)
    if duration in ("resize", "random_segments"):
        if duration == "resize" or seed is None:
            offsets = tf.fill([clip_length], 0.5)
        else:
            offsets = tf.random.stateless_uniform([clip_length], sub_seed(seed, START_STREAM))
        positions = (tf.cast(steps, tf.float32) + offsets) * tf.cast(length, tf.float32)
        indices = tf.cast(tf.floor(positions / clip_length), tf.int32)
        return tf.clip_by_value(indices, 0, length - 1), tf.constant(0, tf.int32)

    frame_stride = tf.maximum(tf.cast(frame_stride, tf.int32), 1)
    span = (clip_length - 1) * frame_stride + 1
    max_start = tf.maximum(length - span, 0)
    start = tf.cast(start, tf.int32)
    if seed is None:
        random_start = tf.constant(0, tf.int32)
    else:
        random_start = tf.random.stateless_uniform(
            [], sub_seed(seed, START_STREAM), minval=0, maxval=max_start + 1, dtype=tf.int32)
    start = tf.where(start < 0, random_start, tf.minimum(start, max_start))
    offsets = start + steps * frame_stride
    if short_video == "loop":
        indices = offsets % length
    else:
        indices = tf.minimum(offsets, length - 1)
    return indices, start
