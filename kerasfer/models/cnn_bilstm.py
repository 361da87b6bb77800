"""CNN + Bi-LSTM: per-frame VGG16 fc6 features, a bidirectional LSTM, a classifier (seed 003)."""

from __future__ import annotations

import keras

from kerasfer.models.i3d_vgg16 import VGG16_FC_UNITS
from kerasfer.models.i3d_vgg16 import check_positive_int
from kerasfer.models.i3d_vgg16 import check_vgg16_arguments
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.registry import register_model
from kerasfer.models.temporal_pooling_head import POOLINGS
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

FRAME_FEATURES = "fc1"  # VGG16's fc6 in the paper's (Caffe) numbering
PAPER_TIMESTEPS = 64
BACKBONES = ("vgg16", None)


@register_model("cnn_bilstm",
                tiny_kwargs={"width_multiplier": 1 / 16, "input_size": 32, "lstm_units": 8},
                tiny_input_shape=(6, 32, 32, 3))
def cnn_bilstm(num_classes, backbone="vgg16", input_size=224, width_multiplier=1.0,
               weights=None, feature_dim=None, lstm_units=1024, dropout_rate=0.85,
               fc_units=None, pooling="last", pooling_temperature=1.0, window_size=16):
    """VGG16 fc6 of every frame, a 1024-unit Bi-LSTM over time, dropout and a classifier.

    Seed paper 003, Section 4.3.3 "Convolutional-recurrent network" (Fig. 6; Bi-LSTM of
    Section 3.1.2, Fig. 4–5): each preprocessed face frame goes through (fine-tuned
    VGG16-Face) VGG16 up to fc6, whose 4096-d output (better than fc7 in the paper) feeds a
    bidirectional LSTM of 1024 hidden nodes (read as per direction, as Keras' `units`), with
    dropout 0.85 on the LSTM and fc layer. "VGG+Bi-direction LSTM" is the paper's best
    visual model (Table 1, 51.9% on AFEW 6.0 validation) and part of its fusion (Table 3).
    The paper feeds 64 timesteps (`PAPER_TIMESTEPS`, the average video length); any number
    of frames works here. The clip score is the paper-unspecified read-out of the final
    states of both directions (`pooling="last"`: forward after the last frame, backward
    after the first), concatenated; `pooling="none"` instead scores every step, which a
    bidirectional layer allows because each step's output already sees the whole clip.
    The paper extracts fc6 once and trains the LSTM on it: `backbone=None` is that model,
    fed `(batch, frames, feature_dim)`; its layers share names and weights with the full
    model, whose per-frame features are the layer `frame_features`. At 224, 7 classes:
    117,479,232 (VGG16 to fc6) + 2 · 4 · 1024 · (4096 + 1024 + 1) (Bi-LSTM) + 2048 · 7 + 7
    = 159,444,807 parameters (41,965,575 with `backbone=None`).

    Args:
        num_classes: int. Number of classes (7 on AFEW).
        backbone: str or None. "vgg16" (per-frame VGG16 cut at fc6, input clips) or None
            (input precomputed per-frame features). Defaults to "vgg16".
        input_size: int. Frame height and width, ≥ 32 (224 is VGG16's, the paper's crop).
            Defaults to 224.
        width_multiplier: float. Scales the VGG16 convolution and fc6 widths (1.0 is
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        weights: str or None. Path of 2D VGG16 weights (`include_top=True`, e.g. VGG-Face
            converted to Keras layer names), or None; nothing is downloaded. Defaults to None.
        feature_dim: int or None. Per-frame feature width; None means the fc6 width
            `round(4096 · width_multiplier)` (must equal it with a backbone). Defaults to None.
        lstm_units: int. Hidden units of each LSTM direction (paper: 1024). Defaults to 1024.
        dropout_rate: float. Dropout after the Bi-LSTM and after `fc_units` (paper: "0.85";
            the keep-probability reading would be 0.15). Defaults to 0.85.
        fc_units: int or None. Width of an optional ReLU fc layer before the classifier
            (the paper's Fig. 6 width is not given; None: the classifier is the fc layer).
            Defaults to None.
        pooling: str. "last" (final states), "none" (per-step scores), or a pooling of
            `temporal_pooling_layer` applied to the per-step scores. Defaults to "last".
        pooling_temperature: float. γ_p of "softmax" pooling. Defaults to 1.0.
        window_size: int. F of "windowed_softmax" pooling. Defaults to 16.

    Returns:
        A `keras.Model` from `(batch, frames, input_size, input_size, 3)` clips (or
        `(batch, frames, feature_dim)` features) to `(batch, num_classes)` logits, or
        `(batch, frames, num_classes)` per-step scores with `pooling="none"`.

    Example:

    >>> model = cnn_bilstm(7, backbone=None, feature_dim=32, lstm_units=8)
    >>> model(np.zeros((2, 64, 32))).shape
    (2, 7)
    """
    check_vgg16_arguments(num_classes, input_size, width_multiplier, dropout_rate)
    check_positive_int(lstm_units, "lstm_units")
    if fc_units is not None:
        check_positive_int(fc_units, "fc_units")
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}. Received: backbone={backbone!r}")
    if pooling not in ("last",) + POOLINGS:
        raise ValueError(f"pooling must be one of {('last',) + POOLINGS}. "
                         f"Received: pooling={pooling!r}")
    fc6_units = max(1, round(VGG16_FC_UNITS * width_multiplier))
    if feature_dim is not None:
        check_positive_int(feature_dim, "feature_dim")
        if backbone is not None and feature_dim != fc6_units:
            raise ValueError(f"feature_dim must be None or the fc6 width {fc6_units} with "
                             f"backbone={backbone!r}. Received: feature_dim={feature_dim!r}")
    feature_dim = fc6_units if feature_dim is None else feature_dim

    if backbone is None:
        inputs = keras.Input((None, feature_dim), name="features")
        features = inputs
    else:
        vgg = vgg16_2d(input_size, width_multiplier, weights)
        fc6 = keras.Model(vgg.input, vgg.get_layer(FRAME_FEATURES).output, name="vgg16_fc6")
        inputs = keras.Input((None, input_size, input_size, 3), name="clips")
        # (batch, frames, fc6_units): the same 2D VGG16 applied to every frame.
        features = keras.layers.TimeDistributed(fc6, name="frame_features")(inputs)
    scores = apply_bilstm_classifier(features, num_classes, lstm_units, dropout_rate,
                                     fc_units, return_sequences=pooling != "last")
    if pooling not in ("last", "none"):
        scores = temporal_pooling_layer(pooling, pooling_temperature, window_size)(scores)
    return keras.Model(inputs, scores, name="cnn_bilstm")


