"""Optimiser set-up: SGD with momentum, Adam, AdamW; schedules; differential learning rates.

* Thesis 3.3.1.3: "standard SGD with momentum 0.9", "Gradients are accumulated across
  batches and we perform back-propagation every 4 steps" (Keras 3
  `gradient_accumulation_steps`). Thesis 2.2.3.4: Adam with weight decay.
* EmotiW spatial attention + temporal softmax pooling paper, Section 4.2: SGD with momentum
  and warm restarts, learning rate 1e-5 for the backbone and 0.1 for the rest (differential
  learning rates).

Schedules count optimizer iterations (one per batch): `"step"` multiplies the rate by
`decay_rate` every `decay_epochs` epochs; `"cosine_restarts"` is SGDR (cosine decay restarted
every `restart_epochs` epochs, periods multiplied by `restart_multiplier`).

Differential learning rates: the variables whose path contains one of `head_layers` use
`learning_rate` (with the schedule), all others `backbone_learning_rate` — implemented by
scaling the rate passed to `update_step` per variable, so momentum and Adam moments stay
exact. Weight decay (decoupled, Keras 3) uses the base rate.

Example:

>>> optimizer = build_optimizer(config.train, steps_per_epoch=50,
...     variables=network.trainable_variables, head_layers=["classifier"])
"""

from __future__ import annotations

import keras

from kerasfer.errors import ConfigError

_BASES = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
          "adamw": keras.optimizers.AdamW}
_CACHE = {}


class _DifferentialRates:
    """Mixin scaling the learning rate of every variable by a fixed multiplier."""

    def set_rate_multipliers(self, multipliers_by_path):
        self._multipliers_by_path = dict(multipliers_by_path)

    def build(self, variables):
        super().build(variables)
        paths = getattr(self, "_multipliers_by_path", {})
        self._rate_multipliers = [float(paths.get(v.path, 1.0)) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self._rate_multipliers[self._get_variable_index(variable)]
        if multiplier != 1.0:
            learning_rate = keras.ops.multiply(learning_rate, multiplier)
        return super().update_step(gradient, variable, learning_rate)


def _differential_class(base):
    if base not in _CACHE:
        _CACHE[base] = type(f"Differential{base.__name__}", (_DifferentialRates, base), {})
    return _CACHE[base]


def learning_rate_schedule(train_config, steps_per_epoch):
    """Returns a float or a `keras.optimizers.schedules.LearningRateSchedule`."""
    rate = float(train_config.learning_rate)
    steps = max(int(steps_per_epoch), 1)
    if train_config.schedule == "constant":
        return rate
    if train_config.schedule == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            rate, decay_steps=max(train_config.decay_epochs, 1) * steps,
            decay_rate=train_config.decay_rate, staircase=True)
    if train_config.schedule == "cosine_restarts":
        return keras.optimizers.schedules.CosineDecayRestarts(
            rate, first_decay_steps=max(train_config.restart_epochs, 1) * steps,
            t_mul=train_config.restart_multiplier, m_mul=1.0, alpha=0.0)
    raise ConfigError("train.schedule", f"unknown schedule {train_config.schedule!r}",
                      "use constant, step or cosine_restarts")


def head_variable_paths(variables, head_layers):
    """Returns the paths of the variables that belong to the head (by layer-name match)."""
    return [v.path for v in variables if any(name in v.path for name in head_layers)]


def check_head_layers(network, head_layers):
    """Raises `ConfigError` when a name of `head_layers` matches no layer of `network`.

    A name matches a layer whose name equals it or a variable whose path contains it
    (`head_variable_paths`). The error names the unmatched names and the network's top-level
    layers (for a `ClipClassifier`: `classifier`, `frame_scores`, `temporal_pooling`, ...).

    Args:
        network: keras.Model.
        head_layers: sequence of str. `model.head_layers`.
    """
    names = set()

    def collect(layer):
        names.add(layer.name)
        for sub in getattr(layer, "layers", []):
            collect(sub)

    collect(network)
    paths = [v.path for v in network.variables]
    bad = [name for name in head_layers
           if name not in names and not any(name in path for path in paths)]
    if bad:
        top = [layer.name for layer in network.layers
               if not isinstance(layer, keras.layers.InputLayer)][-10:]
        raise ConfigError("model.head_layers", f"{bad} match no layer of model "
                          f"{network.name!r}, whose last layers are {top}",
                          "set model.head_layers to names of the classifier layers")


def build_optimizer(train_config, steps_per_epoch, variables=(), head_layers=("classifier",)):
    """Builds the optimizer of `train_config` (a `kerasfer.config.TrainConfig`).

    Args:
        train_config: TrainConfig. optimizer, learning_rate, backbone_learning_rate,
            momentum, weight_decay, schedule, gradient_accumulation_steps.
        steps_per_epoch: int. Batches per epoch, to express schedules in epochs.
        variables: list of variables. The network's trainable variables (needed for
            differential learning rates).
        head_layers: sequence of str. Layer-name fragments of the head.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    name = train_config.optimizer
    if name not in _BASES:
        raise ConfigError("train.optimizer", f"unknown optimizer {name!r}",
                          f"use one of {', '.join(_BASES)}")
    kwargs = {"learning_rate": learning_rate_schedule(train_config, steps_per_epoch)}
    if name == "sgd":
        kwargs["momentum"] = float(train_config.momentum)
    if train_config.weight_decay:
        kwargs["weight_decay"] = float(train_config.weight_decay)
    if train_config.gradient_accumulation_steps > 1:
        kwargs["gradient_accumulation_steps"] = int(train_config.gradient_accumulation_steps)
    base = _BASES[name]
    backbone_rate = train_config.backbone_learning_rate
    if backbone_rate is None or float(backbone_rate) == float(train_config.learning_rate):
        return base(**kwargs)
    heads = set(head_variable_paths(variables, head_layers))
    if not heads:
        raise ConfigError("model.head_layers", f"no variable matches the head layers "
                          f"{list(head_layers)}", "set model.head_layers to names of the "
                          "classifier layers (see model.summary())")
    multiplier = float(backbone_rate) / float(train_config.learning_rate)
    optimizer = _differential_class(base)(**kwargs)
    optimizer.set_rate_multipliers({v.path: (1.0 if v.path in heads else multiplier)
                                    for v in variables})
    return optimizer
