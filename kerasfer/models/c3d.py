"""C3D (Tran et al. 2015), the clip-level 3D CNN used for FER by Fan et al. and Ayral (2021)."""

import math

import keras

from kerasfer.models.contract import check_input_shape
from kerasfer.models.contract import check_pooling
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
from kerasfer.models.contract import check_rate
from kerasfer.models.registry import register_model

# (block name, convolution filters, pool size) of Tran et al. (2015), Fig. 1.
C3D_BLOCKS = (
    ("1", (64,), (1, 2, 2)),
    ("2", (128,), (2, 2, 2)),
    ("3", (256, 256), (2, 2, 2)),
    ("4", (512, 512), (2, 2, 2)),
    ("5", (512, 512), (2, 2, 2)),
)
C3D_FC_UNITS = 4096


def scaled_width(filters, width_multiplier):
    """`filters · width_multiplier` rounded, at least 1."""
    return max(1, int(round(filters * width_multiplier)))


def apply_c3d_block(x, filters, pool_size, block_name, name_prefix=""):
    """3×3×3 convolutions (pad 1, ReLU) named `conv{block}a/b`, then `pool{block}`."""
    for index, block_filters in enumerate(filters):
        suffix = "ab"[index] if len(filters) > 1 else "a"
        x = keras.layers.Conv3D(block_filters, 3, padding="same", activation="relu",
                                name=f"{name_prefix}conv{block_name}{suffix}")(x)
    # Caffe pools with ceil((n − k) / s) + 1 outputs, which for k = s = 2 is ceil(n / 2),
    # exactly Keras' "same" (the extra window covers the last row alone). This is pool5's
    # 7 × 7 → 4 × 4 at 112 × 112, and it holds for any input size.
    return keras.layers.MaxPooling3D(pool_size, strides=pool_size, padding="same",
                                     name=f"{name_prefix}pool{block_name}")(x)


def c3d_pool5_shape(input_shape):
    """The `(frames, height, width)` after pool5 for clips of `(frames, height, width)`."""
    frames, height, width = input_shape[:3]
    for _, _, pool_size in C3D_BLOCKS:
        frames, height, width = (math.ceil(n / p) for n, p in
                                 zip((frames, height, width), pool_size))
    return frames, height, width


@register_model("c3d", tiny_kwargs={"width_multiplier": 1 / 16, "input_shape": (16, 28, 28, 3)},
                tiny_input_shape=(16, 28, 28, 3), temporal_output="clip",
                description="C3D (Tran et al. 2015): 8 3×3×3 convs, fc6/fc7 4096, clip-level")
def c3d(num_classes, *, input_shape=None, pooling=None, dropout_rate=0.5,
        input_dropout_rate=0.0, pretrained=False, width_multiplier=1.0, name="c3d"):
    """C3D of Tran et al. (2015), clip-level: fixed-length clips to class logits.

    conv1a 64 → pool1 1×2×2 → conv2a 128 → pool2 → conv3a/b 256 → pool3 → conv4a/b 512 →
    pool4 → conv5a/b 512 → pool5 (all convolutions 3×3×3, pad 1, ReLU; pools 2×2×2 with
    Caffe's round-up) → fc6 4096 → dropout → fc7 4096 → dropout → fc8. At 16×112×112,
    pool5 is 1×4×4×512 = 8192 features and the model has 79,991,015 parameters with 487
    classes (Sports-1M) and 78,409,573 with 101 (UCF-101). Fan, "Spatiotemporal networks
    for video emotion recognition" (AFEW 6.0), uses it on AFEW, and Ayral (2021) thesis,
    Section 1.2.2, reviews the C3D / weighted C3D results there.
    fc6/fc7 make it clip-level: the frame count is fixed by `input_shape` (16 in the
    paper), there are no per-frame scores and no `ClipClassifier` head (its fc head mixes
    all frames), so `pooling` is None. Keras flattens pool5 as (frames, height, width,
    channels), Caffe as (channels, frames, height, width): permute fc6's rows when porting
    Caffe weights.

    Args:
        num_classes: int. Number of classes (fc8 units).
        input_shape: tuple or None. Clip shape `(frames, height, width, channels)`, frames
            known. None means `(16, 112, 112, 3)`.
        pooling: None. C3D scores the clip as a whole (contract argument). Defaults to None.
        dropout_rate: float. Dropout after fc6 and fc7 (the last one is the dropout before
            the classifier fc8). Defaults to `0.5`.
        input_dropout_rate: float. Dropout on the input clip. Defaults to `0.0`.
        pretrained: bool or None. No weights are shipped: only False/None. Defaults to False.
        width_multiplier: float. Scales every convolution and fc6/fc7 width, for tiny CPU
            variants (1/16 → 4…32 filters, 256 units). Defaults to `1.0`.
        name: str. Model name. Defaults to `"c3d"`.

    Returns:
        A `keras.Model` mapping `(batch, frames, height, width, channels)` clips to logits
        `(batch, num_classes)`.

    Example:

    >>> model = c3d(7, input_shape=(16, 28, 28, 3), width_multiplier=1 / 16)
    >>> model(np.zeros((2, 16, 28, 28, 3))).shape
    (2, 7)
    """
    check_positive_int(num_classes, "num_classes")
    input_shape = check_input_shape((16, 112, 112, 3) if input_shape is None else input_shape,
                                    "c3d", fixed_frames=True)
    check_pooling(pooling, (None,))
    if (isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float))
            or not width_multiplier > 0):
        raise ValueError("width_multiplier must be > 0. "
                         f"Received: width_multiplier={width_multiplier!r}")
    check_rate(dropout_rate, "dropout_rate")
    check_rate(input_dropout_rate, "input_dropout_rate")
    check_pretrained(pretrained, "c3d")

    inputs = keras.Input(input_shape, name="clips")
    x = inputs
    if input_dropout_rate:
        x = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(x)
    for block_name, filters, pool_size in C3D_BLOCKS:
        x = apply_c3d_block(x, [scaled_width(f, width_multiplier) for f in filters], pool_size,
                            block_name)
    x = keras.layers.Flatten(name="pool5_flatten")(x)
    fc_units = scaled_width(C3D_FC_UNITS, width_multiplier)
    for fc_name in ("fc6", "fc7"):
        x = keras.layers.Dense(fc_units, activation="relu", name=fc_name)(x)
        x = keras.layers.Dropout(dropout_rate, name=f"{fc_name}_dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="fc8")(x)
    return keras.Model(inputs, outputs, name=name)
