"""i3D-VGG16: VGG16 inflated with 3×3×3 kernels and a per-frame head (thesis Section 2.1.3)."""

from __future__ import annotations

import os

import keras

from kerasfer.errors import ConfigError
from kerasfer.errors import MissingAssetError
from kerasfer.layers.attention_mask import AttentionMask
from kerasfer.layers.spatio_temporal_self_attention import SpatioTemporalSelfAttention
from kerasfer.models.inflation import inflate
from kerasfer.models.registry import register_model
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
VGG16_FC_UNITS = 4096
ATTENTIONS = (None, "mask", "context_mask", "self_attention")


@register_model("i3d_vgg16", tiny_kwargs={"width_multiplier": 1 / 16, "input_size": 32},
                tiny_input_shape=(8, 32, 32, 3))
def i3d_vgg16(num_classes, input_size=224, width_multiplier=1.0, weights=None, time_kernel=3,
              head_units=128, dropout_rate=0.5, pooling="average", pooling_temperature=1.0,
              window_size=16, temporal_padding="zero", initialization="repeat",
              attention=None, attention_kwargs=None):
    """i3D-VGG16 of the thesis: inflated VGG16, per-frame fc6/fc7 and a 1×1×1 conv head.

    Thesis (seed 004) Section 2.1.3 (Carreira & Zisserman 2017 inflation, Section 1.2.5):
    the 13 convolutions of VGG16 become 3×3×3 (temporal padding 1, no temporal stride or
    pooling, global temporal receptive field 27 frames), fc6/fc7 are applied to every frame,
    VGG's last layer is replaced by two 1×1×1 convolutions 4096 → 128 → C with dropout
    before and between, giving per-frame class scores (layer `frame_scores`) that a
    temporal pooling layer (layer `temporal_pooling`, thesis Fig. 2.2, Eq. 2.1 / 3.3)
    reduces to clip scores. At 224×224 with 7 classes it has exactly 164,206,791
    parameters, the thesis' "164M trained parameters". Inputs are VGG-preprocessed frames
    (`keras.applications.vgg16.preprocess_input`).

    Args:
        num_classes: int. C, number of classes.
        input_size: int. Frame height and width, ≥ 32; 224 reproduces the thesis (fc6 sees
            `⌊input_size / 32⌋² · 512` features, e.g. 3 × 3 × 512 at 112). Defaults to 224.
        width_multiplier: float. Scales every convolution and fc width (1.0 is the real
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        weights: str or None. Path of 2D VGG16 weights (`include_top=True`) to inflate, or
            None for random initialisation; nothing is ever downloaded. Defaults to None.
        time_kernel: int. Temporal kernel size T of the inflated convolutions. Defaults to 3.
        head_units: int. Width of the first 1×1×1 head convolution. Defaults to 128.
        dropout_rate: float. Dropout before and between the head convolutions. Defaults
            to 0.5.
        pooling: str. Temporal pooling of the frame scores, see
            `temporal_pooling_layer`; "none" returns the frame scores. Defaults to "average".
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
            `i3d_vgg16_backbone` (convolutions) and `i3d_vgg16_fc` (fc6/fc7). None keeps
            the plain model. Defaults to None.
        attention_kwargs: dict or None. Extra arguments of the attention layer. Defaults
            to None.

    Returns:
        A `keras.Model` from `(batch, frames, input_size, input_size, 3)` to
        `(batch, num_classes)` logits (or `(batch, frames, num_classes)` with
        `pooling="none"`).

    Example:

    >>> model = i3d_vgg16(7, input_size=32, width_multiplier=1 / 16)
    >>> model(np.zeros((2, 8, 32, 32, 3))).shape
    (2, 7)
    """
    check_positive_int(head_units, "head_units")
    check_vgg16_arguments(num_classes, input_size, width_multiplier, dropout_rate)
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}. "
                         f"Received: attention={attention!r}")
    vgg = vgg16_2d(input_size, width_multiplier, weights)
    inflation = dict(time_kernel=time_kernel, initialization=initialization,
                     temporal_padding=temporal_padding)
    clips = keras.Input((None, input_size, input_size, 3), name="clips")
    if attention is None:
        features_2d = keras.Model(vgg.input, vgg.get_layer("fc2").output, name="vgg16_fc7")
        backbone = inflate(features_2d, name="i3d_vgg16_backbone", **inflation)
        features = backbone(clips)  # (batch, frames, 4096): fc7 of every frame
    else:
        conv_2d = keras.Model(vgg.input, vgg.get_layer("block5_pool").output, name="vgg16_conv")
        conv5 = inflate(conv_2d, name="i3d_vgg16_backbone", **inflation)(clips)
        conv5 = attention_layer(attention, attention_kwargs)(conv5)
        # fc6 / fc7 reuse VGG's own layers (and weights) on the attended maps, per frame.
        maps = keras.Input(conv_2d.output.shape[1:], name="conv5")
        fc_2d = keras.Model(maps, vgg.get_layer("fc2")(vgg.get_layer("fc1")(
            vgg.get_layer("flatten")(maps))), name="vgg16_fc6_fc7")
        features = inflate(fc_2d, name="i3d_vgg16_fc", **inflation)(conv5)
    # Dense on (batch, frames, features) is the thesis' per-frame 1×1×1 convolution.
    x = keras.layers.Dropout(dropout_rate, name="head_dropout1")(features)
    x = keras.layers.Dense(head_units, activation="relu", name="head_conv1")(x)
    x = keras.layers.Dropout(dropout_rate, name="head_dropout2")(x)
    frame_scores = keras.layers.Dense(num_classes, name="frame_scores")(x)
    pooling_layer = temporal_pooling_layer(pooling, pooling_temperature, window_size)
    outputs = frame_scores if pooling_layer is None else pooling_layer(frame_scores)
    return keras.Model(clips, outputs, name="i3d_vgg16")


