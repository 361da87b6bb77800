"""REINFORCE clip sampler with a baseline (thesis Section 3.2.2, Eq. 3.5; Table 3.1).

Each training video has a parameter vector θ_x over its N clip starts, initialised to 0
(uniform). Clips are sampled from q_x = softmax(γ · θ_x); after scoring the sampled clip
with reward r (the target-class logit, higher is better) θ_x follows the score-function
gradient of the expected reward (Eq. 3.5, ascent on −loss) with a per-video moving-average
baseline b_x to reduce variance:

    θ_x ← θ_x + η · (r − b_x) · ∇_θ log q_x(t) = θ_x + η · γ · (r − b_x) · (e_t − q_x)
    b_x ← β · b_x + (1 − β) · r

γ = 0 is uniform sampling, as for stochastic softmax (Table 3.1, first row). The thesis
found these updates "small and localized" (Fig. 3.10); this class exists to reproduce that
comparison. Warm-up epochs are uniform without updates; there is no deterministic
exploration by default, since the estimator assumes t ~ q.

Example:

>>> sampler = ReinforceSampler([40, 30], clip_length=16, sampling_temperature=1.0)
>>> starts = sampler.plan(epoch=3)
>>> sampler.update([0, 1], starts, scores=[2.0, 0.5], epoch=3)
"""

from __future__ import annotations

import numpy as np

from kerasfer.data.sampling.temporal_stochastic_softmax import (
    EXPLOITATION,
    WARMUP,
    TemporalStochasticSoftmaxSampler,
    softmax_probabilities,
)


class ReinforceSampler(TemporalStochasticSoftmaxSampler):
    """Clip sampler whose distributions are learned with REINFORCE (Eq. 3.5 + baseline).

    Args:
        lengths: sequence of int. Frames of each training video.
        clip_length: int. Frames per clip `F`. Defaults to 16.
        sampling_temperature: float. γ of q = softmax(γ · θ). Defaults to 1.0.
        learning_rate: float. Step η on θ. Defaults to 0.1.
        baseline_decay: float. β of the moving-average baseline. Defaults to 0.9.
        warmup_epochs: int. Uniform epochs without updates. Defaults to 3.
        exploration_epochs: int. Deterministic epochs (scores feed the baseline only).
            Defaults to 0.
        seed: int. Generator seed. Defaults to 0.
    """

    def __init__(self, lengths, clip_length=16, sampling_temperature=1.0, learning_rate=0.1,
                 baseline_decay=0.9, warmup_epochs=3, exploration_epochs=0, seed=0):
        super().__init__(lengths, clip_length, sampling_temperature, warmup_epochs,
                         exploration_epochs, seed)
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive. Received: learning_rate={learning_rate}")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1). Received: baseline_decay={baseline_decay}")
        self.learning_rate = float(learning_rate)
        self.baseline_decay = float(baseline_decay)
        self.theta = np.zeros_like(self.table.values)
        self.baseline = np.zeros(self.num_videos, np.float64)
        self.has_baseline = np.zeros(self.num_videos, bool)

    def _theta(self, video_index):
        return self.theta[self.table.offsets[video_index]:self.table.offsets[video_index + 1]]

    def distribution(self, video_index):
        return softmax_probabilities(self._theta(video_index), self.sampling_temperature)

    def update(self, video_indices, starts, scores, epoch):
        if self.phase(epoch) == WARMUP:
            return
        # The score table is still kept (Eq. 3.9) so that maps compare with stochastic softmax.
        self.table.update_many(video_indices, starts, scores)
        order = np.argsort(np.asarray(video_indices).reshape(-1), kind="stable")
        for i in order:
            video, start, reward = int(video_indices[i]), int(starts[i]), float(scores[i])
            if not self.has_baseline[video]:
                self.baseline[video], self.has_baseline[video] = reward, True
            advantage = reward - self.baseline[video]
            if self.phase(epoch) == EXPLOITATION:
                q = self.distribution(video)
                grad = -self.sampling_temperature * q
                grad[start] += self.sampling_temperature
                self._theta(video)[:] += self.learning_rate * advantage * grad
            self.baseline[video] = (self.baseline_decay * self.baseline[video]
                                    + (1.0 - self.baseline_decay) * reward)

    def get_state(self):
        state = super().get_state()
        state.update({"reinforce/theta": self.theta.copy(), "reinforce/baseline": self.baseline.copy(),
                      "reinforce/has_baseline": self.has_baseline.copy()})
        return state

    def set_state(self, state):
        super().set_state(state)
        self.theta[:] = state["reinforce/theta"]
        self.baseline[:] = state["reinforce/baseline"]
        self.has_baseline[:] = state["reinforce/has_baseline"]
