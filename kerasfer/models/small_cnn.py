"""A small 2D CNN for CPU-sized faces, and its inflation to a temporally dense 3D CNN.

The model of the sampler study (`benchmarks/sampler_study.py`, BENCHMARKS.md "Sampler
study") and of the default `python -m kerasfer.fit` run: the thesis protocol of Ayral (2021)
master's thesis (Sections 1.2.5, 2.1.3, Ch. 3) at laptop size. A 2D CNN is trained on
static expression images (`kerasfer.training.pretraining`), saved, then inflated with
`kerasfer.models.inflate` and fine-tuned on clips chosen by temporal stochastic softmax.
"""

from __future__ import annotations

import keras

from kerasfer.models.backbone_2d_registry import register_backbone_2d
from kerasfer.models.contract import check_image_shape
from kerasfer.models.contract import check_input_shape
from kerasfer.models.contract import check_pooling
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
from kerasfer.models.contract import check_rate
from kerasfer.models.inflated_frame_model import inflated_frame_model
from kerasfer.models.registry import register_model
from kerasfer.models.weight_transfer import copy_weights
from kerasfer.models.weight_transfer import load_pretrained_2d

WIDTHS = (16, 32, 64)
MIN_SIZE = 4


def apply_conv_block(x, filters, index, pool):
    """3×3 convolution (no bias), BatchNorm, ReLU and optionally a 2×2 max pool.

    Layer names: `conv{index}`, `bn{index}`, `relu{index}`, `pool{index}`.
    """
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{index}")(x)
    x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
    x = keras.layers.Activation("relu", name=f"relu{index}")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    return x


