"""Clip sampling guided by frame-level labels (thesis Section 3.3.2.3, Table 3.2).

When the data has frame-level intensities (PSPI pain scores on UNBC-McMaster, 0–16), the
sampling distribution can come from them instead of from estimated clip scores: the label
score of the clip starting at t is the mean frame label over its F frames (missing labels
count as 0), and clips are sampled from softmax(γ_s · label score) from the first epoch,
with no warm-up and no exploration (the thesis used γ_s = 0.8 because PSPI values are larger
than logits; 25.8 instead of 35.2 epochs). The model's clip scores are still written to the
score table (Eq. 3.9) for the TensorBoard maps, but do not change the sampling.

Example:

>>> labels = [np.r_[np.zeros(10), np.full(10, 8.0), np.zeros(10)]]
>>> sampler = LabelGuidedSampler(labels, clip_length=8, sampling_temperature=0.8)
>>> int(np.argmax(sampler.distribution(0)))
10
"""

from __future__ import annotations

import numpy as np

from kerasfer.data.sampling.temporal_stochastic_softmax import (
    TemporalStochasticSoftmaxSampler,
    softmax_probabilities,
)


def clip_label_scores(frame_labels, clip_length):
    """Mean frame label of every clip start, shape `(max(L − F + 1, 1),)`."""
    labels = np.nan_to_num(np.asarray(frame_labels, np.float64).reshape(-1), nan=0.0)
    if labels.size < clip_length:
        return np.asarray([labels.sum() / clip_length]) if labels.size else np.zeros(1)
    cumsum = np.concatenate([[0.0], np.cumsum(labels)])
    return (cumsum[clip_length:] - cumsum[:-clip_length]) / clip_length


class LabelGuidedSampler(TemporalStochasticSoftmaxSampler):
    """Samples clips from softmax(γ_s · mean frame label of the clip) (thesis Table 3.2).

    Args:
        frame_labels: list of arrays `(L_v,)`. Frame labels of each training video (NaN for
            unlabelled frames).
        clip_length: int. Frames per clip `F`. Defaults to 16.
        sampling_temperature: float. γ_s. Defaults to 0.8 (thesis, PSPI scale).
        seed: int. Generator seed. Defaults to 0.
    """

    def __init__(self, frame_labels, clip_length=16, sampling_temperature=0.8, seed=0):
        lengths = [max(len(np.asarray(labels).reshape(-1)), 1) for labels in frame_labels]
        super().__init__(lengths, clip_length, sampling_temperature, warmup_epochs=0,
                         exploration_epochs=0, seed=seed)
        self.label_scores = [clip_label_scores(labels, clip_length) for labels in frame_labels]

    def distribution(self, video_index):
        return softmax_probabilities(self.label_scores[video_index], self.sampling_temperature)
