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
