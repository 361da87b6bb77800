"""`NaNStop`: Keras' `TerminateOnNaN` raising a one-line `TrainingError` at once.

The error is raised at the batch whose loss is NaN or infinite, before any backup of that
epoch is written, so the last good checkpoint is kept and a rerun resumes from it.

Example:

>>> scoring_model.fit(dataset, callbacks=[NaNStop("runs/x", backup), backup])
"""

from __future__ import annotations

import math

import keras

from kerasfer.errors import TrainingError


class NaNStop(keras.callbacks.TerminateOnNaN):
    """Raises `TrainingError` naming the batch, the epoch (1-based) and the kept checkpoint.

    Args:
        run_dir: str. The run directory (named in the error).
        backup: `TrainingBackup` or None. Its latest checkpoint is named in the error.
    """

    def __init__(self, run_dir, backup=None):
        super().__init__(raise_error=True)
        self.run_dir = str(run_dir)
        self.backup = backup
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        latest = self.backup.latest_checkpoint() if self.backup is not None else None
        kept = (f"the last good checkpoint {latest} is kept" if latest
                else "no checkpoint had been written yet")
        raise TrainingError(self.run_dir, f"loss became {float(loss)} at batch {batch + 1} of "
                            f"epoch {self._epoch + 1}; {kept}",
                            "lower train.learning_rate or check the data, then rerun to "
                            "resume from the last checkpoint")
