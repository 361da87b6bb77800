"""The model registry: `get_model(name, num_classes, **kwargs)`.

Each model family registers a builder function with `register_model`. The builder takes
`num_classes` and keyword arguments and returns a `keras.Model` mapping a clip batch
`(batch, frames, height, width, channels)` to logits `(batch, num_classes)` (or, for landmark
and feature models, the documented input). `tiny_kwargs` is a CPU-sized variant (small width,
small input) used by the registry-driven tests; `input_shape` the per-sample input shape of
that tiny variant.

Example:

>>> model = get_model("c3d", num_classes=7, **model_spec("c3d").tiny_kwargs)
"""

from __future__ import annotations

import dataclasses

from kerasfer.errors import ConfigError

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A registered model family.

    Args:
        name: str. Registry name, e.g. "c3d".
        builder: callable. `builder(num_classes, **kwargs) -> keras.Model`.
        tiny_kwargs: dict. Keyword arguments of a tiny CPU variant for tests.
        tiny_input_shape: tuple. Per-sample input shape of the tiny variant, e.g.
            `(16, 32, 32, 3)`.
        description: str. One line shown by `list_models()`.
    """

    name: str
    builder: object
    tiny_kwargs: dict
    tiny_input_shape: tuple
    description: str = ""


def register_model(name, *, tiny_kwargs, tiny_input_shape, description=""):
    """Decorator registering `builder(num_classes, **kwargs)` under `name`."""

    def decorator(builder):
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"Model name already registered. Received: name={name}")
        _REGISTRY[name] = ModelSpec(name, builder, dict(tiny_kwargs), tuple(tiny_input_shape),
                                    description or (builder.__doc__ or "").strip().split("\n")[0])
        return builder

    return decorator


def list_models():
    """Returns the sorted names of all registered models."""
    return sorted(_REGISTRY)


def model_spec(name):
    """Returns the `ModelSpec` registered under `name`."""
    if name not in _REGISTRY:
        raise ConfigError("model.name", f"unknown model {name!r}",
                          f"choose one of {', '.join(list_models())}")
    return _REGISTRY[name]


def get_model(name, num_classes, **kwargs):
    """Builds the model registered under `name`.

    Args:
        name: str. A name from `list_models()`.
        num_classes: int. Number of output classes.
        **kwargs: forwarded to the model's builder (width, input size, pooling, ...).

    Returns:
        A `keras.Model`.
    """
    return model_spec(name).builder(num_classes, **kwargs)
