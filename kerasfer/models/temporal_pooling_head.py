"""Builds the temporal pooling layer that turns per-frame scores into clip scores."""

from __future__ import annotations

from kerasfer.layers.adaptive_softmax_pooling import AdaptiveSoftmaxPooling
from kerasfer.layers.joint_softmax_pooling import JointSoftmaxPooling
from kerasfer.layers.softmax_pooling import SoftmaxPooling
from kerasfer.layers.temporal_average_pooling import TemporalAveragePooling
from kerasfer.layers.temporal_max_pooling import TemporalMaxPooling
from kerasfer.layers.windowed_softmax_pooling import WindowedSoftmaxPooling
from kerasfer.models.contract import POOLINGS
from kerasfer.models.contract import check_pooling

# pooling name → f(pooling_temperature, window_size, name) -> layer; keys are `POOLINGS`.
_FACTORIES = {
    "average": lambda temperature, window, name: TemporalAveragePooling(name=name),
    "max": lambda temperature, window, name: TemporalMaxPooling(name=name),
    "softmax": lambda temperature, window, name: SoftmaxPooling(
        pooling_temperature=temperature, name=name),
    "adaptive_softmax": lambda temperature, window, name: AdaptiveSoftmaxPooling(name=name),
    "windowed_softmax": lambda temperature, window, name: WindowedSoftmaxPooling(
        window_size=window, pooling_temperature=temperature, name=name),
    "joint_softmax": lambda temperature, window, name: JointSoftmaxPooling(
        pooling_temperature=temperature, name=name),
}
assert tuple(_FACTORIES) == POOLINGS


def temporal_pooling_layer(pooling="average", pooling_temperature=1.0, window_size=16,
                           name="temporal_pooling"):
    """Returns the layer pooling `(batch, frames, num_classes)` scores to `(batch, num_classes)`.

    Ayral (2021) thesis Fig. 2.2 / Table 2.1 (temporal average of scores, the baseline),
    Eq. 2.1 (adaptive softmax, learnable β_c), Eq. 3.3 (softmax pooling with γ_p) and
    Section 3.2.3 (max within windows of F frames, softmax across windows); Eq. 5 of the
    spatial attention + temporal softmax pooling EmotiW paper (joint softmax over frames ×
    classes).

    Args:
        pooling: str. One of `kerasfer.models.contract.POOLINGS`. Defaults to "average".
        pooling_temperature: float. γ_p for "softmax", "windowed_softmax" and
            "joint_softmax". Defaults to 1.0.
        window_size: int. F for "windowed_softmax". Defaults to 16.
        name: str. Layer name. Defaults to "temporal_pooling".

    Example:

    >>> temporal_pooling_layer("softmax", 0.0)(np.zeros((2, 8, 7))).shape
    (2, 7)
    """
    check_pooling(pooling)
    return _FACTORIES[pooling](pooling_temperature, window_size, name)
