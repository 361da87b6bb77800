"""`TrainingBackup`: Keras' `BackupAndRestore` for kerasfer runs, with the sampler's state.

Every backup is a directory `checkpoints/epoch-NNNN/` (NNNN = epochs finished, 1-based as
Keras' "Epoch 3/24" progress line) holding

* `model.weights.h5` — the network's weights,
* `optimizer.npz` — every optimizer variable (iterations, momenta, accumulators, loss scale),
* `sampler.npz` — the sampler's score table, RNG state and plan history (Ayral (2021)
  master's thesis, Eq. 3.9 state),
* `state.json` — epochs finished, per-epoch logs (1-based `epoch`), whether early stopping
  fired.

It is written into a temporary directory, fsynced, then renamed, and `checkpoints/latest`
(a one-line file) is replaced atomically afterwards, so a `kill -9` at any moment leaves the
previous backup intact; stray temporary directories are removed on the next start. Unlike
Keras' callback the backup is kept after training (a finished run is not retrained) and the
restore is explicit (`restore()` before `fit`, which returns `initial_epoch`). The best model,
early stopping and the NaN stop are Keras' own callbacks (`BestModelCheckpoint`,
`ResumableEarlyStopping`, `NaNStop`), resumed from this backup's per-epoch logs.

Example:

>>> backup = TrainingBackup("runs/x", network, sampler)
>>> initial_epoch = backup.restore(scoring_model)   # 0 for a new run
>>> scoring_model.fit(dataset, epochs=30, initial_epoch=initial_epoch,
...                   callbacks=[sampler_callback, backup])
"""

from __future__ import annotations

import json
import math
import os
import shutil

import keras
import numpy as np

from kerasfer.errors import TrainingError

