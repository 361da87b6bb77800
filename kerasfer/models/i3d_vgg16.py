"""i3D-VGG16: VGG16 inflated with 3×3×3 kernels and a per-frame head (Ayral (2021), 2.1.3)."""

from __future__ import annotations

import os

import keras

from kerasfer.layers.attention_mask import AttentionMask
from kerasfer.layers.spatio_temporal_self_attention import SpatioTemporalSelfAttention
from kerasfer.models.backbone_2d_registry import register_backbone_2d
from kerasfer.models.clip_classifier import ClipClassifier
from kerasfer.models.contract import check_image_shape
from kerasfer.models.contract import check_input_shape
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
from kerasfer.models.contract import check_rate
from kerasfer.models.inflation import inflate
from kerasfer.models.registry import register_model

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
VGG16_FC_UNITS = 4096
ATTENTIONS = (None, "mask", "context_mask", "self_attention")
# The registered families that load a saved 2D VGG16 by layer name (`pretrained=path`).
VGG16_FAMILIES = ("i3d_vgg16", "spatial_attention_vgg16", "cnn_bilstm")


@register_model("i3d_vgg16",
                tiny_kwargs={"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3)},
                tiny_input_shape=(8, 32, 32, 3), temporal_output="dense")
def i3d_vgg16(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.5,
              input_dropout_rate=0.0, pretrained=False, width_multiplier=1.0, time_kernel=3,
              head_units=128, pooling_temperature=1.0, window_size=16,
              temporal_padding="zero", initialization="repeat", attention=None,
              attention_kwargs=None):
    """i3D-VGG16 of Ayral (2021): inflated VGG16, per-frame fc6/fc7 and a 1×1×1 conv head.

    Thesis Section 2.1.3 (Carreira & Zisserman 2017 inflation, Section 1.2.5): the 13
    convolutions of VGG16 become 3×3×3 (temporal padding 1, no temporal stride or pooling,
    global temporal receptive field 27 frames) and fc6/fc7 are applied to every frame (the
    backbone `i3d_vgg16_backbone`, `(batch, frames, 4096)`); VGG's last layer is replaced
    by two 1×1×1 convolutions 4096 → 128 → C with dropout before and between (the
    `ClipClassifier` head: `hidden_dropout`, `hidden`, `classifier_dropout`, `classifier`),
    giving per-frame class scores (layer `frame_scores`) that a temporal pooling (layer
    `temporal_pooling`, thesis Fig. 2.2, Eq. 2.1 / 3.3) reduces to clip scores. At 224×224
    with 7 classes it has exactly 164,206,791 parameters, the thesis' "164M trained
    parameters". Inputs are VGG-preprocessed frames
    (`keras.applications.vgg16.preprocess_input`).

    Args:
        num_classes: int. C, number of classes.
        input_shape: tuple or None. `(frames, height, width, 3)`, frames may be None,
            height and width ≥ 32 (fc6 sees `⌊h / 32⌋ · ⌊w / 32⌋ · 512` features). None
            means `(None, 224, 224, 3)`, the thesis.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`). Defaults to
            "average".
        dropout_rate: float. Dropout before and between the head convolutions (thesis
            Section 2.2.3.4: 0.9). Defaults to 0.5.
        input_dropout_rate: float. Dropout on the input clip (thesis: 0.3). Defaults to 0.0.
        pretrained: bool, None or str. A path of 2D VGG16 weights to inflate: a saved
            `.keras` VGG16 (e.g. `vgg16_2d(...).save(path)`; layers matched by name) or a
            weights file of `vgg16_2d` (`include_top=True`); nothing is ever downloaded,
            so True raises. Defaults to False.
        width_multiplier: float. Scales every convolution and fc width (1.0 is the real
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        time_kernel: int. Temporal kernel size T of the inflated convolutions. Defaults to 3.
        head_units: int. Width of the first 1×1×1 head convolution. Defaults to 128.
        pooling_temperature: float. γ_p of softmax pooling (Eq. 3.3). Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.
        temporal_padding: str. "zero" or "replicate", see `inflate`. Defaults to "zero".
        initialization: str. "repeat" or "center", see `inflate`. Defaults to "repeat".
        attention: str or None. Thesis Chapter 4 (Section 4.5.1: "between the feature-
            extraction layers and the classifier"): a layer named `attention` on the conv5
            maps `(batch, frames, h, w, 512)` before the per-frame fc6 — `"mask"`
            (`AttentionMask`, Eq. 4.10), `"context_mask"` (its multiplicative context mask,
            Table 4.1's best) or `"self_attention"` (`SpatioTemporalSelfAttention`, Section
            4.4). All start as the identity (zero-initialised outputs), so a pretrained
            model starts from its own scores. The backbone is then two inflated models,
            `i3d_vgg16_conv` (convolutions) and `i3d_vgg16_fc` (fc6/fc7), around it. None
            keeps the plain model. Defaults to None.
        attention_kwargs: dict or None. Extra arguments of the attention layer. Defaults
            to None.

    Returns:
        A `ClipClassifier` from `(batch, frames, height, width, 3)` to `(batch, num_classes)`
        logits.

    Example:

    >>> model = i3d_vgg16(7, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16)
    >>> model(np.zeros((2, 8, 32, 32, 3))).shape
    (2, 7)
    """
    check_positive_int(head_units, "head_units")
    input_shape = check_vgg16_arguments(num_classes, input_shape, width_multiplier,
                                        dropout_rate, "i3d_vgg16")
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}. "
                         f"Received: attention={attention!r}")
    pretrained = check_pretrained(pretrained, "i3d_vgg16", path=True)
    vgg = vgg16_2d(input_shape[1:], width_multiplier, pretrained or None)
    inflation = dict(time_kernel=time_kernel, initialization=initialization,
                     temporal_padding=temporal_padding)
    if attention is None:
        features_2d = keras.Model(vgg.input, vgg.get_layer("fc2").output, name="vgg16_fc7")
        backbone = inflate(features_2d, name="i3d_vgg16_backbone", **inflation)
    else:
        conv_2d = keras.Model(vgg.input, vgg.get_layer("block5_pool").output, name="vgg16_conv")
        clips = keras.Input((None,) + input_shape[1:], name="clips")
        conv5 = inflate(conv_2d, name="i3d_vgg16_conv", **inflation)(clips)
        conv5 = attention_layer(attention, attention_kwargs)(conv5)
        # fc6 / fc7 reuse VGG's own layers (and weights) on the attended maps, per frame.
        maps = keras.Input(conv_2d.output.shape[1:], name="conv5")
        fc_2d = keras.Model(maps, vgg.get_layer("fc2")(vgg.get_layer("fc1")(
            vgg.get_layer("flatten")(maps))), name="vgg16_fc6_fc7")
        features = inflate(fc_2d, name="i3d_vgg16_fc", **inflation)(conv5)
        backbone = keras.Model(clips, features, name="i3d_vgg16_backbone")
    # Dense on (batch, frames, features) is the thesis' per-frame 1×1×1 convolution.
    return ClipClassifier(backbone, num_classes, pooling=pooling, dropout_rate=dropout_rate,
                          input_dropout_rate=input_dropout_rate, hidden_units=head_units,
                          pooling_temperature=pooling_temperature, window_size=window_size,
                          name="i3d_vgg16")


