"""Experiment configuration: dataclasses loaded from YAML, overridable with dotted CLI keys.

The sections (`ExperimentConfig`, `DataConfig`, ..., their defaults and the allowed values
of their string keys) are defined in `kerasfer.config_sections` and importable from here.

Every key is checked: an unknown key or a value of the wrong type raises `ConfigError`
whose message lists the valid keys of that section.

Example:

>>> config = load_config("configs/cpu_tiny.yaml", overrides=["train.epochs=3"])
>>> config.train.epochs
3
>>> save_config(config, "runs/x/config.yaml")
"""

from __future__ import annotations

import dataclasses
import os
import typing

import yaml

from kerasfer.atomic_write import atomic_writer
from kerasfer.config_sections import CHOICES
from kerasfer.config_sections import REGISTRY_CHOICES
from kerasfer.config_sections import DataConfig
from kerasfer.config_sections import EvalConfig
from kerasfer.config_sections import ExperimentConfig
from kerasfer.config_sections import ModelConfig
from kerasfer.config_sections import PretrainConfig
from kerasfer.config_sections import SamplerConfig
from kerasfer.config_sections import SyntheticConfig
from kerasfer.config_sections import TrainConfig
from kerasfer.config_sections import choices
from kerasfer.errors import ConfigError


def _hints(cls):
    return typing.get_type_hints(cls)


def valid_keys(cls=ExperimentConfig, prefix=""):
    """Returns every dotted key of a config dataclass, e.g. `["data.dir", ...]`."""
    keys = []
    for field in dataclasses.fields(cls):
        kind = _hints(cls)[field.name]
        if dataclasses.is_dataclass(kind):
            keys.extend(valid_keys(kind, f"{prefix}{field.name}."))
        else:
            keys.append(f"{prefix}{field.name}")
    return keys


def _type_name(kind):
    if typing.get_origin(kind) is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(kind))
    return getattr(kind, "__name__", str(kind))


def _coerce(key, value, kind, source):
    """Checks `value` against the annotated `kind`; ints are accepted where floats are."""
    if typing.get_origin(kind) is typing.Union:
        for option in typing.get_args(kind):
            if option is type(None) and value is None:
                return None
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        for option in options[:-1]:
            try:
                return _coerce(key, value, option, source)
            except ConfigError:
                pass
        return _coerce(key, value, options[-1], source)
    if kind is float and isinstance(value, str):
        # YAML 1.1 reads "1e-5" (no dot) as a string; accept it as the number it spells.
        try:
            value = float(value)
        except ValueError:
            pass
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
        list: lambda v: isinstance(v, (list, tuple)),
        dict: lambda v: isinstance(v, dict),
    }[kind]
    if not ok(value):
        raise ConfigError(source, f"{key} must be {_type_name(kind)}, got {value!r} "
                          f"({type(value).__name__})", f"set {key} to a value of type {_type_name(kind)}")
    if kind is float:
        value = float(value)
    if kind is list:
        value = list(value)
    allowed = choices(key) if kind is str else None
    if allowed is not None and value not in allowed:
        raise ConfigError(source, f"{key}={value!r} is not one of {', '.join(allowed)}",
                          f"choose one of {', '.join(allowed)}")
    return value


def _unknown(source, key, cls, prefix):
    keys = valid_keys(cls, prefix)
    return ConfigError(source, f"unknown key {key!r}", f"valid keys: {', '.join(keys)}")


def _build(cls, mapping, source, prefix=""):
    if not isinstance(mapping, dict):
        raise ConfigError(source, f"section {prefix.rstrip('.') or '<top>'} must be a mapping, "
                          f"got {mapping!r}", f"valid keys: {', '.join(valid_keys(cls, prefix))}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for name, value in mapping.items():
        if name not in names:
            raise _unknown(source, f"{prefix}{name}", cls, prefix)
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, value or {}, source, f"{prefix}{name}.")
        else:
            values[name] = _coerce(f"{prefix}{name}", value, kind, source)
    return cls(**values)


def section_from_dict(cls, mapping, source="<config>", prefix=""):
    """Builds the config dataclass `cls` from a dict, checking keys and types (as `load_config`)."""
    return _build(cls, mapping or {}, source, prefix)


def config_from_dict(mapping, source="<config>"):
    """Builds an `ExperimentConfig` from a nested dict, checking keys and types."""
    return check_pretrained_key(_build(ExperimentConfig, mapping or {}, source), source)


def check_pretrained_key(config, source="model.kwargs.pretrained"):
    """Refuses `model.kwargs.pretrained`: the weights to start from are `model.pretrained`.

    The builder argument `pretrained` is passed from `model.pretrained` only, so that one
    key says what a run starts from (the 2D pretraining step writes it there too).

    Returns:
        `config`, unchanged.
    """
    if "pretrained" in config.model.kwargs:
        value = config.model.kwargs["pretrained"]
        raise ConfigError(source, "the weights a model starts from are model.pretrained, not "
                          "model.kwargs.pretrained", f"use model.pretrained={value} (in a saved "
                          "run's config.yaml: move the line from model.kwargs to model). "
                          f"Received: model.kwargs.pretrained={value!r}")
    return config


