"""`ResumableEarlyStopping`: Keras' `EarlyStopping` that continues a resumed run's count.

Ayral (2021) master's thesis, Section 3.3.1.3: "We stop training when validation accuracy
hasn't improved for 10 epochs". Keras' callback starts counting afresh at every `fit`; on
resume this one replays the logs of the epochs already run (`TrainingBackup.history`)
through Keras' own rule, so the patience counts across the interruption.

Example:

>>> stopping = ResumableEarlyStopping(monitor="val_accuracy", patience=10)
>>> stopping.resume(backup.history)
"""

from __future__ import annotations

import keras


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` plus `resume(history)`.

    Args:
        monitor: str. A log key. Defaults to "val_accuracy".
        patience: int. Epochs without improvement before stopping. Defaults to 10.
    """

    def __init__(self, monitor="val_accuracy", patience=10):
        super().__init__(monitor=monitor, patience=int(patience),
                         mode="min" if "loss" in monitor else "max")
        self._replay = []

    def resume(self, history):
        """Replays `history` (per-epoch log dicts with a 1-based "epoch") at train start."""
        self._replay = list(history)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for values in self._replay:
            super().on_epoch_end(int(values["epoch"]) - 1, values)
