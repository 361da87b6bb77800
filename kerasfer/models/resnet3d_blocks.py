"""Building blocks of the 3D ResNets of Hara et al. (2018) (Ayral (2021) thesis, Fig. 2.1).

Convolutions have no bias (thesis Section 2.1.1) and are followed by batch normalisation
with PyTorch's settings (ε = 1e-5, momentum 0.1). Padding is symmetric like PyTorch's
`padding=k // 2`: stride-1 convolutions use "same" (symmetric for odd kernels), strided
ones an explicit `ZeroPadding3D` then "valid", so pretrained weights ported from
3D-ResNets-PyTorch sample the same positions.
"""

import keras

from kerasfer.layers.channel_zero_padding import ChannelZeroPadding

BATCH_NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9


def apply_conv3d(x, filters, kernel_size, strides=(1, 1, 1), groups=1, name="conv"):
    """Bias-free `Conv3D` with PyTorch's symmetric `kernel_size // 2` padding."""
    strides = tuple(strides)
    if all(s == 1 for s in strides) or kernel_size == 1:
        padding = "same" if kernel_size > 1 else "valid"
    else:
        x = keras.layers.ZeroPadding3D(kernel_size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return keras.layers.Conv3D(filters, kernel_size, strides=strides, padding=padding,
                               groups=groups, use_bias=False, kernel_initializer="he_normal",
                               name=name)(x)


def apply_batch_norm(x, name):
    """Batch normalisation with PyTorch's defaults."""
    return keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON,
                                           momentum=BATCH_NORM_MOMENTUM, name=name)(x)


def apply_conv_bn(x, filters, kernel_size, strides=(1, 1, 1), groups=1, relu=True, name="conv"):
    """Conv3D → BN (→ ReLU)."""
    x = apply_conv3d(x, filters, kernel_size, strides, groups, name=name)
    x = apply_batch_norm(x, name=f"{name}_bn")
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def apply_shortcut(x, filters, strides, shortcut_type, name):
    """The residual path: identity, type A (subsample + zero channels) or B (1×1×1 conv + BN).

    A projection is needed when the block is strided or changes the channel count, as in
    Hara et al.'s `downsample`. Type A has no parameters: it keeps every s-th position
    (PyTorch's `avg_pool3d(kernel_size=1, stride=s)`) and appends zero channels.
    """
    strides = tuple(strides)
    in_channels = x.shape[-1]
    if all(s == 1 for s in strides) and in_channels == filters:
        return x
    if shortcut_type == "A":
        if in_channels > filters:
            raise ValueError("Shortcut A can only widen the channels. Received: "
                             f"in_channels={in_channels}, filters={filters}")
        if any(s != 1 for s in strides):
            x = keras.layers.AveragePooling3D(pool_size=1, strides=strides,
                                              name=f"{name}_subsample")(x)
        return ChannelZeroPadding(filters - in_channels, name=f"{name}_zero_padding")(x)
    return apply_conv_bn(x, filters, 1, strides, relu=False, name=f"{name}_conv")


def apply_basic_block(x, filters, strides, shortcut_type, name):
    """Basic block: 3×3×3 conv (strided) → 3×3×3 conv, + shortcut; output `filters`."""
    shortcut = apply_shortcut(x, filters, strides, shortcut_type, name=f"{name}_shortcut")
    x = apply_conv_bn(x, filters, 3, strides, name=f"{name}_conv1")
    x = apply_conv_bn(x, filters, 3, relu=False, name=f"{name}_conv2")
    x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def apply_bottleneck_block(x, filters, strides, shortcut_type, name, expansion=4,
                           cardinality=1, bottleneck_filters=None):
    """Bottleneck block: 1×1×1 → 3×3×3 (strided, grouped) → 1×1×1 ×`expansion` + shortcut.

    With `cardinality > 1` this is the ResNeXt block (Xie et al. 2017; Hara et al. use
    expansion 2 and `bottleneck_filters = cardinality · (filters // 32)`), whose 3×3×3
    convolution is grouped (`Conv3D(groups=cardinality)`).
    """
    out_filters = filters * expansion
    bottleneck_filters = bottleneck_filters or filters
    shortcut = apply_shortcut(x, out_filters, strides, shortcut_type, name=f"{name}_shortcut")
    x = apply_conv_bn(x, bottleneck_filters, 1, name=f"{name}_conv1")
    x = apply_conv_bn(x, bottleneck_filters, 3, strides, groups=cardinality,
                      name=f"{name}_conv2")
    x = apply_conv_bn(x, out_filters, 1, relu=False, name=f"{name}_conv3")
    x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(x)
