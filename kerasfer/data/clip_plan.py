"""`ClipPlan`: the start frame of each video's training clip for the coming epoch."""

from __future__ import annotations

import numpy as np

from kerasfer.errors import ConfigError

RANDOM_START = -1


class ClipPlan:
    """One clip start per training video, read by `training_dataset` as it iterates.

    Thesis Ch. 3 (Algorithm 3.1): each epoch the sampler picks one start position per
    video — uniform (warm-up), evenly spaced (exploration) or softmax(γ_s · w) over the
    score table (exploitation, Eq. 3.8) — and the pipeline extracts the clip of F frames
    from there. The plan lives in a `tf.Variable`, so a callback that calls `assign` in
    `on_epoch_begin` sets that epoch's clips: Keras creates the dataset iterator after
    `on_epoch_begin`, and the pipeline reads the variable while it iterates.

    A start is clipped into `[0, max(L − span, 0)]` where `span = (F − 1) · stride + 1`;
    `-1` (`RANDOM_START`) means a uniform random start, drawn from the pipeline's seed,
    the epoch and the video index.

    `epoch` counts the iterations started on the datasets reading this plan (it keys the
    random starts, augmentation and shuffling of each epoch; an iterator that a
    distribution strategy creates ahead and prefetches from counts too, so it may run
    ahead of Keras' epoch number); `set_epoch` restores it on resume.

    Args:
        num_videos: int. Number of training videos (length of the records list).

    Example:

    >>> plan = ClipPlan(num_videos=3)
    >>> plan.assign([0, 12, -1])
    >>> plan.numpy()
    array([ 0, 12, -1], dtype=int32)
    >>> plan.clear()  # uniform random starts
    """

    def __init__(self, num_videos):
        import tensorflow as tf

        if int(num_videos) < 1:
            raise ConfigError(None, "a clip plan needs at least one video",
                              f"select training records first. Received: num_videos={num_videos}")
        self.num_videos = int(num_videos)
        # init_scope: the plan is host state even when built inside a tf.function.
        with tf.init_scope(), tf.device("/cpu:0"):
            self.starts = tf.Variable(
                tf.fill([self.num_videos], tf.constant(RANDOM_START, tf.int32)),
                trainable=False, name="clip_plan_starts", dtype=tf.int32)
            self.epoch = tf.Variable(0, trainable=False, name="clip_plan_epoch",
                                     dtype=tf.int64)

    def assign(self, starts):
        """Sets the start frame of every video (`-1` = uniform random start)."""
        starts = np.asarray(starts)
        if starts.shape != (self.num_videos,):
            raise ConfigError(None, f"a clip plan has one start per video ({self.num_videos})",
                              f"pass an array of that length. Received: shape={starts.shape}")
        if starts.size and (not np.issubdtype(starts.dtype, np.integer)
                            or int(starts.min()) < RANDOM_START):
            raise ConfigError(None, "clip starts must be integers >= -1",
                              f"round the plan first. Received: starts.dtype={starts.dtype}, "
                              f"min={starts.min()}")
        self.starts.assign(starts.astype(np.int32))

    def clear(self):
        """Back to uniform random starts for every video."""
        self.assign(np.full([self.num_videos], RANDOM_START, np.int32))

    def numpy(self):
        """Returns the current plan as an int32 array."""
        return self.starts.numpy()

    def set_epoch(self, epoch):
        """Sets the epoch counter (e.g. when resuming training at `epoch`)."""
        self.epoch.assign(int(epoch))

    def next_epoch(self):
        """Increments the epoch counter; returns the epoch that starts (graph-safe)."""
        return self.epoch.assign_add(1) - 1

    def __repr__(self):
        return f"ClipPlan(num_videos={self.num_videos}, epoch={int(self.epoch.numpy())})"