def apply_override(config, override):
    """Returns a copy of `config` with one `dotted.key=value` override (value read as YAML).

    `model.kwargs.width=16` sets one entry of a dict field.
    """
    if "=" not in override:
        raise ConfigError(override, "an override must look like key.sub=value",
                          f"valid keys: {', '.join(valid_keys())}")
    key, text = override.split("=", 1)
    key = key.strip()
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(override, f"value is not valid YAML ({exc})", "quote the value") from exc
    mapping = to_dict(config)
    parts = key.split(".")
    node, cls, prefix = mapping, ExperimentConfig, ""
    for index, part in enumerate(parts):
        names = {f.name for f in dataclasses.fields(cls)}
        if part not in names:
            raise _unknown(override, key, cls, prefix)
        kind = _hints(cls)[part]
        last = index == len(parts) - 1
        if dataclasses.is_dataclass(kind):
            if last:
                raise ConfigError(override, f"{key} is a section, not a value",
                                  f"valid keys: {', '.join(valid_keys(kind, key + '.'))}")
            node, cls, prefix = node[part], kind, f"{prefix}{part}."
            continue
        if last:
            node[part] = value
        elif kind is dict:
            # The rest of the key addresses an entry of a free-form dict (model.kwargs.x).
            target = node.setdefault(part, {})
            for sub in parts[index + 1:-1]:
                target = target.setdefault(sub, {})
            target[parts[-1]] = value
        else:
            raise _unknown(override, key, cls, prefix)
        break
    return config_from_dict(mapping, source=override)


def load_config(path=None, overrides=()):
    """Loads a YAML experiment config (or the defaults when `path` is None) plus overrides.

    Args:
        path: str or None. YAML file; may be a `config.yaml` saved in a run directory.
        overrides: iterable of str. `dotted.key=value` strings applied in order.

    Returns:
        `ExperimentConfig`.
    """
    mapping = {}
    if path:
        if not os.path.exists(path):
            raise ConfigError(path, "config file not found", "check the path given to --config")
        with open(path, encoding="utf-8") as handle:
            try:
                mapping = yaml.safe_load(handle) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(path, f"invalid YAML ({exc})", "fix the YAML syntax") from exc
    config = config_from_dict(mapping, source=path or "<defaults>")
    for override in overrides:
        config = apply_override(config, override)
    validate(config)
    return config


def validate(config):
    """Checks value ranges that types alone cannot express."""
    checks = [
        ("data.clip_length", config.data.clip_length >= 1, "at least 1"),
        ("data.batch_size", config.data.batch_size >= 1, "at least 1"),
        ("data.image_size", config.data.image_size >= 8, "at least 8"),
        ("data.validation_fraction", 0.0 < config.data.validation_fraction < 1.0,
         "between 0 and 1"),
        ("train.epochs", config.train.epochs >= 1, "at least 1"),
        ("train.learning_rate", config.train.learning_rate > 0, "positive"),
        ("train.gradient_accumulation_steps", config.train.gradient_accumulation_steps >= 1,
         "at least 1"),
        ("train.checkpoint_every", config.train.checkpoint_every >= 1, "at least 1"),
        ("train.diagnostics_every", config.train.diagnostics_every >= 1, "at least 1"),
        ("model.input_dropout", 0.0 <= config.model.input_dropout < 1.0, "in [0, 1)"),
        ("model.feature_dropout", config.model.feature_dropout is None
         or 0.0 <= config.model.feature_dropout < 1.0, "in [0, 1) or null"),
        ("sampler.sampling_temperature", config.sampler.sampling_temperature >= 0, ">= 0"),
        ("sampler.warmup_epochs", config.sampler.warmup_epochs >= 0, ">= 0"),
        ("sampler.exploration_epochs", config.sampler.exploration_epochs >= 0, ">= 0"),
    ]
    for key, ok, want in checks:
        if not ok:
            raise ConfigError(key, f"invalid value {_get(config, key)!r}", f"{key} must be {want}")
    if config.data.duration != "clip" and config.sampler.kind != "uniform":
        # Resized and random-segment clips span the whole video: there is no clip start for
        # a sampler to plan, so its score table would learn nothing.
        raise ConfigError("sampler.kind", f"{config.sampler.kind!r} plans clip starts, which "
                          f"data.duration={config.data.duration!r} does not use",
                          "set sampler.kind=uniform, or data.duration=clip")
    return config


def _get(config, key):
    node = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def to_dict(config):
    """Returns the config as a plain nested dict (YAML-serialisable)."""
    return dataclasses.asdict(config)


def save_config(config, path):
    """Writes the resolved config as YAML through an atomic rename."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_writer(path) as handle:   # never through a link planted at the temporary
        yaml.safe_dump(to_dict(config), handle, sort_keys=False)


def describe_keys():
    """Returns `key (type) = default` lines for `--help`."""
    defaults = ExperimentConfig()
    lines = []
    for key in valid_keys():
        section = key.rsplit(".", 1)[0] if "." in key else ""
        cls = type(_get(defaults, section)) if section else ExperimentConfig
        kind = _hints(cls)[key.rsplit(".", 1)[-1]]
        allowed = choices(key)
        choice = f" one of {'|'.join(allowed)}" if allowed else ""
        lines.append(f"  {key} ({_type_name(kind)}{choice}) = {_get(defaults, key)!r}")
    return "\n".join(lines)


__all__ = ["CHOICES", "REGISTRY_CHOICES", "DataConfig", "EvalConfig", "ExperimentConfig",
           "ModelConfig", "PretrainConfig", "SamplerConfig", "SyntheticConfig", "TrainConfig",
           "apply_override", "check_pretrained_key", "choices", "config_from_dict",
           "describe_keys", "load_config", "save_config", "section_from_dict", "to_dict",
           "valid_keys", "validate"]
