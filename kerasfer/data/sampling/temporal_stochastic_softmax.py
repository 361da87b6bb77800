"""Temporal stochastic softmax clip sampler (thesis Ch. 3: Eq. 3.8, 3.9, Algorithm 3.1).

One clip start per training video per epoch, chosen by phase (thesis Section 3.2.4):

| epochs (0-based)                  | phase          | start of the clip of a video with N starts      | updates |
| --------------------------------- | -------------- | ----------------------------------------------- | ------- |
| `[0, warmup)`                     | warm-up        | uniform, `floor(u · N)`                         | no      |
| `[warmup, warmup + exploration)`  | exploration    | centre of segment k of E equal segments,        | yes     |
|                                   |                | `floor((2k + 1) · N / (2E))`, k = epoch − warmup |         |
| after                             | exploitation   | `t ~ softmax(γ_s · w_x)` (Eq. 3.8)              | yes     |

Updates are Eq. 3.9 on the `ScoreTable` with the target-class logit of the clean clip,
scored before the gradient step on it (thesis 3.2.3.2).

`exploration="author"` follows the thesis author's public code
(thayral/temporal-stochastic-softmax) instead of the segment centres above: exploration
epoch k of a video visits start `int((N − 1) · k / (E − 1))` (both ends included; the
middle start when E = 1), the order of the k is a random permutation drawn per video (so
the left and right sides of the videos are scored by equally trained models on average),
and an exploration score *overwrites* `w[i] = s` for `|i − t| ≤ ceil((N − E) / (E − 1) / 2)`
(a piecewise-constant table); Eq. 3.9 is used only when exploiting. The default
"segments" scheme keeps the same k for every video and blends with Eq. 3.9 from a zero
table; it stays the default because the sampler study (BENCHMARKS.md "Sampler study")
found no advantage for the author's scheme: the same exploitation hit rate, a lower
table–label correlation of its piecewise-constant tables, and 60.0 vs 64.7 % test accuracy
at γ_p = 0 on the same 3 seeds. With γ_s = 0 exploitation is
uniform sampling in the same machinery (Eq. 3.7); γ_s = inf takes the arg-max (ties split
uniformly). Each epoch draws one uniform number per video from a seeded NumPy generator
whose state is part of `get_state()`, so a resumed run plans the same clips.

Example:

>>> sampler = TemporalStochasticSoftmaxSampler([40, 20], clip_length=16,
...     sampling_temperature=1.0, warmup_epochs=3, exploration_epochs=5, seed=0)
>>> starts = sampler.plan(epoch=0)           # int32 (2,), uniform
>>> sampler.update([0, 1], starts, scores=[1.5, -0.2], epoch=0)   # ignored: warm-up
"""

from __future__ import annotations

import json

import numpy as np

from kerasfer.data.sampling.score_table import ScoreTable

WARMUP = "warmup"
EXPLORATION = "exploration"
EXPLOITATION = "exploitation"
EXPLORATIONS = ("segments", "author")


