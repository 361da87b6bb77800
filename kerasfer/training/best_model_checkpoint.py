"""`BestModelCheckpoint`: Keras' `ModelCheckpoint` saving the network, atomically.

`ClipScoringModel` wraps the network for training; the file users load
(`best_model.keras`, read by `kerasfer.evaluate` and `kerasfer.export`) is the network
itself. Keras saves to a path, so each save goes into a fresh private directory
(`tempfile.mkdtemp`, mode 0o700, a new random name: nothing planted beforehand can stand
in it) next to the final file, and the saved file is renamed over `best_model.keras`;
a kill during the save keeps the previous best model.

Example:

>>> best = BestModelCheckpoint("runs/x/best_model.keras", monitor="val_accuracy")
>>> best.best = resumed_best_value          # on resume (None for a new run)
"""

from __future__ import annotations

import os
import shutil
import tempfile

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
        super().__init__(self.final_path, monitor=monitor, save_best_only=True,
                         mode="min" if "loss" in monitor else "max")

    def set_model(self, model):
        super().set_model(getattr(model, "network", model))

    def on_epoch_end(self, epoch, logs=None):
        directory, name = os.path.split(os.path.abspath(self.final_path))
        os.makedirs(directory, exist_ok=True)
        private = tempfile.mkdtemp(prefix=f"{name}.tmp-", dir=directory)
        self.filepath = os.path.join(private, name)     # where Keras' save writes
        try:
            super().on_epoch_end(epoch, logs)
            if os.path.exists(self.filepath):
                os.replace(self.filepath, self.final_path)
        finally:
            self.filepath = self.final_path
            shutil.rmtree(private, ignore_errors=True)  # the folder this call created