def attention_layer(attention, attention_kwargs=None):
    """The thesis Chapter 4 layer named `attention` for `i3d_vgg16(attention=...)`."""
    kwargs = dict(attention_kwargs or {})
    if attention == "context_mask":
        kwargs.setdefault("context", "multiplicative")
    if attention in ("mask", "context_mask"):
        return AttentionMask(name="attention", **kwargs)
    return SpatioTemporalSelfAttention(name="attention", **kwargs)


@register_backbone_2d("vgg16_2d", inflated_by=VGG16_FAMILIES, outputs="probabilities")
def vgg16_2d_classifier(num_classes, *, input_shape=(224, 224, 3), pretrained=False,
                        width_multiplier=1.0):
    """The 2D VGG16 of `vgg16_2d` with a `num_classes`-way softmax top, for face pretraining.

    Registered as the 2D backbone "vgg16_2d" (`pretrain.model=vgg16_2d`,
    `kerasfer.training.pretraining`): trained on static faces, the synthetic analogue of
    the VGG-Face initialisation of Aminbeidokhti et al. (2019, Section 4.2) and Fan et al.
    (2017), saved, then loaded by layer name by every family of `VGG16_FAMILIES` with the
    same `width_multiplier`. None of them uses the top (layer `predictions`).

    Args:
        num_classes: int. Classes of the softmax top.
        input_shape: tuple. `(height, width, 3)`, height and width ≥ 32. Defaults to
            `(224, 224, 3)`.
        pretrained: bool, None or str. False/None: random; a path: a saved 2D VGG16 (any
            top) copied by layer name. True raises (nothing is downloaded). Defaults to False.
        width_multiplier: float. Scales convolution and fc widths, as in the 3D families.
            Defaults to 1.0.

    Returns:
        A `keras.Model` from faces `(batch, height, width, 3)` to class probabilities.

    Example:

    >>> model = vgg16_2d_classifier(3, input_shape=(32, 32, 3), width_multiplier=1 / 16)
    >>> model(np.zeros((2, 32, 32, 3))).shape
    (2, 3)
    """
    shape = check_image_shape(input_shape, "vgg16_2d")
    check_vgg16_arguments(num_classes, (None,) + shape, width_multiplier, 0.0, "vgg16_2d")
    pretrained = check_pretrained(pretrained, "vgg16_2d", path=True)
    return vgg16_2d(shape, width_multiplier, pretrained or None, classes=num_classes)


