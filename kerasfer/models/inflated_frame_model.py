"""A 2D per-frame classifier inflated into a temporally dense 3D model with a pooling head.

Shared by the families that inflate a 2D model whose output already is the per-frame
logits (`fer_mini_xception_3d`, `small_cnn_3d`): Ayral (2021) master's thesis, Section
1.2.5 (inflation) and Fig. 2.2 / Eq. 3.3 (temporal pooling of frame scores).
"""

from __future__ import annotations

import keras

from kerasfer.models.inflation import inflate
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer


def inflated_frame_model(logits_2d, input_shape, *, pooling, pooling_temperature, window_size,
                         input_dropout_rate, time_kernel, initialization, temporal_padding,
                         backbone_name, name):
    """Inflates `logits_2d` and pools its per-frame logits over time.

    Layers: optional `input_dropout`, the inflated backbone `backbone_name`, `frame_scores`
    `(batch, frames, num_classes)`, `temporal_pooling`.

    Args:
        logits_2d: keras.Model. Faces `(batch, height, width, channels)` → logits.
        input_shape: tuple. `(frames, height, width, channels)`, frames may be None.
        pooling: str. Temporal pooling (`kerasfer.models.contract.POOLINGS`).
        pooling_temperature: float. γ_p of softmax pooling (Eq. 3.3).
        window_size: int. F of windowed softmax pooling.
        input_dropout_rate: float. Dropout on the input clip (0 for none).
        time_kernel: int. Temporal kernel size T of the inflated convolutions.
        initialization: str. "repeat" or "center", see `inflate`.
        temporal_padding: str. "zero" or "replicate", see `inflate`.
        backbone_name: str. Name of the inflated backbone.
        name: str. Name of the returned model.

    Returns:
        A `keras.Model` from clips `(batch, frames, height, width, channels)` to logits
        `(batch, num_classes)`.
    """
    backbone = inflate(logits_2d, time_kernel=time_kernel, initialization=initialization,
                       temporal_padding=temporal_padding, name=backbone_name)
    clips = keras.Input(input_shape, name="clips")
    x = clips
    if input_dropout_rate:
        x = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(x)
    frame_scores = keras.layers.Identity(name="frame_scores")(backbone(x))
    outputs = temporal_pooling_layer(pooling, pooling_temperature, window_size)(frame_scores)
    return keras.Model(clips, outputs, name=name)


__all__ = ["inflated_frame_model"]
