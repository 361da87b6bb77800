"""CNN + Bi-LSTM: per-frame VGG16 fc6, a bidirectional LSTM, a classifier (Fan, AFEW 6.0)."""

from __future__ import annotations

import keras

from kerasfer.models.contract import POOLINGS
from kerasfer.models.contract import check_pooling
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
from kerasfer.models.contract import check_rate
from kerasfer.models.i3d_vgg16 import VGG16_FC_UNITS
from kerasfer.models.i3d_vgg16 import check_vgg16_arguments
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.registry import register_model
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

FRAME_FEATURES = "fc1"  # VGG16's fc6 in the paper's (Caffe) numbering
PAPER_TIMESTEPS = 64
BACKBONES = ("vgg16", None)


@register_model("cnn_bilstm",
                tiny_kwargs={"width_multiplier": 1 / 16, "input_shape": (6, 32, 32, 3),
                             "lstm_units": 8},
                tiny_input_shape=(6, 32, 32, 3), temporal_output="clip")
def cnn_bilstm(num_classes, *, input_shape=None, pooling=None, dropout_rate=0.85,
               input_dropout_rate=0.0, pretrained=False, backbone="vgg16",
               width_multiplier=1.0, feature_dim=None, lstm_units=1024, fc_units=None,
               pooling_temperature=1.0, window_size=16):
    """VGG16 fc6 of every frame, a 1024-unit Bi-LSTM over time, dropout and a classifier.

    Fan, "Spatiotemporal networks for video emotion recognition" (AFEW 6.0), Section 4.3.3
    "Convolutional-recurrent network" (Fig. 6; Bi-LSTM of Section 3.1.2, Fig. 4–5): each
    preprocessed face frame goes through (fine-tuned VGG16-Face) VGG16 up to fc6, whose
    4096-d output (better than fc7 in the paper) feeds a bidirectional LSTM of 1024 hidden
    nodes (read as per direction, as Keras' `units`), with dropout 0.85 on the LSTM and fc
    layer. "VGG+Bi-direction LSTM" is the paper's best visual model (Table 1, 51.9% on
    AFEW 6.0 validation) and part of its fusion (Table 3). The paper feeds 64 timesteps
    (`PAPER_TIMESTEPS`, the average video length). The clip score is the paper-unspecified
    read-out of the final states of both directions (`pooling=None`: forward after the
    last frame, backward after the first), concatenated. A pooling of
    `kerasfer.models.contract.POOLINGS` instead scores every step (layer `frame_scores`)
    and pools them (layer `temporal_pooling`); each step's score already sees the whole
    clip. Either way the model is clip-level (`temporal_output="clip"`): a video is scored
    by sliding clips, not by one pass. Not a `ClipClassifier`: the default read-out pools
    the Bi-LSTM states, not per-frame scores; the head layers keep `ClipClassifier`'s
    names (`classifier`, `frame_scores`, `temporal_pooling`). The paper extracts fc6 once
    and trains the LSTM on it: `backbone=None` is that model, fed `(batch, frames,
    feature_dim)`; its layers share names and weights with the full model, whose per-frame
    features are the layer `frame_features`. At 224, 7 classes: 117,479,232 (VGG16 to fc6)
    + 2 · 4 · 1024 · (4096 + 1024 + 1) (Bi-LSTM) + 2048 · 7 + 7 = 159,444,807 parameters
    (41,965,575 with `backbone=None`).

    Args:
        num_classes: int. Number of classes (7 on AFEW).
        input_shape: tuple or None. `(frames, height, width, 3)` clips, height and width
            ≥ 32, frames may be None (the LSTM takes any length); None means
            `(None, 224, 224, 3)` (VGG16's, the paper's crop). Must be None with
            `backbone=None`.
        pooling: str or None. None: final states; else a temporal pooling of the per-step
            scores. Defaults to None.
        dropout_rate: float. Dropout after the Bi-LSTM and after `fc_units` (paper: "0.85";
            the keep-probability reading would be 0.15). Defaults to 0.85.
        input_dropout_rate: float. Dropout on the input clip (or features). Defaults to 0.0.
        pretrained: bool, None or str. A path of 2D VGG16 weights (a saved `.keras` VGG16
            or a `vgg16_2d` weights file, `include_top=True`, e.g. VGG-Face converted to
            Keras layer names); nothing is downloaded, so True raises. Defaults to False.
        backbone: str or None. "vgg16" (per-frame VGG16 cut at fc6, input clips) or None
            (input precomputed per-frame features). Defaults to "vgg16".
        width_multiplier: float. Scales the VGG16 convolution and fc6 widths (1.0 is
            `keras.applications.VGG16`; e.g. 1/16 for CPU tests). Defaults to 1.0.
        feature_dim: int or None. Per-frame feature width; None means the fc6 width
            `round(4096 · width_multiplier)` (must equal it with a backbone). Defaults to None.
        lstm_units: int. Hidden units of each LSTM direction (paper: 1024). Defaults to 1024.
        fc_units: int or None. Width of an optional ReLU fc layer before the classifier
            (the paper's Fig. 6 width is not given; None: the classifier is the fc layer).
            Defaults to None.
        pooling_temperature: float. γ_p of the softmax poolings. Defaults to 1.0.
        window_size: int. F of "windowed_softmax" pooling. Defaults to 16.

    Returns:
        A `keras.Model` from `(batch, frames, height, width, 3)` clips (or
        `(batch, frames, feature_dim)` features) to `(batch, num_classes)` logits.

    Example:

    >>> model = cnn_bilstm(7, backbone=None, feature_dim=32, lstm_units=8)
    >>> model(np.zeros((2, 64, 32))).shape
    (2, 7)
    """
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}. Received: backbone={backbone!r}")
    if backbone is None and input_shape is not None:
        raise ValueError("With backbone=None the input is (frames, feature_dim) features: "
                         "leave input_shape None and set feature_dim. "
                         f"Received: input_shape={input_shape!r}")
    input_shape = check_vgg16_arguments(num_classes, input_shape, width_multiplier,
                                        dropout_rate, "cnn_bilstm")
    check_rate(input_dropout_rate, "input_dropout_rate")
    check_positive_int(lstm_units, "lstm_units")
    if fc_units is not None:
        check_positive_int(fc_units, "fc_units")
    check_pooling(pooling, (None,) + POOLINGS)
    pretrained = check_pretrained(pretrained, "cnn_bilstm", path=True)
    fc6_units = max(1, round(VGG16_FC_UNITS * width_multiplier))
    if feature_dim is not None:
        check_positive_int(feature_dim, "feature_dim")
        if backbone is not None and feature_dim != fc6_units:
            raise ValueError(f"feature_dim must be None or the fc6 width {fc6_units} with "
                             f"backbone={backbone!r}. Received: feature_dim={feature_dim!r}")
    feature_dim = fc6_units if feature_dim is None else feature_dim

    if backbone is None:
        inputs = keras.Input((None, feature_dim), name="features")
    else:
        inputs = keras.Input(input_shape, name="clips")
    x = inputs
    if input_dropout_rate:
        x = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(x)
    if backbone is not None:
        vgg = vgg16_2d(input_shape[1:], width_multiplier, pretrained or None)
        fc6 = keras.Model(vgg.input, vgg.get_layer(FRAME_FEATURES).output, name="vgg16_fc6")
        # (batch, frames, fc6_units): the same 2D VGG16 applied to every frame.
        x = keras.layers.TimeDistributed(fc6, name="frame_features")(x)
    scores = apply_bilstm_classifier(x, num_classes, lstm_units, dropout_rate, fc_units,
                                     return_sequences=pooling is not None)
    if pooling is not None:
        frame_scores = keras.layers.Identity(name="frame_scores")(scores)
        scores = temporal_pooling_layer(pooling, pooling_temperature, window_size)(frame_scores)
    return keras.Model(inputs, scores, name="cnn_bilstm")


def apply_bilstm_classifier(x, num_classes, lstm_units=1024, dropout_rate=0.85, fc_units=None,
                            return_sequences=False, prefix=""):
    """Applies Bi-LSTM → dropout → [fc → dropout] → classifier to `(batch, frames, dim)`.

    Fan, "Spatiotemporal networks for video emotion recognition", Section 3.1.2 (LSTM cell
    of Fig. 4: sigmoid gates, tanh cell; Bi-LSTM of Fig. 5: independent forward and
    backward LSTMs, outputs concatenated) and Section 4.3.3 (dropout on the LSTM and fc
    layer). Layers: `{prefix}bilstm`, `{prefix}bilstm_dropout`,
    `{prefix}fc`, `{prefix}fc_dropout` (with `fc_units`) and `{prefix}classifier`.

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
    return keras.layers.Dense(num_classes, name=f"{prefix}classifier")(x)

