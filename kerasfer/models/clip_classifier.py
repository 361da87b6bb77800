"""`ClipClassifier`: the task model that puts a per-frame classifier on a video backbone."""

from __future__ import annotations

import keras

from kerasfer.layers.global_spatial_pooling import GlobalSpatialPooling
from kerasfer.models.contract import POOLINGS
from kerasfer.models.contract import check_pooling
from kerasfer.models.contract import check_positive_int
from kerasfer.models.contract import check_rate
from kerasfer.models.temporal_pooling_head import temporal_pooling_layer

SPATIAL_POOLINGS = ("max", "average", "score_max", "score_average")
# Stable layer names of the head, e.g. for `model.head_layers` (differential learning rates).
HEAD_LAYERS = ("input_dropout", "spatial_pooling", "hidden_dropout", "hidden",
               "classifier_dropout", "classifier", "frame_scores", "temporal_pooling")


@keras.saving.register_keras_serializable(package="kerasfer")
class ClipClassifier(keras.Model):
    """A backbone, a per-frame classifier and a temporal pooling of the frame scores.

    KerasHub-style task model. The backbone maps clips `(batch, frames, height, width,
    channels)` to feature maps `(batch, frames', h, w, d)` or per-frame features
    `(batch, frames', d)` (frames' = frames for temporally dense backbones, fewer for
    temporally strided ones). The head, with stable layer names:

    `input_dropout` (on the clip, before the backbone) → backbone → `spatial_pooling` →
    [`hidden_dropout` → `hidden`] → `classifier_dropout` → `classifier` → `frame_scores`
    `(batch, frames', num_classes)` → `temporal_pooling` `(batch, num_classes)`.

    The two pooling choices of Ayral (2021) thesis Fig. 2.2 / Table 2.1:

    * `spatial_pooling` (feature-map backbones only): `"max"` / `"average"` pool each
      frame's features over space, then classify (feature pooling); `"score_max"` /
      `"score_average"` classify every position (the classifier is a 1×1×1 convolution)
      and pool the scores over space (score pooling; layer `frame_scores` is then the
      spatial pooling). `"max"` with `pooling="average"` is the thesis' two-step pooling
      (the best setting of Table 2.1); `"average"` with `pooling="average"` equals Hara et
      al.'s 3D global average of features followed by the classifier (average and the
      linear classifier commute), as does `"score_average"`.
    * `pooling` (`kerasfer.models.contract.POOLINGS`): how the clip score comes out of the
      frame scores — `"average"`, `"max"`, `"softmax"` (Eq. 3.3, γ_p), `"adaptive_softmax"`
      (Eq. 2.1), `"windowed_softmax"` (Section 3.2.3), `"joint_softmax"` (Eq. 5 of the
      spatial attention + temporal softmax pooling EmotiW paper).

    Args:
        backbone: keras.Model. Clips to feature maps (rank 5) or frame features (rank 3).
        num_classes: int. Number of classes C.
        pooling: str. Temporal pooling, see above. Defaults to `"average"`.
        spatial_pooling: str. Spatial step for feature-map backbones, see above; ignored
            (must be the default) for frame-feature backbones. Defaults to `"max"`.
        dropout_rate: float. Dropout before the classifier (thesis Section 2.2.3.4: 0.9).
            Defaults to `0.0`.
        input_dropout_rate: float. Dropout on the input clip (thesis: 0.3). Defaults to
            `0.0`.
        hidden_units: int or None. Width of an optional per-frame ReLU layer `hidden`
            before the classifier (i3D-VGG16's 128-unit 1×1×1 convolution), preceded by
            dropout `dropout_rate`. Defaults to `None`.
        pooling_temperature: float. γ_p of the softmax poolings. Defaults to `1.0`.
        window_size: int. F of `"windowed_softmax"`. Defaults to `16`.
        **kwargs: `keras.Model` arguments (`name`, ...).

    Example:

    >>> backbone = keras.Sequential([keras.Input((None, 8, 8, 3)), keras.layers.Conv3D(4, 3)])
    >>> model = ClipClassifier(backbone, num_classes=7, pooling="softmax")
    >>> model(np.zeros((2, 10, 8, 8, 3))).shape
    (2, 7)
    >>> model.frame_scores_model()(np.zeros((2, 10, 8, 8, 3))).shape
    (2, 8, 7)
    """

    def __init__(self, backbone, num_classes, pooling="average", spatial_pooling="max",
                 dropout_rate=0.0, input_dropout_rate=0.0, hidden_units=None,
                 pooling_temperature=1.0, window_size=16, **kwargs):
        check_positive_int(num_classes, "num_classes")
        check_pooling(pooling, POOLINGS)
        check_rate(dropout_rate, "dropout_rate")
        check_rate(input_dropout_rate, "input_dropout_rate")
        if hidden_units is not None:
            check_positive_int(hidden_units, "hidden_units")
        if spatial_pooling not in SPATIAL_POOLINGS:
            raise ValueError(f"spatial_pooling must be one of {SPATIAL_POOLINGS}. "
                             f"Received: spatial_pooling={spatial_pooling!r}")
        # === Layers ===
        self.backbone = backbone
        clips = keras.Input(tuple(backbone.input_shape[1:]), name="clips")
        x = clips
        if input_dropout_rate:
            x = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(x)
        x = backbone(x)
        rank = len(x.shape)
        if rank not in (3, 5):
            raise ValueError("The backbone must output feature maps (batch, frames, h, w, d) "
                             "or frame features (batch, frames, d). "
                             f"Received: backbone_output_shape={tuple(x.shape)}")
        if rank == 3 and spatial_pooling != "max":
            raise ValueError("spatial_pooling applies to feature-map backbones only; this "
                             "backbone outputs frame features. "
                             f"Received: spatial_pooling={spatial_pooling!r}")

        score_pooling = rank == 5 and spatial_pooling.startswith("score_")
        if rank == 5 and not score_pooling:
            x = GlobalSpatialPooling(spatial_pooling, name="spatial_pooling")(x)
        if hidden_units is not None:
            if dropout_rate:
                x = keras.layers.Dropout(dropout_rate, name="hidden_dropout")(x)
            x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
        if dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name="classifier_dropout")(x)
        # A Dense on the last axis is the thesis' 1×1×1 classification convolution applied
        # at every frame (and, for score pooling, every position), with the same weights.
        x = keras.layers.Dense(num_classes, name="classifier")(x)
        if score_pooling:
            mode = spatial_pooling[len("score_"):]
            frame_scores = GlobalSpatialPooling(mode, name="frame_scores")(x)
        else:
            frame_scores = keras.layers.Identity(name="frame_scores")(x)
        outputs = temporal_pooling_layer(pooling, pooling_temperature, window_size)(
            frame_scores)

        # === Functional model ===
        super().__init__(inputs=clips, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.pooling = pooling
        self.spatial_pooling = spatial_pooling
        self.dropout_rate = dropout_rate
        self.input_dropout_rate = input_dropout_rate
        self.hidden_units = hidden_units
        self.pooling_temperature = pooling_temperature
        self.window_size = window_size

    def frame_scores_model(self):
        """Returns a `keras.Model` from clips to frame scores `(batch, frames', classes)`."""
        return keras.Model(self.input, self.get_layer("frame_scores").output,
                           name=f"{self.name}_frame_scores")

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "pooling": self.pooling,
            "spatial_pooling": self.spatial_pooling,
            "dropout_rate": self.dropout_rate,
            "input_dropout_rate": self.input_dropout_rate,
            "hidden_units": self.hidden_units,
            "pooling_temperature": self.pooling_temperature,
            "window_size": self.window_size,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
