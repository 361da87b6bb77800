"""`BestModelCheckpoint`: Keras' `ModelCheckpoint` saving the network, atomically.

`ClipScoringModel` wraps the network for training; the file users load
(`best_model.keras`, read by `kerasfer.evaluate` and `kerasfer.export`) is the network
itself. The model is written to a temporary file next to it and renamed over it, so a kill
during the save keeps the previous best model.

Example:

>>> best = BestModelCheckpoint("runs/x/best_model.keras", monitor="val_accuracy")
>>> best.best = resumed_best_value          # on resume (None for a new run)
"""

from __future__ import annotations

import os

import keras


class BestModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Saves `model.network` to `filepath` when `monitor` improves.

    Args:
        filepath: str. The `.keras` file.
        monitor: str. A log key (e.g. "val_accuracy", "val_loss"). Defaults to
            "val_accuracy".
    """

    def __init__(self, filepath, monitor="val_accuracy"):
        self.final_path = str(filepath)
        root, extension = os.path.splitext(self.final_path)
        self.partial_path = f"{root}.tmp-{os.getpid()}{extension}"
        super().__init__(self.partial_path, monitor=monitor, save_best_only=True,
                         mode="min" if "loss" in monitor else "max")

    def set_model(self, model):
        super().set_model(getattr(model, "network", model))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if os.path.exists(self.partial_path):
            os.replace(self.partial_path, self.final_path)
