"""3D ResNets and ResNeXt of Hara et al. (2018), as fine-tuned in Ayral (2021) thesis, Ch. 2."""

import keras

from kerasfer.models import resnet3d_blocks
from kerasfer.models.clip_classifier import ClipClassifier
from kerasfer.models.contract import check_input_shape
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_pretrained
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


def _check_arguments(depth, block_type, shortcut_type, cardinality, width_multiplier,
                     blocks_per_stage):
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
    check_positive_int(cardinality, "cardinality")
    if (isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float))
            or not width_multiplier > 0):
        raise ValueError(f"width_multiplier must be > 0. "
                         f"Received: width_multiplier={width_multiplier!r}")
    if blocks_per_stage is not None and (
            len(blocks_per_stage) != 4 or any(int(n) < 1 for n in blocks_per_stage)):
        raise ValueError("blocks_per_stage must be 4 positive ints. "
                         f"Received: blocks_per_stage={blocks_per_stage!r}")


def resnet3d_backbone(depth=18, block_type=None, shortcut_type="A", cardinality=32,
                      temporally_dense=False, width_multiplier=1.0, blocks_per_stage=None,
                      input_shape=(None, 112, 112, 3), name=None):
    """The convolutional part of a 3D ResNet / ResNeXt: clips to conv5 feature maps.

    conv1 7×7×7 stride (1, 2, 2) → BN → ReLU → max pool 3×3×3 stride 2 → 4 stages of
    residual blocks (stages 2–4 stride 2), Hara et al. (2018). Arguments as in `resnet3d`.

    Returns:
        A `keras.Model` from `(batch, frames, height, width, channels)` to
        `(batch, frames', height / 32, width / 32, channels')`, frames' = ⌈frames / 16⌉
        (frames with `temporally_dense=True`).
    """
    block_type = block_type or RESNET3D_DEPTHS.get(depth, ("basic",))[0]
    _check_arguments(depth, block_type, shortcut_type, cardinality, width_multiplier,
                     blocks_per_stage)
    blocks_per_stage = tuple(int(n) for n in (blocks_per_stage or RESNET3D_DEPTHS[depth][1]))
    temporal_stride = 1 if temporally_dense else 2
    kind = "resnext3d" if block_type == "resnext" else "resnet3d"

    inputs = keras.Input(tuple(input_shape), name="clips")
    x = resnet3d_blocks.apply_conv_bn(inputs, _scaled(STEM_FILTERS, width_multiplier), 7,
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
    return keras.Model(inputs, x, name=name or f"{kind}_{depth}_backbone")


def resnet3d(num_classes, *, depth=18, block_type=None, shortcut_type="A", cardinality=32,
             temporally_dense=False, width_multiplier=1.0, blocks_per_stage=None,
             input_shape=None, pooling="average", spatial_pooling="max", dropout_rate=0.0,
             input_dropout_rate=0.0, pretrained=False, pooling_temperature=1.0,
             window_size=16, name=None):
    """3D ResNet / ResNeXt of Hara et al. (2018), fully convolutional in time.

    A `ClipClassifier` on `resnet3d_backbone`: conv5 maps → spatial pooling → classifier →
    `frame_scores` → `temporal_pooling` (Ayral (2021) thesis, Fig. 2.2, Section 2.1.2).
    Trainable parameters at 400 classes (Kinetics): ResNet-18 shortcut A 33,235,280;
    ResNeXt-101 (cardinality 32) shortcut B 48,340,816. `temporally_dense=True` removes
    every temporal stride (max pool and blocks), so the model outputs one score per input
    frame (thesis Table 2.2).

    The defaults `spatial_pooling="max"`, `pooling="average"` are the thesis' two-step
    pooling (spatial max of features, per-frame scores, temporal average), the best
    setting of Table 2.1 and the one of Table 2.2. `spatial_pooling="average"` with
    `pooling="average"` equals Hara et al.'s Kinetics head (3D global average of features,
    then fc); `"score_max"` with `pooling="max"` is the 3D max of scores of Fig. 2.2;
    `pooling="softmax"` / `"adaptive_softmax"` are Eq. 3.3 / Eq. 2.1.

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
        input_shape: tuple or None. `(frames, height, width, channels)`; `frames=None`
            accepts any clip or video length. None means `(None, 112, 112, 3)`.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`). Defaults to
            `"average"`.
        spatial_pooling: str. See `ClipClassifier`. Defaults to `"max"`.
        dropout_rate: float. Dropout before the classifier (0.9 in thesis Section
            2.2.3.4). Defaults to `0.0`.
        input_dropout_rate: float. Dropout on input clips (0.3 in thesis Section 2.2.3.4).
            Defaults to `0.0`.
        pretrained: bool or None. No weights are shipped: only False/None. Defaults to
            `False`.
        pooling_temperature: float. γ_p of Eq. 3.3 for the softmax poolings. Defaults to
            `1.0`.
        window_size: int. F of `"windowed_softmax"`. Defaults to `16`.
        name: str or None. Model name. Defaults to `"resnet3d_{depth}"` /
            `"resnext3d_{depth}"`.

    Returns:
        A `ClipClassifier` mapping `(batch, frames, height, width, channels)` to logits
        `(batch, num_classes)`.

    Example:

    >>> model = resnet3d(7, depth=18, width_multiplier=1 / 8, input_shape=(None, 32, 32, 3))
    >>> model(np.zeros((1, 12, 32, 32, 3))).shape
    (1, 7)
    """
    check_positive_int(num_classes, "num_classes")
    family = "resnext3d" if block_type == "resnext" else "resnet3d"
    input_shape = check_input_shape((None, 112, 112, 3) if input_shape is None
                                    else input_shape, f"{family}_{depth}")
    check_pretrained(pretrained, f"{family}_{depth}")
    backbone = resnet3d_backbone(depth, block_type, shortcut_type, cardinality,
                                 temporally_dense, width_multiplier, blocks_per_stage,
                                 input_shape)
    return ClipClassifier(backbone, num_classes, pooling=pooling,
                          spatial_pooling=spatial_pooling, dropout_rate=dropout_rate,
                          input_dropout_rate=input_dropout_rate,
                          pooling_temperature=pooling_temperature, window_size=window_size,
                          name=name or f"{family}_{depth}")


def _registered(num_classes, depth, temporally_dense, family_defaults, input_shape, pooling,
                dropout_rate, input_dropout_rate, pretrained, family_kwargs):
    """Builds a registered variant; its depth and temporal stride are part of its name."""
    for fixed in ("depth", "temporally_dense"):
        if fixed in family_kwargs:
            raise ValueError(f"{fixed} is fixed by the registered name (use resnet3d() or "
                             f"another name). Received: {fixed}={family_kwargs[fixed]!r}")
    return resnet3d(num_classes, depth=depth, temporally_dense=temporally_dense,
                    input_shape=input_shape, pooling=pooling, dropout_rate=dropout_rate,
                    input_dropout_rate=input_dropout_rate, pretrained=pretrained,
                    **dict(family_defaults, **family_kwargs))


_TINY = {"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3)}
_TINY_INPUT = (8, 32, 32, 3)


@register_model("r3d_18", tiny_kwargs=_TINY, tiny_input_shape=_TINY_INPUT,
                temporal_output="strided")
def r3d_18(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.0,
           input_dropout_rate=0.0, pretrained=False, **family_kwargs):
    """3D ResNet-18 (Hara et al. 2018), basic blocks, shortcut A; the thesis' main 3D CNN."""
    return _registered(num_classes, 18, False, {"shortcut_type": "A"}, input_shape, pooling,
                       dropout_rate, input_dropout_rate, pretrained, family_kwargs)


@register_model("r3d_34", tiny_kwargs=dict(_TINY, blocks_per_stage=(1, 2, 1, 1)),
                tiny_input_shape=_TINY_INPUT, temporal_output="strided")
def r3d_34(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.0,
           input_dropout_rate=0.0, pretrained=False, **family_kwargs):
    """3D ResNet-34 (Hara et al. 2018), basic blocks, shortcut A."""
    return _registered(num_classes, 34, False, {"shortcut_type": "A"}, input_shape, pooling,
                       dropout_rate, input_dropout_rate, pretrained, family_kwargs)


@register_model("r3d_50", tiny_kwargs=dict(_TINY, blocks_per_stage=(1, 1, 1, 1)),
                tiny_input_shape=_TINY_INPUT, temporal_output="strided")
def r3d_50(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.0,
           input_dropout_rate=0.0, pretrained=False, **family_kwargs):
    """3D ResNet-50 (Hara et al. 2018), bottleneck blocks, shortcut B."""
    return _registered(num_classes, 50, False, {"shortcut_type": "B"}, input_shape, pooling,
                       dropout_rate, input_dropout_rate, pretrained, family_kwargs)


@register_model("resnext3d_101",
                tiny_kwargs={"width_multiplier": 1 / 16, "cardinality": 4,
                             "blocks_per_stage": (1, 1, 2, 1), "input_shape": (None, 32, 32, 3),
                             "pooling": "adaptive_softmax"},
                tiny_input_shape=_TINY_INPUT, temporal_output="strided")
def resnext3d_101(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.0,
                  input_dropout_rate=0.0, pretrained=False, **family_kwargs):
    """3D ResNeXt-101 (Hara et al. 2018), cardinality 32, shortcut B; thesis Section 2.1.1."""
    return _registered(num_classes, 101, False,
                       {"shortcut_type": "B", "block_type": "resnext"}, input_shape, pooling,
                       dropout_rate, input_dropout_rate, pretrained, family_kwargs)


@register_model("r3d_18_dense",
                tiny_kwargs=dict(_TINY, pooling="softmax", pooling_temperature=2.0),
                tiny_input_shape=_TINY_INPUT, temporal_output="dense")
def r3d_18_dense(num_classes, *, input_shape=None, pooling="average", dropout_rate=0.0,
                 input_dropout_rate=0.0, pretrained=False, **family_kwargs):
    """Temporally dense 3D ResNet-18 (no temporal stride, one score per frame; Table 2.2)."""
    return _registered(num_classes, 18, True, {"shortcut_type": "A"}, input_shape, pooling,
                       dropout_rate, input_dropout_rate, pretrained, family_kwargs)
