"""Running estimates of clip scores per training video (thesis Section 3.2.3.2, Eq. 3.9).

For a video of `L` frames and clips of `F` frames there are `N = max(L − F + 1, 1)` clip
starts (thesis Eq. 3.7; shorter videos are padded to F frames, so they have one start). The
table keeps one float `w[t]` per start, initialised to 0. After the clip starting at `t`
obtains the target-class score `s`, Eq. 3.9 moves the neighbouring estimates towards `s`
with a triangular weight:

    w[t + i] += ((F − |i|) / F) · (s − w[t + i])      for |i| < F, t + i inside the table

so `w[t]` is replaced by `s` and starts F frames away are unchanged.

The table is plain NumPy (one flat array plus offsets) so it can be checkpointed with the
model weights and read by the tf.data pipeline's planner.

Example:

>>> table = ScoreTable([20, 40], clip_length=16)
>>> table.num_starts.tolist()
[5, 25]
>>> table.update(1, start=10, score=2.0)
>>> float(table.scores(1)[10]), float(table.scores(1)[12])
(2.0, 1.75)
"""

from __future__ import annotations

import numpy as np

from kerasfer.errors import KerasferError


class ScoreTable:
    """Per-video running clip scores `w` of temporal stochastic softmax (thesis Eq. 3.9).

    Args:
        lengths: sequence of int. Number of frames `L` of each training video, in the order
            of the training index (`video_index`).
        clip_length: int. Frames per training clip `F`. Defaults to 16.

    Shapes: `scores(v)` is `(N_v,)` with `N_v = max(L_v − F + 1, 1)`.
    """

    def __init__(self, lengths, clip_length=16):
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if clip_length < 1:
            raise ValueError(f"clip_length must be at least 1. Received: clip_length={clip_length}")
        if lengths.size and lengths.min() < 1:
            raise ValueError(f"Every video needs at least one frame. Received: lengths={lengths.tolist()}")
        self.lengths = lengths
        self.clip_length = int(clip_length)
        self.num_starts = np.maximum(lengths - self.clip_length + 1, 1)
        self.offsets = np.concatenate([[0], np.cumsum(self.num_starts)]).astype(np.int64)
        self.values = np.zeros(int(self.offsets[-1]), dtype=np.float64)
        # How often each start has been scored directly; used by the TensorBoard maps and to
        # tell explored from unexplored positions.
        self.visits = np.zeros(int(self.offsets[-1]), dtype=np.int64)

    @property
    def num_videos(self):
        return int(self.lengths.size)

    def scores(self, video_index):
        """Returns the (writable) view `w_x` of one video, shape `(N,)`."""
        self._check_index(video_index)
        return self.values[self.offsets[video_index]:self.offsets[video_index + 1]]

    def visit_counts(self, video_index):
        """Returns how often each start of one video was scored, shape `(N,)`."""
        self._check_index(video_index)
        return self.visits[self.offsets[video_index]:self.offsets[video_index + 1]]

    def _check_index(self, video_index):
        if not 0 <= int(video_index) < self.num_videos:
            raise IndexError(f"video_index out of range [0, {self.num_videos}). "
                             f"Received: video_index={video_index}")

    def update(self, video_index, start, score):
        """Applies Eq. 3.9 around `start` with the new score of that clip."""
        w = self.scores(video_index)
        n = w.shape[0]
        start = int(start)
        if not 0 <= start < n:
            raise IndexError(f"start out of range [0, {n}) for video {video_index}. "
                             f"Received: start={start}")
        f = self.clip_length
        low, high = max(start - f + 1, 0), min(start + f, n)
        offsets = np.arange(low, high) - start
        weight = (f - np.abs(offsets)) / f
        w[low:high] += weight * (float(score) - w[low:high])
        self.visit_counts(video_index)[start] += 1

    def overwrite(self, video_index, start, score, radius):
        """Sets `w[i] = score` for `|i − start| ≤ radius` (the author's exploration update)."""
        w = self.scores(video_index)
        n, start = w.shape[0], int(start)
        if not 0 <= start < n:
            raise IndexError(f"start out of range [0, {n}) for video {video_index}. "
                             f"Received: start={start}")
        if int(radius) < 0:
            raise ValueError(f"radius must be >= 0. Received: radius={radius}")
        w[max(start - int(radius), 0):min(start + int(radius) + 1, n)] = float(score)
        self.visit_counts(video_index)[start] += 1

    def update_many(self, video_indices, starts, scores):
        """Applies `update` for each (video, start, score), in increasing video order.

        The order makes the result independent of how the batch was split across devices.
        """
        video_indices = np.asarray(video_indices, np.int64).reshape(-1)
        starts = np.asarray(starts, np.int64).reshape(-1)
        scores = np.asarray(scores, np.float64).reshape(-1)
        if not video_indices.size == starts.size == scores.size:
            raise ValueError("video_indices, starts and scores must have the same length. "
                             f"Received: sizes={video_indices.size}, {starts.size}, {scores.size}")
        for i in np.argsort(video_indices, kind="stable"):
            self.update(video_indices[i], starts[i], scores[i])

    def get_state(self):
        """Returns the table as a dict of NumPy arrays (for `np.savez`)."""
        return {
            "lengths": self.lengths.copy(),
            "clip_length": np.asarray(self.clip_length, np.int64),
            "values": self.values.copy(),
            "visits": self.visits.copy(),
        }

    def set_state(self, state):
        """Restores a table saved by `get_state`; the video lengths must match."""
        lengths = np.asarray(state["lengths"], np.int64)
        clip_length = int(np.asarray(state["clip_length"]))
        if clip_length != self.clip_length or not np.array_equal(lengths, self.lengths):
            raise KerasferError("score table", "the saved score table was built for other videos "
                                f"or clip length (F={clip_length} vs {self.clip_length})",
                                "resume with the same data, split and data.clip_length, "
                                "or start a new run directory")
        self.values[:] = np.asarray(state["values"], np.float64)
        self.visits[:] = np.asarray(state["visits"], np.int64)

    @classmethod
    def from_state(cls, state):
        table = cls(np.asarray(state["lengths"]), int(np.asarray(state["clip_length"])))
        table.set_state(state)
        return table

    def save(self, path):
        """Writes the state to an `.npz` file."""
        with open(path, "wb") as handle:
            np.savez(handle, **self.get_state())

    @classmethod
    def load(cls, path):
        with np.load(path) as data:
            return cls.from_state({k: data[k] for k in data.files})
