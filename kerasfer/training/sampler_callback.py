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
        check_starts: bool. With `strict`, also require the planned starts; False for
            whole-video clips (`duration="resize"` or `"random_segments"`), which have no
            start to plan. Defaults to True.
    """

    def __init__(self, sampler, clip_plan=None, strict=True, check_starts=True):
        super().__init__()
        self.sampler = sampler
        self.clip_plan = clip_plan
        self.strict = bool(strict)
        self.check_starts = bool(check_starts)
        self.planned = None
        self.last_scores = None


    def on_epoch_begin(self, epoch, logs=None):
        self.planned = self.sampler.plan(epoch)
        if self.clip_plan is not None:
            self.clip_plan.assign(self.planned)
            # The pipeline keys shuffling and augmentation on the plan's epoch counter;
            # setting it from the Keras epoch makes a resumed run see the same batches.
            self.clip_plan.set_epoch(epoch)
        self.model.reset_score_buffers()

    def on_epoch_end(self, epoch, logs=None):
        scores, starts, seen = self.model.read_score_buffers()
        if self.strict and not np.all(seen == 1):
            missing = np.flatnonzero(seen == 0)[:5].tolist()
            repeated = np.flatnonzero(seen > 1)[:5].tolist()
            raise TrainingError("training dataset", f"epoch {epoch} trained videos "
                                f"{missing} zero times and {repeated} more than once",
                                "the training dataset must yield every planned video exactly "
                                "once per epoch (no repeat(), no drop_remainder)")
        if self.strict and self.check_starts and not np.array_equal(starts, self.planned):
            wrong = np.flatnonzero(starts != self.planned)[:5].tolist()
            raise TrainingError("training dataset", f"epoch {epoch} trained videos {wrong} at "
                                "other starts than planned",
                                "pass the sampler's ClipPlan to training_dataset")
        trained = np.flatnonzero(seen > 0)
        self.sampler.update(trained, starts[trained], scores[trained], epoch)
        self.last_scores = scores
        self.last_starts = starts
        if logs is not None:
            logs["sampler_mean_score"] = float(np.mean(scores[trained])) if trained.size else 0.0
