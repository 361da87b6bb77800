"""VGG16 + multi-head spatial attention + temporal softmax pooling (EmotiW, AFEW)."""

from __future__ import annotations

import keras

from kerasfer.layers.multi_head_spatial_attention import MultiHeadSpatialAttention
from kerasfer.models.clip_classifier import ClipClassifier
from kerasfer.models.contract import check_pretrained
from kerasfer.models.i3d_vgg16 import check_vgg16_arguments
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.inflation import inflate
from kerasfer.models.registry import register_model

LOCAL_FEATURES = "block5_conv3"


@register_model("spatial_attention_vgg16",
                tiny_kwargs={"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3),
                             "attention_units": 8},
                tiny_input_shape=(4, 32, 32, 3), temporal_output="dense")
def spatial_attention_vgg16(num_classes, *, input_shape=None, pooling="joint_softmax",
                            dropout_rate=0.0, input_dropout_rate=0.0, pretrained=False,
                            width_multiplier=1.0, heads=2, attention_units=350,
                            penalty_coefficient=1.0, pooling_temperature=1.0, window_size=16):
    """Per-frame VGG16 conv5_3 features, multi-head spatial attention, joint softmax pooling.

    The spatial attention + temporal softmax pooling EmotiW paper (Fig. 1, Section 3):
    every frame goes through the convolutions of VGG16 up to conv5_3 (Eq. 1; the paper
    uses VGG-Face weights), giving L = (h/16)·(w/16) local descriptors of D = 512 channels
    (the 2D VGG16 inflated with a temporal kernel of 1, so no information crosses frames).
    The N-head attention of Eq. 4 pools them into one `N·D` vector per frame (layer
    `spatial_attention`, adding the `‖A Aᵀ − I‖_F²` penalty to the training loss); both
    form the backbone `spatial_attention_vgg16_backbone`, `(batch, frames, N·D)`. The
    `ClipClassifier` head: a single fully connected layer `O = W_sm V` (layer
    `classifier`) gives the per-frame class scores (layer `frame_scores`), and the joint
    softmax over frames × classes of Eq. 5, marginalised over frames (layer
    `temporal_pooling`), gives logits whose softmax is p(c | S), so softmax cross-entropy
    on them is Eq. 6. The defaults are the paper's best setting of Table 1 (2 heads,
    regularisation 1, 49.0% on AFEW validation); the paper trains on 16 random frames per
    clip (Section 4.2), but any number of frames is accepted. Inputs are VGG-preprocessed
    faces (`keras.applications.vgg16.preprocess_input`); the paper crops 256×256 aligned
    faces at random, the crop size is not given (224 is VGG16's). At 224 with 7 classes the
    model has 14,714,688 (VGG16 convolutions) + 512·350 + 350·2 (attention) +
    1024·7 + 7 (W_sm) = 14,901,763 parameters.

    Args:
        num_classes: int. E, number of emotion classes (7 on AFEW).
        input_shape: tuple or None. `(frames, height, width, 3)`, frames may be None,
            height and width ≥ 32. None means `(None, 224, 224, 3)`.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`):
            "joint_softmax" (Eq. 5–6) or e.g. "average" (the paper's VGG+AVG of Table 2).
            Defaults to "joint_softmax".
        dropout_rate: float. Dropout on V before `W_sm` (the paper mentions none).
            Defaults to 0.0.
        input_dropout_rate: float. Dropout on the input clip. Defaults to 0.0.
        pretrained: bool, None or str. A path of 2D VGG16 weights whose convolutions are
            used (a saved `.keras` VGG16 or a `vgg16_2d` weights file, `include_top=True`,
            e.g. VGG-Face converted to Keras layer names); nothing is ever downloaded, so
            True raises. Defaults to False.
        width_multiplier: float. Scales every VGG16 convolution width (1.0 is
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        heads: int. N, attention heads (Table 1: 1, 2 or 4). Defaults to 2.
        attention_units: int. U, hidden width of `W_s1` (not given in the paper; 350 is
            Lin et al. 2017's d_a). Defaults to 350.
        penalty_coefficient: float. Weight of `‖A Aᵀ − I‖_F²` (Table 1 "Reg.": 0, 0.1 or
            1); 0 disables it. Defaults to 1.0.
        pooling_temperature: float. γ of the joint softmax (1 is the paper) or of
            "softmax"/"windowed_softmax". Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.

    Returns:
        A `ClipClassifier` from `(batch, frames, height, width, 3)` to `(batch, num_classes)`
        logits.

    Example:

    >>> model = spatial_attention_vgg16(7, input_shape=(None, 32, 32, 3),
    ...                                 width_multiplier=1 / 16)
    >>> model(np.zeros((2, 16, 32, 32, 3))).shape
    (2, 7)
    """
    input_shape = check_vgg16_arguments(num_classes, input_shape, width_multiplier,
                                        dropout_rate, "spatial_attention_vgg16")
    pretrained = check_pretrained(pretrained, "spatial_attention_vgg16", path=True)
    local_features = inflate(vgg16_local_features(input_shape[1:], width_multiplier,
                                                  pretrained or None),
                             time_kernel=1, name="vgg16_backbone")
    attention = MultiHeadSpatialAttention(heads=heads, attention_units=attention_units,
                                          penalty_coefficient=penalty_coefficient,
                                          name="spatial_attention")
    clips = keras.Input((None,) + input_shape[1:], name="clips")
    # R: (batch, frames, h/16, w/16, D) → V: (batch, frames, heads * D), one row per frame.
    backbone = keras.Model(clips, attention(local_features(clips)),
                           name="spatial_attention_vgg16_backbone")
    return ClipClassifier(backbone, num_classes, pooling=pooling, dropout_rate=dropout_rate,
                          input_dropout_rate=input_dropout_rate,
                          pooling_temperature=pooling_temperature, window_size=window_size,
                          name="spatial_attention_vgg16")


def vgg16_local_features(input_shape=(224, 224, 3), width_multiplier=1.0, weights=None):
    """Returns the 2D VGG16 up to conv5_3, `(batch, height/16, width/16, 512)`.

    Eq. 1 of the spatial attention + temporal softmax pooling EmotiW paper: the last convolutional feature map of VGG16 (before pool5). With
    `width_multiplier=1` and no weights this is `keras.applications.VGG16(include_top=False)`
    without `block5_pool`; otherwise the layers of `vgg16_2d` (same names, narrower widths,
    weights from a local `include_top=True` file) cut at `block5_conv3`.

    Args:
        input_shape: tuple or int. `(height, width, 3)`, or one int for square images.
            Defaults to `(224, 224, 3)`.
        width_multiplier: float. Scales convolution widths. Defaults to 1.0.
        weights: str or None. Path of a saved VGG16 or weights file, or None. Defaults to
            None.
    """
    if isinstance(input_shape, int):
        input_shape = (input_shape, input_shape, 3)
    if weights is None and width_multiplier == 1:
        vgg = keras.applications.VGG16(include_top=False, weights=None,
                                       input_shape=tuple(input_shape))
    else:
        vgg = vgg16_2d(input_shape, width_multiplier, weights)
    return keras.Model(vgg.input, vgg.get_layer(LOCAL_FEATURES).output, name="vgg16_conv5_3")