def apply_bilstm_classifier(x, num_classes, lstm_units=1024, dropout_rate=0.85, fc_units=None,
                            return_sequences=False, prefix=""):
    """Applies Bi-LSTM → dropout → [fc → dropout] → classifier to `(batch, frames, dim)`.

    Seed paper 003 Section 3.1.2 (LSTM cell of Fig. 4: sigmoid gates, tanh cell; Bi-LSTM of
    Fig. 5: independent forward and backward LSTMs, outputs concatenated) and Section 4.3.3
    (dropout on the LSTM and fc layer). Layers: `{prefix}bilstm`, `{prefix}bilstm_dropout`,
    `{prefix}fc`, `{prefix}fc_dropout` (with `fc_units`) and `{prefix}scores`.

    Args:
        x: tensor. Per-frame features, `(batch, frames, dim)`.
        num_classes: int. Number of classes.
        lstm_units: int. Units per direction. Defaults to 1024.
        dropout_rate: float. Dropout rate. Defaults to 0.85.
        fc_units: int or None. Optional hidden fc width. Defaults to None.
        return_sequences: bool. Per-step scores `(batch, frames, num_classes)` instead of
            `(batch, num_classes)` from the final states. Defaults to False.
        prefix: str. Layer name prefix. Defaults to "".
    """
    lstm = keras.layers.LSTM(lstm_units, return_sequences=return_sequences,
                             name=f"{prefix}lstm")
    x = keras.layers.Bidirectional(lstm, merge_mode="concat", name=f"{prefix}bilstm")(x)
    x = keras.layers.Dropout(dropout_rate, name=f"{prefix}bilstm_dropout")(x)
    if fc_units is not None:
        x = keras.layers.Dense(fc_units, activation="relu", name=f"{prefix}fc")(x)
        x = keras.layers.Dropout(dropout_rate, name=f"{prefix}fc_dropout")(x)
    return keras.layers.Dense(num_classes, name=f"{prefix}scores")(x)

