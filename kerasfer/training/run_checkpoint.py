"""`RunCheckpoint`: atomic end-of-epoch checkpoints with the sampler state, resume, NaN stop.

Every checkpoint is a directory `checkpoints/epoch-NNNN/` holding

* `model.weights.h5` — the network's weights,
* `optimizer.npz` — every optimizer variable (iterations, momenta, accumulators, loss scale),
* `sampler.npz` — the sampler's score table, RNG state and plan history (thesis Eq. 3.9 state),
* `state.json` — the finished epoch, best monitored value, early-stopping wait, history.

It is written into a temporary directory, flushed, then renamed, and `checkpoints/latest`
(a one-line file) is replaced atomically afterwards, so a `kill -9` at any moment leaves the
previous checkpoint intact; stray temporary directories are removed on the next start.

The callback also keeps `best_model.keras` (the network with the best monitored value, saved
atomically), stops early after `patience` epochs without improvement (thesis 3.3.1.3:
"We stop training when validation accuracy hasn't improved for 10 epochs"), and raises
`TrainingError` as soon as a batch loss is NaN or infinite, before any checkpoint of that
epoch is written, so the last good checkpoint is kept.

Example:

>>> checkpoint = RunCheckpoint("runs/x", network, sampler, monitor="val_accuracy")
>>> initial_epoch = checkpoint.restore(scoring_model)   # 0 for a new run
>>> scoring_model.fit(dataset, epochs=30, initial_epoch=initial_epoch,
...                   callbacks=[sampler_callback, checkpoint])
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


class RunCheckpoint(keras.callbacks.Callback):
    """Saves weights + optimizer + sampler state atomically each epoch; resumes from them.

    Args:
        run_dir: str. The run directory; checkpoints go to `run_dir/checkpoints/`.
        network: keras.Model. The network whose weights and best model are saved.
        sampler: sampler with `get_state()` / `set_state()`, or None.
        monitor: str. Log key for the best model and early stopping. Defaults to
            `"val_accuracy"`.
        patience: int. Epochs without improvement before stopping; 0 disables early
            stopping. Defaults to 10.
        keep: int. Checkpoints kept on disk. Defaults to 2.
        on_save: callable or None. `on_save(epoch)` after each checkpoint (tests use it to
            simulate a kill). Defaults to None.
    """

    def __init__(self, run_dir, network, sampler=None, monitor="val_accuracy", patience=10,
                 keep=2, on_save=None):
        super().__init__()
        self.run_dir = str(run_dir)
        self.directory = os.path.join(self.run_dir, "checkpoints")
        self.network = network
        self.sampler = sampler
        self.monitor = monitor
        self.mode = "min" if "loss" in monitor else "max"
        self.patience = int(patience)
        self.keep = max(int(keep), 1)
        self.on_save = on_save
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.history = []
        self.stopped_early = False
        self._epoch = 0
        os.makedirs(self.directory, exist_ok=True)

    # ----------------------------------------------------------------- files
    def latest_checkpoint(self):
        """Returns the directory of the newest complete checkpoint, or None."""
        path = os.path.join(self.directory, LATEST)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            name = handle.read().strip()
        full = os.path.join(self.directory, name)
        return full if name and os.path.isdir(full) else None

    def _clean_temporary(self):
        for name in os.listdir(self.directory):
            if name.startswith("tmp-"):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def _improved(self, value):
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    # --------------------------------------------------------------- restore
    def restore(self, scoring_model):
        """Loads the newest checkpoint into the model, optimizer and sampler.

        Returns:
            int, the epoch to continue from (0 when there is no checkpoint).
        """
        self._clean_temporary()
        path = self.latest_checkpoint()
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
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
        self.wait = int(state.get("wait", 0))
        self.history = list(state.get("history", []))
        self.stopped_early = bool(state.get("stopped_early", False))
        return int(state["epoch"]) + 1

    def finished(self, epochs):
        """True when the restored run already ran `epochs` epochs or stopped early."""
        return self.stopped_early or (bool(self.history) and self.history[-1]["epoch"] + 1 >= epochs)

    # ------------------------------------------------------------- callbacks
    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            latest = self.latest_checkpoint()
            kept = (f"the last good checkpoint {latest} is kept" if latest
                    else "no checkpoint had been written yet")
            raise TrainingError(self.run_dir, f"loss became {float(loss)} at batch {batch} of "
                                f"epoch {self._epoch}; {kept}",
                                "lower train.learning_rate or check the data, then rerun to "
                                "resume from the last checkpoint")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        values = {k: float(v) for k, v in logs.items() if np.isscalar(v) or np.ndim(v) == 0}
        if not math.isfinite(values.get("loss", 0.0)):
            raise TrainingError(self.run_dir, f"loss became {values.get('loss')} in epoch {epoch}",
                                "lower train.learning_rate; the last good checkpoint is kept")
        current = values.get(self.monitor)
        if self._improved(current):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            self._save_best()
        else:
            self.wait += 1
        if self.patience and self.wait >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True
        values["epoch"] = epoch
        self.history.append(values)
        self._save(epoch)

    def _save_best(self):
        path = os.path.join(self.run_dir, "best_model.keras")
        tmp = os.path.join(self.run_dir, f"tmp-best-{os.getpid()}.keras")
        self.network.save(tmp)
        os.replace(tmp, path)

    def _save(self, epoch):
        name = f"epoch-{epoch:04d}"
        tmp = os.path.join(self.directory, f"tmp-{name}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
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
        state = {"epoch": epoch, "best": self.best, "best_epoch": self.best_epoch,
                 "monitor": self.monitor, "wait": self.wait, "stopped_early": self.stopped_early,
                 "history": self.history}
        with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1)
        for file_name in os.listdir(tmp):
            with open(os.path.join(tmp, file_name), "rb") as handle:
                os.fsync(handle.fileno())
        final = os.path.join(self.directory, name)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        _fsync_dir(self.directory)
        latest_tmp = os.path.join(self.directory, f"{LATEST}.tmp-{os.getpid()}")
        with open(latest_tmp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(latest_tmp, os.path.join(self.directory, LATEST))
        _fsync_dir(self.directory)
        kept = sorted(n for n in os.listdir(self.directory) if n.startswith("epoch-"))
        for old in kept[:-self.keep]:
            shutil.rmtree(os.path.join(self.directory, old), ignore_errors=True)
        if self.on_save is not None:
            self.on_save(epoch)
