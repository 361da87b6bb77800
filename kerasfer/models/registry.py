"""The model registry: `get_model(name, num_classes, **kwargs)`.

Every registered builder follows one contract (`kerasfer.models.contract`):

    builder(num_classes, *, input_shape=None, pooling=<family default>,
            dropout_rate=<family default>, input_dropout_rate=0.0, pretrained=False,
            **family_kwargs)

and returns a `keras.Model` mapping a clip batch `(batch, frames, height, width, channels)`
to logits `(batch, num_classes)`. `input_shape=None` is the family's paper input.
`pooling` is the temporal pooling of per-frame scores, one vocabulary for all families
(`contract.POOLINGS`: "average", "max", "softmax", "adaptive_softmax", "windowed_softmax",
"joint_softmax"; None = no per-frame scores, the clip is scored as a whole). Models with
per-frame scores are `ClipClassifier`s (or follow its layer names): a layer `frame_scores`
`(batch, frames', num_classes)` followed by a layer `temporal_pooling`.

`ModelSpec.temporal_output` says what a model gives in time, so whole-video inference and
the experiment read it instead of probing:

* `"clip"`: one score per fixed-length clip (C3D's fc layers, a Bi-LSTM over the clip);
  build it with `input_shape=(clip_length, ...)` and score a video by sliding windows.
* `"dense"`: one frame score per input frame (`frame_scores` has `frames` steps); any T.
* `"strided"`: fully convolutional with temporal strides (`frame_scores` has fewer steps
  than input frames); any T.

`tiny_kwargs` (including `input_shape`) build a CPU-sized variant used by the
registry-driven tests; `tiny_input_shape` is the per-sample input of that variant.

Example:

>>> spec = model_spec("c3d")
>>> model = get_model("c3d", num_classes=7, **spec.tiny_kwargs)
>>> spec.temporal_output
'clip'
"""

from __future__ import annotations

import dataclasses

from kerasfer.errors import ConfigError
from kerasfer.models.contract import TEMPORAL_OUTPUTS

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A registered model family.

    Args:
        name: str. Registry name, e.g. "c3d".
        builder: callable. `builder(num_classes, *, input_shape, pooling, dropout_rate,
            input_dropout_rate, pretrained, **family_kwargs) -> keras.Model`.
        tiny_kwargs: dict. Keyword arguments of a tiny CPU variant for tests.
        tiny_input_shape: tuple. Per-sample input shape of the tiny variant, e.g.
            `(16, 32, 32, 3)`.
        temporal_output: str. `"clip"`, `"dense"` or `"strided"` (module docstring).
        description: str. One line shown by `list_models()`.
    """

    name: str
    builder: object
    tiny_kwargs: dict
    tiny_input_shape: tuple
    temporal_output: str
    description: str = ""


def register_model(name, *, tiny_kwargs, tiny_input_shape, temporal_output, description=""):
    """Decorator registering a contract builder (module docstring) under `name`."""
    if temporal_output not in TEMPORAL_OUTPUTS:
        raise ValueError(f"temporal_output must be one of {TEMPORAL_OUTPUTS}. "
                         f"Received: temporal_output={temporal_output!r}")

    def decorator(builder):
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"Model name already registered. Received: name={name}")
        _REGISTRY[name] = ModelSpec(name, builder, dict(tiny_kwargs), tuple(tiny_input_shape),
                                    temporal_output,
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
        **kwargs: the contract arguments (`input_shape`, `pooling`, `dropout_rate`,
            `input_dropout_rate`, `pretrained`) and the family's own (width, depth, ...).

    Returns:
        A `keras.Model`.
    """
    return model_spec(name).builder(num_classes, **kwargs)
