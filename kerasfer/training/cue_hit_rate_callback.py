"""`CueHitRateCallback`: logs per epoch whether the clip sampler finds the labelled cue.

Ayral (2021) master's thesis, Ch. 3 (Eq. 3.7, 3.8, Fig. 3.2). With frame labels (synthetic
expression intensity, PSPI) the cue of each training video is known, so the mechanism of
temporal stochastic softmax is measured directly (`kerasfer.data.sampling.cue_hit_rate`):

* `cue_hit_rate`: fraction of this epoch's training clips that overlap the cue window;
* `cue_hit_rate_uniform`: the exact expected value under uniform sampling (Eq. 3.7);
* `cue_hit_rate_expected`: expected value under the sampler's current distributions
  (exploitation epochs; Eq. 3.8), NaN otherwise;
* `score_label_correlation`: mean Pearson correlation between each video's score table
  and its clip-label curve.

They are added to the epoch `logs` (so the TensorBoard callback placed after this one
writes them as scalars) and kept in `history`; `on_train_end` writes
`<out_dir>/cue_hit_rate.json`.

Example:

>>> callback = CueHitRateCallback(sampler, frame_labels, clip_length=16, out_dir=run_dir)
>>> model.fit(dataset, epochs=24, callbacks=[sampler_callback, callback, tensorboard])
"""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasfer import schema
from kerasfer.data.sampling.cue_hit_rate import (clip_hit_masks, expected_hit_rate, hit_rate,
                                                 score_label_correlation, uniform_hit_rate)


def training_frame_labels(index, records):
    """Frame labels of `records` in `video_index` order, or None if any video has none."""
    from kerasfer.data.selected_videos import selected_videos

    labels = [None] * len(records)
    for example in selected_videos(index, records):
        labels[int(example["video_index"])] = example["frame_label"].numpy()
    if any(value is None or np.all(np.isnan(value)) for value in labels):
        return None
    return labels


def make_cue_hit_rate_callback(config, index, records, sampler, out_dir):
    """The callback for an experiment, or None when the training videos lack frame labels."""
    if config.data.duration != "clip":
        return None
    labels = training_frame_labels(index, records)
    if labels is None:
        return None
    return CueHitRateCallback(sampler, labels, config.data.clip_length,
                              config.sampler.cue_threshold, out_dir)


class CueHitRateCallback(keras.callbacks.Callback):
    """Logs the cue hit rate of the planned clips next to uniform sampling's.

    Args:
        sampler: `TemporalStochasticSoftmaxSampler` (or subclass) whose `history[epoch]`
            holds the planned starts (filled by `ClipSamplerCallback`, placed before).
        frame_labels: list of arrays `(L_v,)`. Frame labels of the training videos in
            `video_index` order.
        clip_length: int. F.
        threshold: float. Cue = label ≥ threshold × max. Defaults to 0.5.
        out_dir: str or None. Where `cue_hit_rate.json` is written. Defaults to None.
    """

    def __init__(self, sampler, frame_labels, clip_length, threshold=0.5, out_dir=None):
        super().__init__()
        self.sampler = sampler
        self.frame_labels = [np.asarray(labels) for labels in frame_labels]
        self.clip_length = int(clip_length)
        self.masks = clip_hit_masks(self.frame_labels, self.clip_length, threshold)
        self.uniform = uniform_hit_rate(self.masks)
        self.out_dir = out_dir
        self.history = []
        self._expected = float("nan")

    def on_epoch_begin(self, epoch, logs=None):
        # The distributions that this epoch's exploitation draws come from (before updates).
        self._expected = float("nan")
        if self.sampler.phase(epoch) == "exploitation":
            self._expected = expected_hit_rate(
                self.masks, [self.sampler.distribution(v) for v in range(len(self.masks))])

    def on_epoch_end(self, epoch, logs=None):
        starts = self.sampler.history.get(int(epoch))
        if starts is None:
            return
        rows = [self.sampler.table.scores(v) for v in range(len(self.masks))]
        entry = {"epoch": int(epoch), "phase": self.sampler.phase(epoch),
                 "cue_hit_rate": hit_rate(self.masks, starts),
                 "cue_hit_rate_uniform": self.uniform,
                 "cue_hit_rate_expected": self._expected,
                 "score_label_correlation": score_label_correlation(
                     rows, self.frame_labels, self.clip_length)}
        self.history.append(entry)
        if logs is not None:
            for key in ("cue_hit_rate", "cue_hit_rate_uniform", "cue_hit_rate_expected",
                        "score_label_correlation"):
                if entry[key] == entry[key]:  # TensorBoard gets no NaN
                    logs[key] = entry[key]

    def exploitation_hit_rate(self):
        """Mean hit rate over the exploitation epochs so far (all epochs if none)."""
        rows = [e["cue_hit_rate"] for e in self.history if e["phase"] == "exploitation"]
        rows = rows or [e["cue_hit_rate"] for e in self.history]
        return float(np.nanmean(rows)) if rows else float("nan")

    def on_train_end(self, logs=None):
        if self.history:
            print(f"cue hit rate of the training clips: {self.exploitation_hit_rate():.3f} "
                  f"(exploitation epochs) vs {self.uniform:.3f} for uniform sampling")
        if not self.out_dir:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, "cue_hit_rate.json")
        schema.write_json_atomic(path, {"uniform": self.uniform,
                                        "exploitation": self.exploitation_hit_rate(),
                                        "epochs": self.history})
