"""Copies the weights of a saved 2D model into a freshly built one, by layer name.

Used by the 2D families that `kerasfer.models.inflate` turns into 3D models
(`fer_mini_xception_2d`, `small_cnn_2d`): a 2D model pretrained on static expressions
(Ayral (2021) master's thesis, Sections 1.2.5 and 2.1.3) is saved with `model.save(path)`
and reloaded into a model of another class count, input size or channel count.
"""

from __future__ import annotations

import keras
import numpy as np


def load_pretrained_2d(path, family):
    """Loads the saved 2D model at `path`; one `ValueError` with the fix when unreadable.

    Args:
        path: str. A `.keras` file written by `model.save(path)`.
        family: str. The 2D family expected, used in the message.
    """
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
        raise ValueError(f"{family}: cannot load the pretrained 2D model ({error}); save a "
                         f"{family} with model.save(path). Received: pretrained={path!r}"
                         ) from error


def copy_weights(source, model, *, family, classifier, first_convolution, source_names=None):
    """Copies the weights of a 2D `source` into `model`, layer by layer, by name.

    The classifier is skipped when the class counts differ; the first convolution is
    adapted when the channel counts differ (1 → C: the grey kernel divided by C on every
    channel, so a grey image and its C-channel copy score the same; C → 1: the channel
    kernels summed).

    Args:
        source: keras.Model. The saved 2D model.
        model: keras.Model. The freshly built 2D model of the same family.
        family: str. Family name for the error messages.
        classifier: str. Name of the classifier layer (skipped on a class-count mismatch).
        first_convolution: str. Name of the first convolution (channel adaptation).
        source_names: dict or None. `model` layer name → `source` layer name, where they
            differ. Defaults to None (same names).

    Raises:
        ValueError: `source` is not of this architecture.
    """
    source_names = source_names or {}
    for layer in model.layers:
        if not layer.weights:
            continue
        source_name = source_names.get(layer.name, layer.name)
        try:
            weights = source.get_layer(source_name).get_weights()
        except ValueError as error:
            raise ValueError(f"The pretrained model is not a {family}: it has no layer "
                             f"{source_name!r}. Received: source={source.name}") from error
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        if [w.shape for w in weights] == shapes:
            layer.set_weights(weights)
        elif layer.name == classifier:
            continue  # another number of classes: the classifier starts from scratch
        elif layer.name == first_convolution and len(weights) == 1:
            layer.set_weights([adapt_channels(weights[0], shapes[0][2])])
        else:
            raise ValueError(f"The pretrained layer {source_name!r} has weights "
                             f"{[w.shape for w in weights]}, this model {shapes}. "
                             f"Received: source={source.name}")


def adapt_channels(kernel, channels):
    """A `(k, k, c, filters)` kernel for `channels` input channels (1 ↔ C)."""
    if kernel.shape[2] == 1:
        return np.repeat(kernel, channels, axis=2) / channels
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    raise ValueError(f"Cannot map a {kernel.shape[2]}-channel first convolution to "
                     f"{channels} channels (only 1 ↔ C). Received: channels={channels}")


__all__ = ["adapt_channels", "copy_weights", "load_pretrained_2d"]
