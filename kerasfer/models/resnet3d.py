"""3D ResNets and ResNeXt of Hara et al. (2018), as fine-tuned in the thesis (seed 004, Ch. 2)."""

import keras

from kerasfer.models import resnet3d_blocks
from kerasfer.models import spatiotemporal_head
from kerasfer.models.registry import register_model

# depth → (block type, blocks per stage), Hara et al. (2018) / He et al. (2016).
RESNET3D_DEPTHS = {
    10: ("basic", (1, 1, 1, 1)),
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
BLOCK_TYPES = ("basic", "bottleneck", "resnext")
# Stage widths: ResNet blocks 64…512 (×4 out for bottleneck); ResNeXt 128…1024 (×2 out).
STAGE_FILTERS = {"basic": (64, 128, 256, 512), "bottleneck": (64, 128, 256, 512),
                 "resnext": (128, 256, 512, 1024)}
EXPANSION = {"basic": 1, "bottleneck": 4, "resnext": 2}
STEM_FILTERS = 64


def _scaled(filters, width_multiplier):
    return max(1, int(round(filters * width_multiplier)))


def _check_arguments(num_classes, depth, block_type, shortcut_type, cardinality,
                     width_multiplier, blocks_per_stage, input_shape, pooling,
                     pooling_temperature):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError("num_classes must be a positive int. "
                         f"Received: num_classes={num_classes!r}")
    if depth not in RESNET3D_DEPTHS:
        raise ValueError(f"depth must be one of {sorted(RESNET3D_DEPTHS)}. "
                         f"Received: depth={depth!r}")
    if block_type not in BLOCK_TYPES:
        raise ValueError(f"block_type must be one of {BLOCK_TYPES}. "
                         f"Received: block_type={block_type!r}")
    if block_type == "basic" and RESNET3D_DEPTHS[depth][0] != "basic":
        raise ValueError(f"ResNet-{depth} is a bottleneck network; use block_type "
                         f"'bottleneck' or 'resnext'. Received: block_type={block_type!r}")
    if shortcut_type not in ("A", "B"):
        raise ValueError(f"shortcut_type must be 'A' or 'B'. "
                         f"Received: shortcut_type={shortcut_type!r}")
    if isinstance(cardinality, bool) or not isinstance(cardinality, int) or cardinality < 1:
        raise ValueError(f"cardinality must be a positive int. "
                         f"Received: cardinality={cardinality!r}")
    if not width_multiplier > 0:
        raise ValueError(f"width_multiplier must be > 0. "
                         f"Received: width_multiplier={width_multiplier!r}")
    if blocks_per_stage is not None and (
            len(blocks_per_stage) != 4 or any(int(n) < 1 for n in blocks_per_stage)):
        raise ValueError("blocks_per_stage must be 4 positive ints. "
                         f"Received: blocks_per_stage={blocks_per_stage!r}")
    if len(tuple(input_shape)) != 4:
        raise ValueError("input_shape must be (frames, height, width, channels); frames may be "
                         f"None. Received: input_shape={tuple(input_shape)}")
    spatiotemporal_head.validate_pooling(pooling, pooling_temperature)


def resnet3d(num_classes, depth=18, block_type=None, shortcut_type="A", cardinality=32,
             temporally_dense=False, width_multiplier=1.0, blocks_per_stage=None,
             input_shape=(None, 112, 112, 3), pooling="two_step", pooling_temperature=1.0,
             input_dropout_rate=0.0, feature_dropout_rate=0.0, name=None):
    """3D ResNet / ResNeXt of Hara et al. (2018), fully convolutional in time.

    conv1 7×7×7 stride (1, 2, 2) → BN → ReLU → max pool 3×3×3 stride 2 → 4 stages of
    residual blocks (stages 2–4 stride 2) → a classification head chosen by `pooling`
    (thesis seed 004, Fig. 2.2, Section 2.1.2). Trainable parameters at 400 classes
    (Kinetics): ResNet-18 shortcut A 33,235,280; ResNeXt-101 (cardinality 32) shortcut B
    48,340,816. `temporally_dense=True` removes every temporal stride (max pool and
    blocks), so the model outputs one score per input frame (thesis Table 2.2).

    Pooling (`spatiotemporal_head.POOLING_MODES`): `"feature_average"` is Hara et al.'s
    Kinetics classifier (3D global average of features, then fc) and the best unified 3D
    pooling of thesis Table 2.1; the default `"two_step"` (spatial max of features,
    per-frame scores, temporal average) is the best setting of Table 2.1 and the one of
    Table 2.2; `"softmax"` / `"adaptive_softmax"` are Eq. 3.3 / Eq. 2.1 on the same
    per-frame scores. All modes but `"feature_average"` expose a `frame_scores` layer
    `(batch, frames', num_classes)` followed by `temporal_pooling`.

    Args:
        num_classes: int. Number of classes C.
        depth: int. 10, 18, 34 (basic blocks), 50, 101, 152, 200 (bottleneck). Defaults to
            `18`.
        block_type: str or None. `"basic"`, `"bottleneck"` or `"resnext"`; None picks the
            ResNet block of `depth`. Defaults to `None`.
        shortcut_type: str. `"A"` (subsample + zero channels, no parameters) or `"B"`
            (1×1×1 conv + BN) where a block changes shape. Defaults to `"A"`.
        cardinality: int. Groups of the ResNeXt 3×3×3 convolution. Defaults to `32`.
        temporally_dense: bool. No temporal stride anywhere (thesis Table 2.2). Defaults
            to `False`.
        width_multiplier: float. Scales all widths, for tiny variants. Defaults to `1.0`.
        blocks_per_stage: tuple of 4 ints or None. Overrides the block counts of `depth`,
            for tiny variants. Defaults to `None`.
        input_shape: tuple. `(frames, height, width, channels)`; `frames=None` accepts any
            clip or video length. Defaults to `(None, 112, 112, 3)`.
        pooling: str. Head, see above. Defaults to `"two_step"`.
        pooling_temperature: float. γ_p of Eq. 3.3 for `"softmax"`. Defaults to `1.0`.
        input_dropout_rate: float. Dropout on input clips (0.3 in thesis Section 2.2.3.4).
            Defaults to `0.0`.
        feature_dropout_rate: float. Dropout before the classifier (0.9 in thesis Section
            2.2.3.4). Defaults to `0.0`.
        name: str or None. Model name. Defaults to `"resnet3d_{depth}"` /
            `"resnext3d_{depth}"`.

    Returns:
        A `keras.Model` mapping `(batch, frames, height, width, channels)` to logits
        `(batch, num_classes)`.

    Example:

    >>> model = resnet3d(7, depth=18, width_multiplier=1 / 8, input_shape=(None, 32, 32, 3))
    >>> model(np.zeros((1, 12, 32, 32, 3))).shape
    (1, 7)
    """
    block_type = block_type or RESNET3D_DEPTHS.get(depth, ("basic",))[0]
    _check_arguments(num_classes, depth, block_type, shortcut_type, cardinality,
                     width_multiplier, blocks_per_stage, input_shape, pooling,
                     pooling_temperature)
    blocks_per_stage = tuple(int(n) for n in (blocks_per_stage or RESNET3D_DEPTHS[depth][1]))
    temporal_stride = 1 if temporally_dense else 2
    name = name or (f"resnext3d_{depth}" if block_type == "resnext" else f"resnet3d_{depth}")

    inputs = keras.Input(tuple(input_shape), name="clips")
    x = inputs
    if input_dropout_rate:
        x = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(x)
    x = resnet3d_blocks.apply_conv_bn(x, _scaled(STEM_FILTERS, width_multiplier), 7,
                                      strides=(1, 2, 2), name="conv1")
    # Zero padding equals PyTorch's -inf padding here because the input is post-ReLU.
    x = keras.layers.ZeroPadding3D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling3D(3, strides=(temporal_stride, 2, 2), name="pool1")(x)
    for stage, (filters, num_blocks) in enumerate(zip(STAGE_FILTERS[block_type],
                                                      blocks_per_stage), start=1):
        filters = _scaled(filters, width_multiplier)
        for block in range(num_blocks):
            strides = (temporal_stride, 2, 2) if stage > 1 and block == 0 else (1, 1, 1)
            block_name = f"stage{stage}_block{block + 1}"
            if block_type == "basic":
                x = resnet3d_blocks.apply_basic_block(x, filters, strides, shortcut_type,
                                                      name=block_name)
            else:
                grouped = cardinality if block_type == "resnext" else 1
                # Hara et al.: mid = cardinality · int(planes / 32) (= planes at C = 32); at
                # least one channel per group so tiny widths stay valid.
                bottleneck_filters = (grouped * max(1, filters // 32)
                                      if block_type == "resnext" else filters)
                x = resnet3d_blocks.apply_bottleneck_block(
                    x, filters, strides, shortcut_type, name=block_name,
                    expansion=EXPANSION[block_type], cardinality=grouped,
                    bottleneck_filters=bottleneck_filters)
    outputs = spatiotemporal_head.apply_spatiotemporal_head(
        x, num_classes, pooling=pooling, pooling_temperature=pooling_temperature,
        dropout_rate=feature_dropout_rate)
    return keras.Model(inputs, outputs, name=name)


_TINY = {"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3)}
_TINY_INPUT = (8, 32, 32, 3)


@register_model("r3d_18", tiny_kwargs=_TINY, tiny_input_shape=_TINY_INPUT)
def r3d_18(num_classes, **kwargs):
    """3D ResNet-18 (Hara et al. 2018), basic blocks, shortcut A; the thesis' main 3D CNN."""
    kwargs.setdefault("shortcut_type", "A")
    return resnet3d(num_classes, depth=18, **kwargs)


@register_model("r3d_34", tiny_kwargs=dict(_TINY, blocks_per_stage=(1, 2, 1, 1)),
                tiny_input_shape=_TINY_INPUT)
def r3d_34(num_classes, **kwargs):
    """3D ResNet-34 (Hara et al. 2018), basic blocks, shortcut A."""
    kwargs.setdefault("shortcut_type", "A")
    return resnet3d(num_classes, depth=34, **kwargs)


@register_model("r3d_50", tiny_kwargs=dict(_TINY, blocks_per_stage=(1, 1, 1, 1)),
                tiny_input_shape=_TINY_INPUT)
def r3d_50(num_classes, **kwargs):
    """3D ResNet-50 (Hara et al. 2018), bottleneck blocks, shortcut B."""
    kwargs.setdefault("shortcut_type", "B")
    return resnet3d(num_classes, depth=50, **kwargs)


@register_model("resnext3d_101",
                tiny_kwargs={"width_multiplier": 1 / 16, "cardinality": 4,
                             "blocks_per_stage": (1, 1, 2, 1), "input_shape": (None, 32, 32, 3),
                             "temporally_dense": True, "pooling": "adaptive_softmax"},
                tiny_input_shape=_TINY_INPUT)
def resnext3d_101(num_classes, **kwargs):
    """3D ResNeXt-101 (Hara et al. 2018), cardinality 32, shortcut B; thesis Section 2.1.1."""
    kwargs.setdefault("shortcut_type", "B")
    kwargs.setdefault("block_type", "resnext")
    return resnet3d(num_classes, depth=101, **kwargs)


@register_model("r3d_18_dense",
                tiny_kwargs=dict(_TINY, pooling="softmax", pooling_temperature=2.0),
                tiny_input_shape=_TINY_INPUT)
def r3d_18_dense(num_classes, **kwargs):
    """Temporally dense 3D ResNet-18 (no temporal stride, one score per frame; Table 2.2)."""
    kwargs.setdefault("shortcut_type", "A")
    return resnet3d(num_classes, depth=18, temporally_dense=True, **kwargs)
