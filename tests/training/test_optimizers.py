"""Optimiser set-up: differential learning rates (EmotiW attention paper), accumulation, schedules."""

import keras
import numpy as np
import pytest

from kerasfer.config import load_config
from kerasfer.errors import ConfigError
from kerasfer.training.optimizers import build_optimizer, learning_rate_schedule


def _model():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="backbone_dense")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="classifier")(x))


def _step(train, head_layers=("classifier",)):
    keras.utils.set_random_seed(0)
    model = _model()
    optimizer = build_optimizer(train, 10, model.trainable_variables, head_layers)
    before = [v.numpy().copy() for v in model.trainable_variables]
    gradients = [np.ones(v.shape, "float32") for v in model.trainable_variables]
    optimizer.apply(gradients, model.trainable_variables)
    return {v.path: before[i] - v.numpy() for i, v in enumerate(model.trainable_variables)}


def test_differential_learning_rates_backbone_vs_head():
    train = load_config(None, ["train.optimizer=sgd", "train.momentum=0.0",
                               "train.learning_rate=0.1", "train.backbone_learning_rate=1e-5"]).train
    deltas = _step(train)
    for path, delta in deltas.items():
        expected = 0.1 if "classifier" in path else 1e-5      # SGD: Δw = lr · g, g = 1
        # float32 weights near 1 resolve a 1e-5 step to ~1e-3 relative precision.
        np.testing.assert_allclose(delta, expected, rtol=5e-3)


def test_differential_rates_with_adam_scale_the_step():
    train = load_config(None, ["train.optimizer=adam", "train.learning_rate=0.01",
                               "train.backbone_learning_rate=0.001"]).train
    deltas = _step(train)
    head = np.abs(deltas["classifier/kernel"]).mean()
    backbone = np.abs(deltas["backbone_dense/kernel"]).mean()
    assert head / backbone == pytest.approx(10.0, rel=1e-3)


def test_unmatched_head_layers_fail_clearly():
    train = load_config(None, ["train.backbone_learning_rate=1e-5"]).train
    with pytest.raises(ConfigError, match="model.head_layers"):
        _step(train, head_layers=("fc8",))


def test_gradient_accumulation_updates_every_k_steps():
    train = load_config(None, ["train.optimizer=sgd", "train.momentum=0.0",
                               "train.learning_rate=0.1",
                               "train.gradient_accumulation_steps=4"]).train
    model = _model()
    optimizer = build_optimizer(train, 10, model.trainable_variables)
    assert optimizer.gradient_accumulation_steps == 4
    start = model.trainable_variables[0].numpy().copy()
    for step in range(4):
        optimizer.apply([np.ones(v.shape, "float32") for v in model.trainable_variables],
                        model.trainable_variables)
        moved = not np.allclose(model.trainable_variables[0].numpy(), start)
        assert moved == (step == 3)
    np.testing.assert_allclose(start - model.trainable_variables[0].numpy(), 0.1, rtol=1e-5)


@pytest.mark.parametrize("overrides, step, expected", [
    (["train.schedule=constant"], 25, 0.1),
    (["train.schedule=step", "train.decay_epochs=2", "train.decay_rate=0.5"], 19, 0.1),
    (["train.schedule=step", "train.decay_epochs=2", "train.decay_rate=0.5"], 20, 0.05),
    (["train.schedule=cosine_restarts", "train.restart_epochs=1"], 5, 0.05),   # half period
    (["train.schedule=cosine_restarts", "train.restart_epochs=1"], 10, 0.1),   # restart
])
def test_schedules_in_epochs(overrides, step, expected):
    train = load_config(None, ["train.learning_rate=0.1"] + overrides).train
    schedule = learning_rate_schedule(train, steps_per_epoch=10)
    value = schedule if isinstance(schedule, float) else float(schedule(step))
    assert value == pytest.approx(expected, rel=1e-5)