def vgg16_2d(input_shape=(224, 224, 3), width_multiplier=1.0, weights=None, classes=1000):
    """Returns the 2D VGG16 (with fc6/fc7 and its softmax top) that i3D-VGG16 inflates.

    With `width_multiplier=1` this is `keras.applications.VGG16(include_top=True)`; smaller
    multipliers build the same layers (same names) with fewer filters.

    Args:
        input_shape: tuple or int. `(height, width, 3)`, or one int for square images.
            Defaults to `(224, 224, 3)`.
        width_multiplier: float. Scales convolution and fc widths. Defaults to 1.0.
        weights: str or None. Path of a saved `.keras` VGG16 (weights copied by layer
            name) or of a VGG16 weights file, or None. Defaults to None.
        classes: int. Units of the softmax top (layer `predictions`). Defaults to 1000.
    """
    if isinstance(input_shape, int):
        input_shape = (input_shape, input_shape, 3)
    shape = tuple(input_shape)
    if width_multiplier == 1:
        model = keras.applications.VGG16(include_top=True, weights=None, input_shape=shape,
                                         classes=classes)
    else:
        inputs = keras.Input(shape)
        x = inputs
        for block, (filters, repeats) in enumerate(VGG16_BLOCKS, start=1):
            for index in range(1, repeats + 1):
                x = keras.layers.Conv2D(max(1, round(filters * width_multiplier)), 3,
                                        padding="same", activation="relu",
                                        name=f"block{block}_conv{index}")(x)
            x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        units = max(1, round(VGG16_FC_UNITS * width_multiplier))
        x = keras.layers.Dense(units, activation="relu", name="fc1")(x)
        x = keras.layers.Dense(units, activation="relu", name="fc2")(x)
        x = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
        model = keras.Model(inputs, x, name="vgg16")
    if weights is not None:
        load_vgg16_weights(model, weights)
    return model


def load_vgg16_weights(model, path):
    """Loads a saved `.keras` VGG16 (by layer name) or a weights file into `model`.

    From a `.keras` file, a top (layer `predictions`) with another class count is skipped:
    the VGG16 families never use it, so a face-pretrained `vgg16_2d_classifier` loads too.
    """
    if not os.path.isfile(str(path)):
        raise ValueError("VGG16 weights file not found (nothing is ever downloaded); pass the "
                         f"path of a saved 2D VGG16. Received: pretrained={path!r}")
    if not str(path).endswith(".keras"):
        model.load_weights(path)
        return
    source = keras.saving.load_model(path, compile=False)
    for layer in model.layers:
        if layer.weights:
            try:
                source_layer = source.get_layer(layer.name)
            except ValueError as error:
                raise ValueError(f"The pretrained model is not a VGG16: it has no layer "
                                 f"{layer.name!r}. Received: pretrained={path!r}") from error
            weights = source_layer.get_weights()
            shapes = ([tuple(w.shape) for w in weights], [tuple(w.shape) for w in layer.weights])
            if layer.name == "predictions" and shapes[0] != shapes[1]:
                continue
            if layer.name != "predictions" and len(shapes[0]) == len(shapes[1]) and any(
                    len(a) == len(b) and a != b for a, b in zip(*shapes)):
                # Same rank, other sizes: a VGG16 of another width (inflated kernels add a
                # time axis, which `set_weights` reports itself).
                raise ValueError(f"The pretrained VGG16's layer {layer.name!r} has weights "
                                 f"{shapes[0]}, this model's {shapes[1]}: train or pass a "
                                 "VGG16 of the same model.kwargs.width_multiplier. "
                                 f"Received: pretrained={path!r}")
            layer.set_weights(weights)


def check_vgg16_arguments(num_classes, input_shape, width_multiplier, dropout_rate, family):
    """Validates the arguments shared by the VGG16-based models; returns `input_shape`.

    `input_shape=None` means `(None, 224, 224, 3)`. Raises `ValueError`.
    """
    check_positive_int(num_classes, "num_classes")
    input_shape = check_input_shape((None, 224, 224, 3) if input_shape is None else input_shape,
                                    family, min_size=32, channels=3)
    if (isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float))
            or not 0 < width_multiplier <= 1):
        raise ValueError("width_multiplier must be in (0, 1]. "
                         f"Received: width_multiplier={width_multiplier!r}")
    check_rate(dropout_rate, "dropout_rate")
    return input_shape