def author_exploration_starts(num_starts, k, exploration_epochs):
    """Starts `int((N − 1) · k / (E − 1))` of the author's exploration (both ends included).

    Args:
        num_starts: int array `(videos,)`. N of each video.
        k: int array `(videos,)`. Exploration index of each video in `[0, E)`.
        exploration_epochs: int. E; with E = 1 the middle start is used.
    """
    n = np.asarray(num_starts, np.int64)
    if exploration_epochs <= 1:
        return (n - 1) // 2
    return ((n - 1) * np.asarray(k, np.int64) // (exploration_epochs - 1)).astype(np.int64)


def author_exploration_radius(num_starts, exploration_epochs):
    """Half-width `ceil((N − E) / (E − 1) / 2)` (≥ 0) of the author's overwrite; N for E = 1."""
    n = np.asarray(num_starts, np.int64)
    if exploration_epochs <= 1:
        return n.copy()
    return np.maximum(np.ceil((n - exploration_epochs) / (exploration_epochs - 1) / 2), 0
                      ).astype(np.int64)


def softmax_probabilities(values, temperature):
    """Returns softmax(γ · values) (Eq. 3.8) as float64; γ = inf gives the arg-max."""
    values = np.asarray(values, np.float64)
    if np.isinf(temperature):
        best = values == values.max()
        return best / best.sum()
    logits = float(temperature) * values
    logits = logits - logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


class TemporalStochasticSoftmaxSampler:
    """Plans one clip start per video per epoch from running score estimates (Eq. 3.8).

    Args:
        lengths: sequence of int. Frames `L` of each training video, in `video_index` order.
        clip_length: int. Frames per clip `F`. Defaults to 16.
        sampling_temperature: float. Inverse temperature γ_s of Eq. 3.8; 0 is uniform,
            `inf` is arg-max. Defaults to 1.0 (thesis best on AFEW, Table 3.1).
        warmup_epochs: int. Uniform epochs without updates. Defaults to 3.
        exploration_epochs: int. Deterministic evenly spaced epochs. Defaults to 5.
        seed: int. Seed of the NumPy generator. Defaults to 0.
        exploration: str. "segments" (segment centres, same k for every video, Eq. 3.9
            updates) or "author" (ends included, k permuted per video, overwriting
            updates; see the module docstring). Defaults to "segments".
    """

    def __init__(self, lengths, clip_length=16, sampling_temperature=1.0, warmup_epochs=3,
                 exploration_epochs=5, seed=0, exploration="segments"):
        if sampling_temperature < 0:
            raise ValueError("sampling_temperature must be >= 0. "
                             f"Received: sampling_temperature={sampling_temperature}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0. Received: warmup_epochs={warmup_epochs}")
        if exploration_epochs < 0:
            raise ValueError("exploration_epochs must be >= 0. "
                             f"Received: exploration_epochs={exploration_epochs}")
        if exploration not in EXPLORATIONS:
            raise ValueError(f"exploration must be one of {EXPLORATIONS}. "
                             f"Received: exploration={exploration!r}")
        self.exploration = exploration
        self.table = ScoreTable(lengths, clip_length)
        self.clip_length = int(clip_length)
        self.sampling_temperature = float(sampling_temperature)
        self.warmup_epochs = int(warmup_epochs)
        self.exploration_epochs = int(exploration_epochs)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        # Planned starts of every epoch so far, for sampling maps (thesis Fig. 3.2).
        self.history = {}
        # "author" exploration: the k of each exploration epoch, one permutation per video,
        # from its own generator so that the planning generator's draws are unchanged.
        order_rng = np.random.default_rng([self.seed, 1])
        self.exploration_order = np.stack(
            [order_rng.permutation(self.exploration_epochs) for _ in range(self.num_videos)]
        ) if self.exploration_epochs else np.zeros((self.num_videos, 0), np.int64)

    @property
    def num_videos(self):
        return self.table.num_videos

    @property
    def num_starts(self):
        return self.table.num_starts

    def phase(self, epoch):
        """Returns "warmup", "exploration" or "exploitation" for a 0-based epoch."""
        if epoch < self.warmup_epochs:
            return WARMUP
        if epoch < self.warmup_epochs + self.exploration_epochs:
            return EXPLORATION
        return EXPLOITATION

    def distribution(self, video_index):
        """Current exploitation probabilities of one video's starts, shape `(N,)`."""
        return softmax_probabilities(self.table.scores(video_index), self.sampling_temperature)

    def plan(self, epoch):
        """Returns the int32 `(num_videos,)` clip starts of `epoch` and records them."""
        draws = self.rng.random(self.num_videos)
        phase = self.phase(epoch)
        n = self.num_starts
        if phase == WARMUP:
            starts = np.floor(draws * n).astype(np.int64)
        elif phase == EXPLORATION and self.exploration == "author":
            starts = author_exploration_starts(
                n, self.exploration_order[:, epoch - self.warmup_epochs], self.exploration_epochs)
        elif phase == EXPLORATION:
            k = epoch - self.warmup_epochs
            starts = np.floor((2 * k + 1) * n / (2 * self.exploration_epochs)).astype(np.int64)
        else:
            starts = np.empty(self.num_videos, np.int64)
            for video in range(self.num_videos):
                cdf = np.cumsum(self.distribution(video))
                starts[video] = np.searchsorted(cdf, draws[video] * cdf[-1], side="right")
        starts = np.minimum(starts, n - 1).astype(np.int32)
        self.history[int(epoch)] = starts.copy()
        return starts

    def update(self, video_indices, starts, scores, epoch):
        """Writes target-class scores of the clips trained on in `epoch` (Eq. 3.9)."""
        phase = self.phase(epoch)
        if phase == WARMUP:
            return
        if phase == EXPLORATION and self.exploration == "author":
            radius = author_exploration_radius(self.num_starts, self.exploration_epochs)
            for video, start, score in zip(np.asarray(video_indices).reshape(-1),
                                           np.asarray(starts).reshape(-1),
                                           np.asarray(scores).reshape(-1)):
                self.table.overwrite(video, start, score, radius[int(video)])
            return
        self.table.update_many(video_indices, starts, scores)

    def get_state(self):
        """Returns the sampler state as a dict of NumPy arrays (table, RNG, plan history)."""
        state = {f"table/{k}": v for k, v in self.table.get_state().items()}
        state["rng"] = np.asarray(json.dumps(self.rng.bit_generator.state))
        epochs = sorted(self.history)
        state["history/epochs"] = np.asarray(epochs, np.int64)
        state["history/starts"] = (np.stack([self.history[e] for e in epochs]) if epochs
                                   else np.zeros((0, self.num_videos), np.int32))
        return state

    def set_state(self, state):
        """Restores `get_state()`; raises if the videos or clip length differ."""
        self.table.set_state({k[len("table/"):]: v for k, v in state.items()
                              if k.startswith("table/")})
        self.rng.bit_generator.state = json.loads(str(np.asarray(state["rng"])))
        self.history = {int(e): np.asarray(s, np.int32) for e, s in
                        zip(np.asarray(state["history/epochs"]), np.asarray(state["history/starts"]))}
