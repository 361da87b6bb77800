"""Builds the temporal pooling layer that turns per-frame scores into clip scores."""

from __future__ import annotations

from kerasfer.layers.adaptive_softmax_pooling import AdaptiveSoftmaxPooling
from kerasfer.layers.softmax_pooling import SoftmaxPooling
from kerasfer.layers.temporal_average_pooling import TemporalAveragePooling
from kerasfer.layers.temporal_max_pooling import TemporalMaxPooling
from kerasfer.layers.windowed_softmax_pooling import WindowedSoftmaxPooling

POOLINGS = ("average", "max", "softmax", "adaptive_softmax", "windowed_softmax", "none")


def temporal_pooling_layer(pooling="average", pooling_temperature=1.0, window_size=16,
                           name="temporal_pooling"):
    """Returns the layer pooling `(batch, frames, num_classes)` scores to `(batch, num_classes)`.

    Thesis (seed 004) Fig. 2.2 / Table 2.1 (temporal average of scores, the baseline),
    Eq. 2.1 (adaptive softmax, learnable β_c), Eq. 3.3 (softmax pooling with γ_p) and
    Section 3.2.3 (max within windows of F frames, softmax across windows).

    Args:
        pooling: str. One of "average", "max", "softmax", "adaptive_softmax",
            "windowed_softmax", or "none" (returns `None`: the model outputs per-frame
            scores). Defaults to "average".
        pooling_temperature: float. γ_p for "softmax" and "windowed_softmax". Defaults to 1.0.
        window_size: int. F for "windowed_softmax". Defaults to 16.
        name: str. Layer name. Defaults to "temporal_pooling".
    """
    if pooling == "average":
        return TemporalAveragePooling(name=name)
    if pooling == "max":
        return TemporalMaxPooling(name=name)
    if pooling == "softmax":
        return SoftmaxPooling(pooling_temperature=pooling_temperature, name=name)
    if pooling == "adaptive_softmax":
        return AdaptiveSoftmaxPooling(name=name)
    if pooling == "windowed_softmax":
        return WindowedSoftmaxPooling(window_size=window_size,
                                      pooling_temperature=pooling_temperature, name=name)
    if pooling == "none":
        return None
    raise ValueError(f"pooling must be one of {POOLINGS}. Received: pooling={pooling!r}")
