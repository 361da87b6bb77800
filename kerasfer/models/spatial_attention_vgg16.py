"""VGG16 + multi-head spatial attention + temporal softmax pooling (seed paper 001)."""

from __future__ import annotations

import keras

from kerasfer.layers.joint_softmax_pooling import JointSoftmaxPooling
from kerasfer.layers.multi_head_spatial_attention import MultiHeadSpatialAttention
from kerasfer.models.i3d_vgg16 import check_vgg16_arguments
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.inflation import inflate
from kerasfer.models.registry import register_model
from kerasfer.models.temporal_pooling_head import POOLINGS
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

LOCAL_FEATURES = "block5_conv3"


@register_model("spatial_attention_vgg16",
                tiny_kwargs={"width_multiplier": 1 / 16, "input_size": 32,
                             "attention_units": 8},
                tiny_input_shape=(4, 32, 32, 3))
def spatial_attention_vgg16(num_classes, input_size=224, width_multiplier=1.0, weights=None,
                            heads=2, attention_units=350, penalty_coefficient=1.0,
                            dropout_rate=0.0, pooling="joint_softmax", pooling_temperature=1.0,
                            window_size=16):
    """Per-frame VGG16 conv5_3 features, multi-head spatial attention, joint softmax pooling.

    Seed paper 001 (Fig. 1, Section 3): every frame goes through the convolutions of VGG16
    up to conv5_3 (Eq. 1; the paper uses VGG-Face weights), giving L = (input_size/16)²
    local descriptors of D = 512 channels (layer `vgg16_backbone`, applied per frame: the
    2D VGG16 inflated with a temporal kernel of 1, so no information crosses frames). The
    N-head attention of Eq. 4 pools them into one `N·D` vector per frame (layer
    `spatial_attention`, adding the `‖A Aᵀ − I‖_F²` penalty to the training loss), a single
    fully connected layer `O = W_sm V` gives the per-frame class scores (layer
    `frame_scores`, `(batch, frames, num_classes)`), and the joint softmax over frames ×
    classes of Eq. 5, marginalised over frames (layer `temporal_pooling`), gives logits
    whose softmax is p(c | S), so softmax cross-entropy on them is Eq. 6. The defaults are
    the paper's best setting of Table 1 (2 heads, regularisation 1, 49.0% on AFEW
    validation); the paper trains on 16 random frames per clip (Section 4.2), but any
    number of frames is accepted. Inputs are VGG-preprocessed faces
    (`keras.applications.vgg16.preprocess_input`); the paper crops 256×256 aligned faces
    at random, the crop size is not given (224 is VGG16's). At 224 with 7 classes the
    model has 14,714,688 (VGG16 convolutions) + 512·350 + 350·2 (attention) +
    1024·7 + 7 (W_sm) = 14,901,763 parameters.

    Args:
        num_classes: int. E, number of emotion classes (7 on AFEW).
        input_size: int. Frame height and width, ≥ 32; conv5_3 has ⌊input_size/16⌋²
            positions (14 × 14 at 224; a weights file needs 224). Defaults to 224.
        width_multiplier: float. Scales every VGG16 convolution width (1.0 is
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        weights: str or None. Path of 2D VGG16 weights (`include_top=True`, the file
            `i3d_vgg16` takes; e.g. VGG-Face converted to Keras layer names) whose
            convolutions are used, or None for random initialisation; nothing is ever
            downloaded. Defaults to None.
        heads: int. N, attention heads (Table 1: 1, 2 or 4). Defaults to 2.
        attention_units: int. U, hidden width of `W_s1` (not given in the paper; 350 is
            Lin et al. 2017's d_a). Defaults to 350.
        penalty_coefficient: float. Weight of `‖A Aᵀ − I‖_F²` (Table 1 "Reg.": 0, 0.1 or
            1); 0 disables it. Defaults to 1.0.
        dropout_rate: float. Dropout on V before `W_sm` (the paper mentions none).
            Defaults to 0.0.
        pooling: str. "joint_softmax" (Eq. 5–6), or any pooling of
            `temporal_pooling_layer` ("average" is the paper's VGG+AVG of Table 2); "none"
            returns the frame scores. Defaults to "joint_softmax".
        pooling_temperature: float. γ of the joint softmax (1 is the paper) or of
            "softmax"/"windowed_softmax". Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.

    Returns:
        A `keras.Model` from `(batch, frames, input_size, input_size, 3)` to
        `(batch, num_classes)` logits (or `(batch, frames, num_classes)` with
        `pooling="none"`).

    Example:

    >>> model = spatial_attention_vgg16(7, input_size=32, width_multiplier=1 / 16)
    >>> model(np.zeros((2, 16, 32, 32, 3))).shape
    (2, 7)
    """
    check_vgg16_arguments(num_classes, input_size, width_multiplier, dropout_rate)
    if pooling not in ("joint_softmax",) + POOLINGS:
        raise ValueError(f"pooling must be one of {('joint_softmax',) + POOLINGS}. "
                         f"Received: pooling={pooling!r}")
    backbone = inflate(vgg16_local_features(input_size, width_multiplier, weights),
                       time_kernel=1, name="vgg16_backbone")
    attention = MultiHeadSpatialAttention(heads=heads, attention_units=attention_units,
                                          penalty_coefficient=penalty_coefficient,
                                          name="spatial_attention")

    clips = keras.Input((None, input_size, input_size, 3), name="clips")
    local_features = backbone(clips)  # (batch, frames, input_size/16, input_size/16, D): R
    x = attention(local_features)  # (batch, frames, heads * D): V, one row per frame
    if dropout_rate > 0:
        x = keras.layers.Dropout(dropout_rate, name="attention_dropout")(x)
    frame_scores = keras.layers.Dense(num_classes, name="frame_scores")(x)  # O = W_sm V
    if pooling == "joint_softmax":
        pooling_layer = JointSoftmaxPooling(pooling_temperature, name="temporal_pooling")
    else:
        pooling_layer = temporal_pooling_layer(pooling, pooling_temperature, window_size)
    outputs = frame_scores if pooling_layer is None else pooling_layer(frame_scores)
    return keras.Model(clips, outputs, name="spatial_attention_vgg16")


def vgg16_local_features(input_size=224, width_multiplier=1.0, weights=None):
    """Returns the 2D VGG16 up to conv5_3, `(batch, input_size/16, input_size/16, 512)`.

    Seed paper 001 Eq. 1: the last convolutional feature map of VGG16 (before pool5). With
    `width_multiplier=1` and no weights this is `keras.applications.VGG16(include_top=False)`
    without `block5_pool`; otherwise the layers of `vgg16_2d` (same names, narrower widths,
    weights from a local `include_top=True` file) cut at `block5_conv3`.

    Args:
        input_size: int. Image height and width. Defaults to 224.
        width_multiplier: float. Scales convolution widths. Defaults to 1.0.
        weights: str or None. Path of a VGG16 weights file, or None. Defaults to None.
    """
    shape = (input_size, input_size, 3)
    if weights is None and width_multiplier == 1:
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=shape)
    else:
        vgg = vgg16_2d(input_size, width_multiplier, weights)
    return keras.Model(vgg.input, vgg.get_layer(LOCAL_FEATURES).output, name="vgg16_conv5_3")