def attention_layer(attention, attention_kwargs=None):
    """The thesis Chapter 4 layer named `attention` for `i3d_vgg16(attention=...)`."""
    kwargs = dict(attention_kwargs or {})
    if attention == "context_mask":
        kwargs.setdefault("context", "multiplicative")
    if attention in ("mask", "context_mask"):
        return AttentionMask(name="attention", **kwargs)
    return SpatioTemporalSelfAttention(name="attention", **kwargs)


def vgg16_2d(input_size=224, width_multiplier=1.0, weights=None):
    """Returns the 2D VGG16 (with fc6/fc7 and its 1000-way top) that i3D-VGG16 inflates.

    With `width_multiplier=1` this is `keras.applications.VGG16(include_top=True)`; smaller
    multipliers build the same layers (same names) with fewer filters.

    Args:
        input_size: int. Image height and width. Defaults to 224.
        width_multiplier: float. Scales convolution and fc widths. Defaults to 1.0.
        weights: str or None. Path of a VGG16 weights file, or None. Defaults to None.
    """
    if weights is not None:
        if weights == "imagenet":
            raise ConfigError("weights", "downloading ImageNet weights is not allowed",
                              "pass the path of a local VGG16 weights file, or None")
        if not os.path.exists(str(weights)):
            raise MissingAssetError(weights, "VGG16 weights file not found",
                                    "pass the path of a 2D VGG16 weights file (include_top="
                                    "True), or weights=None for random initialisation")
    shape = (input_size, input_size, 3)
    if width_multiplier == 1:
        return keras.applications.VGG16(include_top=True, weights=weights, input_shape=shape)
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
    x = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, x, name="vgg16")
    if weights is not None:
        model.load_weights(weights)
    return model


def check_vgg16_arguments(num_classes, input_size, width_multiplier, dropout_rate):
    """Validates the arguments shared by the VGG16-based models (raises `ValueError`)."""
    check_positive_int(num_classes, "num_classes")
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 32:
        raise ValueError("input_size must be an int ≥ 32 (five 2×2 poolings). "
                         f"Received: input_size={input_size!r}")
    if (isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float))
            or not 0 < width_multiplier <= 1):
        raise ValueError("width_multiplier must be in (0, 1]. "
                         f"Received: width_multiplier={width_multiplier!r}")
    if (isinstance(dropout_rate, bool) or not isinstance(dropout_rate, (int, float))
            or not 0 <= dropout_rate < 1):
        raise ValueError(f"dropout_rate must be in [0, 1). Received: dropout_rate={dropout_rate!r}")


def check_positive_int(value, name):
    """Raises `ValueError` unless `value` is an int ≥ 1 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