@register_backbone_2d("small_cnn_2d", inflated_by="small_cnn_3d", outputs="logits")
def small_cnn_2d(num_classes=5, *, input_shape=(32, 32, 1), pretrained=False,
                 dropout_rate=0.3, widths=WIDTHS, name="small_cnn_2d"):
    """A small 2D CNN for static faces: conv blocks, global average, dropout, dense logits.

    `len(widths)` blocks of [3×3 convolution, BatchNorm, ReLU], a 2×2 max pool after every
    block but the last, global average pooling (layer `features`), dropout (layer
    `classifier_dropout`) and a dense classifier (layer `classifier`). Outputs **logits**.
    Inflated by `small_cnn_3d` (Ayral (2021) thesis, Section 1.2.5).

    Args:
        num_classes: int. Output classes. Defaults to 5.
        input_shape: tuple. `(height, width, channels)`, height and width ≥ 4. Defaults to
            `(32, 32, 1)`.
        pretrained: bool, None or str. False/None: random; a path: a saved `small_cnn_2d`
            (any classes, input size, 1 or C channels) whose weights are copied by layer
            name (the classifier only when the class counts agree). Defaults to False.
        dropout_rate: float. Dropout before the classifier. Defaults to 0.3.
        widths: tuple of int. Channels of the conv blocks. Defaults to `(16, 32, 64)`.
        name: str. Model name. Defaults to "small_cnn_2d".

    Returns:
        A `keras.Model` from faces `(batch, height, width, channels)` to logits
        `(batch, num_classes)`.

    Example:

    >>> model = small_cnn_2d(5, input_shape=(32, 32, 1))
    >>> model(np.zeros((2, 32, 32, 1))).shape
    (2, 5)
    """
    check_positive_int(num_classes, "num_classes")
    shape = check_image_shape(input_shape, "small_cnn_2d", min_size=MIN_SIZE)
    check_rate(dropout_rate, "dropout_rate")
    widths = tuple(widths)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                         for w in widths):
        raise ValueError(f"widths must be a non-empty tuple of positive ints. "
                         f"Received: widths={widths!r}")
    pretrained = check_pretrained(pretrained, "small_cnn_2d", shipped=False, path=True)
    inputs = keras.Input(shape, name="faces")
    x = inputs
    for index, filters in enumerate(widths, start=1):
        x = apply_conv_block(x, filters, index, pool=index < len(widths))
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    x = keras.layers.Dropout(dropout_rate, name="classifier_dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="classifier")(x)
    model = keras.Model(inputs, outputs, name=name)
    if pretrained:
        copy_weights(load_pretrained_2d(pretrained, "small_cnn_2d"), model,
                     family="small_cnn_2d", classifier="classifier", first_convolution="conv1")
    return model


@register_model("small_cnn_3d", tiny_kwargs={"input_shape": (None, 16, 16, 1),
                                             "widths": (4, 8)},
                tiny_input_shape=(6, 16, 16, 1), temporal_output="dense",
                description="small 2D CNN inflated to 3D (thesis protocol at CPU size)")
def small_cnn_3d(num_classes=5, *, input_shape=None, pooling="average", dropout_rate=0.3,
                 input_dropout_rate=0.0, pretrained=False, widths=WIDTHS, time_kernel=3,
                 pooling_temperature=1.0, window_size=16, temporal_padding="zero",
                 initialization="repeat"):
    """`small_cnn_2d` inflated to a temporally dense 3D CNN (Ayral (2021) thesis, 1.2.5).

    Every 3×3 convolution becomes T×3×3 (kernels repeated over time and divided by T,
    Carreira & Zisserman 2017), BatchNorm statistics are copied, pooling stays spatial, the
    dense classifier runs per frame. Per-frame logits (layer `frame_scores`, `(batch,
    frames, num_classes)`) are pooled over time (layer `temporal_pooling`, thesis Fig. 2.2 /
    Eq. 3.3). On a static video every frame away from the borders scores exactly like the
    2D model.

    Args:
        num_classes: int. Number of classes. Defaults to 5.
        input_shape: tuple or None. `(frames, height, width, channels)`, frames may be
            None. None means `(None, 32, 32, 1)`.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`). Defaults to
            "average".
        dropout_rate: float. Dropout before the classifier. Defaults to 0.3.
        input_dropout_rate: float. Dropout on the input clip. Defaults to 0.0.
        pretrained: bool, None or str. A path to a saved `small_cnn_2d` (any classes, input
            size, 1 or C channels), inflated; False/None: random. Defaults to False.
        widths: tuple of int. Channels of the conv blocks. Defaults to `(16, 32, 64)`.
        time_kernel: int. Temporal kernel size T. Defaults to 3.
        pooling_temperature: float. γ_p of softmax pooling (Eq. 3.3). Defaults to 1.0.
        window_size: int. F of windowed softmax pooling. Defaults to 16.
        temporal_padding: str. "zero" or "replicate", see `inflate`. Defaults to "zero".
        initialization: str. "repeat" or "center", see `inflate`. Defaults to "repeat".

    Returns:
        A `keras.Model` from clips `(batch, frames, height, width, channels)` to logits
        `(batch, num_classes)`.

    Example:

    >>> model = small_cnn_3d(5, input_shape=(None, 32, 32, 1))
    >>> model(np.zeros((1, 16, 32, 32, 1))).shape
    (1, 5)
    """
    input_shape = check_input_shape((None, 32, 32, 1) if input_shape is None else input_shape,
                                    "small_cnn_3d", min_size=MIN_SIZE)
    check_pooling(pooling)
    check_rate(input_dropout_rate, "input_dropout_rate")
    model_2d = small_cnn_2d(num_classes, input_shape=input_shape[1:], pretrained=pretrained,
                            dropout_rate=dropout_rate, widths=widths)
    return inflated_frame_model(
        model_2d, input_shape, pooling=pooling, pooling_temperature=pooling_temperature,
        window_size=window_size, input_dropout_rate=input_dropout_rate,
        time_kernel=time_kernel, initialization=initialization,
        temporal_padding=temporal_padding, backbone_name="small_cnn_backbone",
        name="small_cnn_3d")


__all__ = ["apply_conv_block", "small_cnn_2d", "small_cnn_3d"]
