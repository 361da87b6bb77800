"""Classification heads of the thesis' pooling comparison (Fig. 2.2, Table 2.1, Eq. 2.1/3.3).

`apply_spatiotemporal_head(features, ...)` turns 3D feature maps
`(batch, frames', height', width', channels)` into class logits `(batch, num_classes)`.
Every mode except `"feature_average"` is fully convolutional in time and follows the
contract used by evaluation and export: a layer named `frame_scores` outputs per-frame
(per temporal position) logits `(batch, frames', num_classes)`, then a layer named
`temporal_pooling` pools them to `(batch, num_classes)`.

| pooling | spatial | classifier | temporal |
| --- | --- | --- | --- |
| `"feature_average"` | 3D global average of features | Dense | (joint with spatial) |
| `"score_average"` | average of per-position scores | 1×1×1 conv | average |
| `"score_max"` | max of per-position scores | 1×1×1 conv | max |
| `"two_step"` | max of features | per-frame Dense | average |
| `"softmax"` | max of features | per-frame Dense | softmax, γ_p (Eq. 3.3) |
| `"adaptive_softmax"` | max of features | per-frame Dense | learnable β_c (Eq. 2.1) |

`"score_average"` / `"score_max"` are the 3D average / max of scores of Fig. 2.2 (3D
pooling factorised as spatial then temporal, which is exact for average and for max).
`"softmax"` with γ_p = 0 equals `"two_step"`, so the three per-frame modes differ only in the
temporal pooling.
"""

import keras

from kerasfer.layers.adaptive_softmax_pooling import AdaptiveSoftmaxPooling
from kerasfer.layers.global_spatial_pooling import GlobalSpatialPooling
from kerasfer.layers.softmax_pooling import SoftmaxPooling
from kerasfer.layers.temporal_average_pooling import TemporalAveragePooling
from kerasfer.layers.temporal_max_pooling import TemporalMaxPooling

POOLING_MODES = ("feature_average", "score_average", "score_max", "two_step", "softmax",
                 "adaptive_softmax")


def validate_pooling(pooling, pooling_temperature=1.0):
    """Raises `ValueError` for an unknown pooling mode or a non-finite temperature."""
    if pooling not in POOLING_MODES:
        raise ValueError(f"pooling must be one of {', '.join(POOLING_MODES)}. "
                         f"Received: pooling={pooling!r}")
    # SoftmaxPooling validates γ_p; building it here fails early, before the backbone.
    SoftmaxPooling(pooling_temperature=pooling_temperature)


def apply_spatiotemporal_head(features, num_classes, pooling="two_step",
                              pooling_temperature=1.0, dropout_rate=0.0, name_prefix=""):
    """Applies spatial pooling, a classifier and temporal pooling to 3D feature maps.

    Args:
        features: tensor `(batch, frames', height', width', channels)`.
        num_classes: int. Number of classes C.
        pooling: str. One of `POOLING_MODES` (see the module table). Defaults to
            `"two_step"`, the best setting of thesis Table 2.1 for both 3D ResNet and i3D.
        pooling_temperature: float. γ_p of Eq. 3.3 for `"softmax"`. Defaults to `1.0`.
        dropout_rate: float. Dropout before the classifier (the thesis used 0.9 between
            the 3D CNN and the classifier, Section 2.2.3.4). Defaults to `0.0`.
        name_prefix: str. Prefix of the layer names, except `frame_scores` and
            `temporal_pooling` which keep their contract names. Defaults to `""`.

    Returns:
        Logits `(batch, num_classes)`.
    """
    validate_pooling(pooling, pooling_temperature)
    if pooling == "feature_average":
        x = keras.layers.GlobalAveragePooling3D(name=f"{name_prefix}feature_pooling")(features)
        if dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name=f"{name_prefix}head_dropout")(x)
        return keras.layers.Dense(num_classes, name=f"{name_prefix}classifier")(x)

    if pooling in ("score_average", "score_max"):
        x = features
        if dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name=f"{name_prefix}head_dropout")(x)
        position_scores = keras.layers.Conv3D(num_classes, 1,
                                              name=f"{name_prefix}classifier")(x)
        spatial_mode = "average" if pooling == "score_average" else "max"
        frame_scores = GlobalSpatialPooling(spatial_mode, name="frame_scores")(position_scores)
        temporal = (TemporalAveragePooling if pooling == "score_average"
                    else TemporalMaxPooling)(name="temporal_pooling")
        return temporal(frame_scores)

    x = GlobalSpatialPooling("max", name=f"{name_prefix}spatial_pooling")(features)
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name=f"{name_prefix}head_dropout")(x)
    # A Dense on (batch, frames, channels) is the thesis' 1×1×1 classification convolution
    # applied to each frame (Section 2.1.2), with the same parameters.
    frame_scores = keras.layers.Dense(num_classes, name="frame_scores")(x)
    if pooling == "two_step":
        temporal = TemporalAveragePooling(name="temporal_pooling")
    elif pooling == "softmax":
        temporal = SoftmaxPooling(pooling_temperature=pooling_temperature,
                                  name="temporal_pooling")
    else:
        temporal = AdaptiveSoftmaxPooling(name="temporal_pooling")
    return temporal(frame_scores)
