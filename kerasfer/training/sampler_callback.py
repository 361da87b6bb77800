"""`ClipSamplerCallback`: connects a clip sampler, the data pipeline's plan and the scores.

Thesis Algorithm 3.1, one epoch at a time: `on_epoch_begin` asks the sampler for one clip
start per training video (warm-up / exploration / softmax(γ_s · w), Eq. 3.8) and assigns
it to the `ClipPlan` that `kerasfer.data.training_dataset` reads; `on_epoch_end` reads the
per-epoch score buffers of `ClipScoringModel` (summed over replicas) and writes them back
to the score table with Eq. 3.9. It checks that every planned clip was trained on exactly
once and at the planned start, so a pipeline that drops or repeats videos fails loudly.

Example:

>>> callback = ClipSamplerCallback(sampler, clip_plan)
>>> scoring_model.fit(dataset, epochs=30, callbacks=[callback])
"""

from __future__ import annotations

import keras
import numpy as np

from kerasfer.errors import TrainingError


class ClipSamplerCallback(keras.callbacks.Callback):
    """Plans each epoch's clips and feeds the clean clip scores back to the sampler.

    Args:
        sampler: `TemporalStochasticSoftmaxSampler` (or a subclass).
        clip_plan: `kerasfer.data.ClipPlan` read by the training dataset, or None when the
            dataset is fed some other way.
        strict: bool. Raise `TrainingError` when a video was not trained on exactly once at
            its planned start. Defaults to True.
    """

    def __init__(self, sampler, clip_plan=None, strict=True):
        super().__init__()
        self.sampler = sampler
        self.clip_plan = clip_plan
        self.strict = bool(strict)
        self.planned = None
        self.last_scores = None