LATEST = "latest"
PREFIX = "epoch-"
TEMPORARY_PREFIX = "tmp-"


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_own_directory(path):
    """Removes a directory this callback wrote; never follows a symlink."""
    if os.path.islink(path):
        os.unlink(path)          # the link only, not what it points to
    elif os.path.isdir(path):
        shutil.rmtree(path)


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """Backs up weights, optimizer and sampler state atomically every `every` epochs.

    Args:
        run_dir: str. The run directory; backups go to `run_dir/checkpoints/`.
        network: keras.Model. The network whose weights are saved.
        sampler: sampler with `get_state()` / `set_state()`, or None.
        keep: int. Backups kept on disk. Defaults to 2.
        every: int. Back up every `every` epochs (and always after the last epoch and when
            training stops early). Defaults to 1.
        on_save: callable or None. `on_save(epochs_done)` after each backup (tests use it
            to simulate a kill). Defaults to None.
    """

    def __init__(self, run_dir, network, sampler=None, keep=2, every=1, on_save=None):
        self.run_dir = str(run_dir)
        super().__init__(os.path.join(self.run_dir, "checkpoints"), save_freq="epoch",
                         delete_checkpoint=False)
        self.directory = self.backup_dir
        self.network = network
        self.sampler = sampler
        self.keep = max(int(keep), 1)
        self.every = max(int(every), 1)
        self.on_save = on_save
        self.history = []
        self.stopped_early = False
        self.epochs = None
        os.makedirs(self.directory, exist_ok=True)

    # ----------------------------------------------------------------- files
    def latest_checkpoint(self):
        """Returns the directory of the newest complete backup, or None."""
        path = os.path.join(self.directory, LATEST)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            name = handle.read().strip()
        full = os.path.join(self.directory, name)
        return full if name.startswith(PREFIX) and os.path.isdir(full) else None

    def _clean_temporary(self):
        # Only names this callback creates (tmp-epoch-NNNN-PID, latest.tmp-PID).
        for name in os.listdir(self.directory):
            if name.startswith(TEMPORARY_PREFIX + PREFIX):
                _remove_own_directory(os.path.join(self.directory, name))
            elif name.startswith(LATEST + ".tmp-"):
                os.unlink(os.path.join(self.directory, name))

    # --------------------------------------------------------------- restore
    def restore(self, scoring_model, directory=None):
        """Loads the newest backup into the model, optimizer and sampler.

        Args:
            scoring_model: the compiled `ClipScoringModel`.
            directory: str or None. Read the backups of this `checkpoints/` directory
                instead of this callback's own, without cleaning it (a non-chief
                multi-worker process reads the chief's). Defaults to None.

        Returns:
            int, the number of epochs already finished (Keras' `initial_epoch`).
        """
        if directory is None:
            self._clean_temporary()
            path = self.latest_checkpoint()
        else:
            own, self.directory = self.directory, directory
            try:
                path = self.latest_checkpoint()
            finally:
                self.directory = own
        if path is None:
            return 0
        with open(os.path.join(path, "state.json"), encoding="utf-8") as handle:
            state = json.load(handle)
        self.network.load_weights(os.path.join(path, "model.weights.h5"))
        optimizer = scoring_model.optimizer
        if not optimizer.built:
            optimizer.build(self.network.trainable_variables)
        with np.load(os.path.join(path, "optimizer.npz")) as data:
            values = [data[f"v{i}"] for i in range(len(data.files))]
        variables = optimizer.variables
        if len(values) != len(variables):
            raise TrainingError(path, f"checkpoint has {len(values)} optimizer variables, the "
                                f"optimizer {len(variables)}", "resume with the same "
                                "train.optimizer and train.gradient_accumulation_steps, or "
                                "start a new run directory")
        for variable, value in zip(variables, values):
            variable.assign(value)
        if self.sampler is not None:
            with np.load(os.path.join(path, "sampler.npz")) as data:
                self.sampler.set_state({k: data[k] for k in data.files})
        self.history = list(state.get("history", []))
        self.stopped_early = bool(state.get("stopped_early", False))
        return int(state["epochs_done"])

    def finished(self, epochs):
        """True when the restored run already ran `epochs` epochs or stopped early."""
        return self.stopped_early or len(self.history) >= epochs

    # ------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        # Restoring is explicit (`restore` before `fit`); Keras' own restore would look for
        # its `latest.weights.h5` layout.
        self.epochs = self.params.get("epochs") if self.params else None

    def on_train_batch_end(self, batch, logs=None):
        pass                     # epoch-level backups only

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(v) for k, v in (logs or {}).items()
                  if np.isscalar(v) or np.ndim(v) == 0}
        if not math.isfinite(values.get("loss", 0.0)):
            raise TrainingError(self.run_dir, f"loss became {values.get('loss')} in epoch "
                                f"{epoch + 1}", "lower train.learning_rate; the last good "
                                "checkpoint is kept")
        values["epoch"] = epoch + 1
        self.history.append(values)
        self.stopped_early = bool(self.model.stop_training)
        last = self.epochs is not None and epoch + 1 >= self.epochs
        if (epoch + 1) % self.every == 0 or last or self.stopped_early:
            self._save(epoch + 1)

    def on_train_end(self, logs=None):
        pass                     # the backup is kept: a finished run is not retrained

    def _save(self, epochs_done):
        name = f"{PREFIX}{epochs_done:04d}"
        tmp = os.path.join(self.directory, f"{TEMPORARY_PREFIX}{name}-{os.getpid()}")
        _remove_own_directory(tmp)
        os.makedirs(tmp)
        self.network.save_weights(os.path.join(tmp, "model.weights.h5"))
        optimizer = self.model.optimizer
        arrays = {f"v{i}": keras.ops.convert_to_numpy(v.value) for i, v in
                  enumerate(optimizer.variables)}
        with open(os.path.join(tmp, "optimizer.npz"), "wb") as handle:
            np.savez(handle, **arrays)
        if self.sampler is not None:
            with open(os.path.join(tmp, "sampler.npz"), "wb") as handle:
                np.savez(handle, **self.sampler.get_state())
        state = {"epochs_done": epochs_done, "stopped_early": self.stopped_early,
                 "history": self.history}
        with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1)
        for file_name in os.listdir(tmp):
            with open(os.path.join(tmp, file_name), "rb") as handle:
                os.fsync(handle.fileno())
        final = os.path.join(self.directory, name)
        _remove_own_directory(final)     # a backup of the same epoch from a killed run
        os.replace(tmp, final)
        _fsync_dir(self.directory)
        latest_tmp = os.path.join(self.directory, f"{LATEST}.tmp-{os.getpid()}")
        with open(latest_tmp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(latest_tmp, os.path.join(self.directory, LATEST))
        _fsync_dir(self.directory)
        kept = sorted(n for n in os.listdir(self.directory)
                      if n.startswith(PREFIX) and n[len(PREFIX):].isdigit())
        for old in kept[:-self.keep]:
            _remove_own_directory(os.path.join(self.directory, old))
        if self.on_save is not None:
            self.on_save(epochs_done)
