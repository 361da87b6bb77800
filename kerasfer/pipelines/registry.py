"""Registry of the systems `python -m kerasfer.fit` runs: `pipeline: NAME` in a config.

Adding a system is one file and one decorator:

>>> @register_pipeline("cbp_rnn_cbp_genuine_fake")
... class GenuineFakePipeline(Pipeline): ...
>>> get_pipeline("cbp_rnn_cbp_genuine_fake")
"""

from __future__ import annotations

import importlib

from kerasfer.errors import ConfigError

_PIPELINES = {}
# Modules that register the built-in pipelines, imported on first look-up (they import
# TensorFlow and the training code, which `import kerasfer.pipelines` must not pay for).
_BUILTIN_MODULES = ("kerasfer.pipelines.clip_classifier",
                    "kerasfer.pipelines.relaxed_aggregation_genuine_fake",
                    "kerasfer.pipelines.lstm_pb_genuine_fake",
                    "kerasfer.pipelines.audio_visual_fusion")


def register_pipeline(name):
    """Class decorator registering a `Pipeline` subclass under `name`.

    Args:
        name: str. The config's `pipeline` value.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A pipeline name must be a non-empty string. Received: name={name!r}")

    def decorator(cls):
        if name in _PIPELINES and _PIPELINES[name] is not cls:
            raise ValueError(f"Pipeline {name!r} is already registered by "
                             f"{_PIPELINES[name].__qualname__}. Received: name={name!r}")
        cls.name = name
        _PIPELINES[name] = cls
        return cls

    return decorator


def _load_builtins():
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def pipeline_names():
    """Returns the registered pipeline names, sorted."""
    _load_builtins()
    return sorted(_PIPELINES)


def get_pipeline(name):
    """Returns the `Pipeline` class registered as `name`.

    Raises:
        ConfigError: unknown name (the message lists the registered ones).
    """
    _load_builtins()
    if name not in _PIPELINES:
        raise ConfigError("pipeline", f"unknown pipeline {name!r}",
                          f"choose one of {', '.join(sorted(_PIPELINES))}")
    return _PIPELINES[name]
