"""Registry of the split protocols that `data.split` names (one decorator per protocol).

A protocol is a function `(records, data_config, seed) -> split dict` (`{"name",
"protocol", "seed", "train", "validation", "test"}`, see `kerasfer.data.folds`). The
config's choices for `data.split` come from `split_protocol_names()`.

Example:

>>> @register_split_protocol("my_protocol")
... def my_protocol(records, data_config, seed):
...     return folds.subject_holdout_split(records, seed=seed)
>>> make_split("my_protocol", records, config.data, seed=0)["train"][:2]
"""

from __future__ import annotations

import importlib

from kerasfer.errors import ConfigError

_PROTOCOLS = {}
_BUILTIN_MODULE = "kerasfer.data.splits.builtin_split_protocols"


def register_split_protocol(name):
    """Function decorator registering a split protocol under `name`.

    Args:
        name: str. The value of `data.split` that selects it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("A split protocol name must be a non-empty string. "
                         f"Received: name={name!r}")

    def decorator(function):
        if name in _PROTOCOLS and _PROTOCOLS[name] is not function:
            raise ValueError(f"Split protocol {name!r} is already registered. "
                             f"Received: name={name!r}")
        _PROTOCOLS[name] = function
        return function

    return decorator


def split_protocol_names():
    """Returns the registered protocol names, in registration order."""
    importlib.import_module(_BUILTIN_MODULE)
    return tuple(_PROTOCOLS)


def make_split(name, records, data_config, seed=0):
    """Runs protocol `name` on manifest `records`; returns the split dict.

    Args:
        name: str. A registered protocol (`split_protocol_names()`).
        records: list of dict. Manifest records.
        data_config: `kerasfer.config.DataConfig` (validation_fraction, num_folds, fold).
        seed: int. Defaults to 0.
    """
    names = split_protocol_names()
    if name not in _PROTOCOLS:
        raise ConfigError("data.split", f"unknown split protocol {name!r}",
                          f"use one of {', '.join(names)}")
    return _PROTOCOLS[name](records, data_config, seed)
