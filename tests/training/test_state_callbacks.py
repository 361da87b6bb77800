"""Keras' callbacks in kerasfer's roles: resumed early stopping, atomic best model, NaN stop."""

import pathlib

import keras
import pytest

from kerasfer.errors import TrainingError
from kerasfer.training.best_model_checkpoint import BestModelCheckpoint
from kerasfer.training.nan_stop import NaNStop
from kerasfer.training.resumable_early_stopping import ResumableEarlyStopping


def _model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False         # as Keras' fit sets it
    return model


def test_early_stopping_counts_across_a_resume():
    model = _model()
    stopping = ResumableEarlyStopping("val_accuracy", patience=3)
    stopping.set_model(model)
    stopping.resume([{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.4},
                     {"epoch": 3, "val_accuracy": 0.4}])
    stopping.on_train_begin()
    assert stopping.best == 0.5 and stopping.wait == 2 and not model.stop_training
    stopping.on_epoch_end(3, {"val_accuracy": 0.3})      # third epoch without improvement
    assert model.stop_training


def test_best_model_keeps_the_resumed_best_and_saves_the_network_atomically(tmp_path):
    class Wrapper(keras.Model):            # the role of ClipScoringModel
        def __init__(self, network):
            super().__init__()
            self.network = network

    network = _model()
    path = tmp_path / "best_model.keras"
    best = BestModelCheckpoint(str(path), monitor="val_accuracy")
    best.set_model(Wrapper(network))
    best.best = 0.9                                     # from the resumed run's history
    best.on_epoch_end(3, {"val_accuracy": 0.5})
    assert not path.exists()
    best.on_epoch_end(4, {"val_accuracy": 0.95})
    assert keras.saving.load_model(path).count_params() == network.count_params()
    assert [p.name for p in tmp_path.iterdir()] == ["best_model.keras"]   # no partial file


def test_best_model_is_never_saved_through_a_planted_link_and_a_failed_save_keeps_it(
        tmp_path, monkeypatch):
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.keras"
    precious.write_bytes(b"keep")
    run = tmp_path / "run"
    run.mkdir()
    pid = os.getpid()
    links = [run / f"best_model.tmp-{pid}.keras", run / f"best_model.keras.tmp-{pid}"]
    for link in links:                              # the predictable names a writer might use
        os.symlink(precious, link)
    network = _model()
    best = BestModelCheckpoint(str(run / "best_model.keras"), monitor="val_loss")
    best.set_model(network)
    best.on_epoch_end(0, {"val_loss": 1.0})
    assert precious.read_bytes() == b"keep"
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["best_model.keras"] + [link.name for link in links])
    saved = (run / "best_model.keras").read_bytes()

    def failing_save(path, overwrite=True):
        with open(path, "wb") as handle:
            handle.write(b"half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(network, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        best.on_epoch_end(1, {"val_loss": 0.5})
    assert (run / "best_model.keras").read_bytes() == saved   # the previous best kept
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["best_model.keras"] + [link.name for link in links])  # no partial file or folder
    assert best.filepath == str(run / "best_model.keras")


def test_nan_stop_names_the_epoch_one_based_and_raises_at_once():
    stop = NaNStop("runs/x")
    stop.set_model(_model())
    stop.on_epoch_begin(4)
    stop.on_train_batch_end(0, {"loss": 1.0})
    with pytest.raises(TrainingError, match="at batch 3 of epoch 5; no checkpoint"):
        stop.on_train_batch_end(2, {"loss": float("inf")})


def test_training_code_uses_public_keras_api_only():
    root = pathlib.Path(__file__).resolve().parents[2] / "kerasfer"
    offenders = [str(p) for folder in ("training",) for p in (root / folder).rglob("*.py")
                 if "keras.src" in p.read_text() or "_loss_tracker" in p.read_text()]
    offenders += [str(root / name) for name in ("fit.py", "evaluate.py", "config.py")
                  if "keras.src" in (root / name).read_text()]
    assert not offenders
