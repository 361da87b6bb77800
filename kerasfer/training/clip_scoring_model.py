"""`ClipScoringModel`: trains on clips and records each clip's target-class score.

Ayral (2021) master's thesis, Algorithm 3.1 and Section 3.2.3.2: for every training clip,
the score of the correct class, `w_{x,t} = f(x_t)[y]`, is computed on a *clean* copy of the
clip (no augmentation, no dropout, batch-norm in inference mode) **before** the gradient
step on the augmented copy ("Evaluating the clip right after training on it would bias the
distributions toward rewarding most fitted clips", Section 3.2.4). With
`score_source="training_pass"` the logit of the augmented training forward pass is used
instead (cheaper; thesis Table 3.8).

Scores are scattered by `video_index` into three per-epoch buffer variables created with
`synchronization="on_read", aggregation="sum"`: under `tf.distribute.MirroredStrategy` each
replica writes the videos of its share of the batch into its own copy, and reading the
buffer at the end of the epoch sums the copies, so the sampler sees exactly one score per
video whatever the number of devices. TensorFlow backend only (the training loop is
`tf.distribute`-based).

Only public Keras API: `train_step` / `test_step` hand `(features, label, sample_weight)` to
Keras' own steps (loss, loss tracking across replicas, optimizer, metrics), and the scores
are recorded in the public `compute_loss` hook, which sees the training pass' logits before
the gradient step is applied.

Batches are dicts from `kerasfer.data.training_dataset` (wrapped by `prepare` as
`(dict, label)` pairs, the structure Keras' symbolic build expects):
`clip` `(batch, F, H, W, C)` float, `clean_clip` (same), `label` `(batch,)` int,
`video_index` `(batch,)` int, `start` `(batch,)` int.

Example:

>>> scoring = ClipScoringModel(network, num_videos=len(train_records))
>>> scoring.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(
...     from_logits=True), metrics=["accuracy"])
>>> scoring.reset_score_buffers()
>>> scoring.fit(ClipScoringModel.prepare(dataset), epochs=1)
>>> scores, starts, seen = scoring.read_score_buffers()
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

SCORE_SOURCES = ("clean", "training_pass")


def pad_batch(batch, multiple):
    """Pads a dict batch to a multiple of `multiple` examples by repeating the first one.

    Keys: every key of `batch` (leading batch axis), plus `weight` float32 `(batch',)`,
    1 for real examples and 0 for padding (no loss, no metric, no score).
    """
    size = tf.shape(batch["label"])[0]
    target = (size + multiple - 1) // multiple * multiple
    index = tf.concat([tf.range(size), tf.zeros([target - size], tf.int32)], axis=0)
    padded = {key: tf.gather(value, index) for key, value in batch.items()}
    padded["weight"] = tf.concat([tf.ones([size]), tf.zeros([target - size])], axis=0)
    if "weight" in batch:
        padded["weight"] = padded["weight"] * tf.gather(tf.cast(batch["weight"], tf.float32), index)
    return padded


class ClipScoringModel(keras.Model):
    """Wraps a clip classifier; its `train_step` scores clean clips before the update.

    Args:
        network: keras.Model. Maps `(batch, F, H, W, C)` clips to logits `(batch, classes)`.
        num_videos: int. Training videos (rows of the score buffers).
        score_source: str. `"clean"` (thesis 3.2.3.2) or `"training_pass"` (Table 3.8).
            Defaults to `"clean"`.
        input_dropout: float. Dropout rate on the input clip during training (thesis
            2.2.3.4 used 0.3). Defaults to 0.0.
        class_weights: sequence of float or None. Loss weight of each class. Defaults to None.
    """

    def __init__(self, network, num_videos, score_source="clean", input_dropout=0.0,
                 class_weights=None, **kwargs):
        super().__init__(**kwargs)
        if score_source not in SCORE_SOURCES:
            raise ValueError(f"score_source must be one of {SCORE_SOURCES}. "
                             f"Received: score_source={score_source!r}")
        if int(num_videos) < 1:
            raise ValueError(f"num_videos must be at least 1. Received: num_videos={num_videos}")
        self.network = network
        self.num_videos = int(num_videos)
        self.score_source = score_source
        self.input_dropout = float(input_dropout)
        self.dropout_layer = (keras.layers.Dropout(self.input_dropout, name="input_dropout")
                              if self.input_dropout else None)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]

        def buffer(name, dtype):
            return keras.Variable(np.zeros([self.num_videos]), dtype=dtype, trainable=False,
                                  name=name, synchronization="on_read", aggregation="sum")

        self.epoch_scores = buffer("epoch_scores", "float32")
        self.epoch_starts = buffer("epoch_starts", "int32")
        self.epoch_seen = buffer("epoch_seen", "int32")
        # Confusion counts of the last evaluation pass (validation during fit), summed over
        # replicas: ConfusionMatrixCallback reads them instead of predicting again.
        num_classes = int(network.output_shape[-1])
        self.confusion_counts = keras.Variable(
            np.zeros([num_classes, num_classes]), dtype="float32", trainable=False,
            name="confusion_counts", synchronization="on_read", aggregation="sum")

    def call(self, inputs, training=False):
        clip = inputs["clip"] if isinstance(inputs, dict) else inputs
        if training and self.dropout_layer is not None:
            clip = self.dropout_layer(clip, training=True)
        return self.network(clip, training=training)

    def _sample_weight(self, data):
        weight = data.get("weight")
        if self.class_weights is not None:
            class_weight = tf.gather(tf.constant(self.class_weights, tf.float32), data["label"])
            weight = class_weight if weight is None else weight * class_weight
        return weight

    def _target_logit(self, logits, label):
        logits = tf.cast(logits, tf.float32)
        return tf.gather(logits, tf.cast(label, tf.int32), axis=1, batch_dims=1)

    def _record(self, video_index, start, scores, weight=None):
        if weight is not None:
            # Padding examples (weight 0) are not trained clips: leave their rows alone.
            keep = weight > 0
            video_index, start, scores = (tf.boolean_mask(t, keep) for t in
                                          (video_index, start, scores))
        index = tf.cast(tf.reshape(video_index, [-1, 1]), tf.int32)
        # Each replica writes only its own rows; other rows keep their zeros so the
        # cross-replica SUM at read time is the one score of every video.
        for variable, values in ((self.epoch_scores, scores),
                                 (self.epoch_starts, tf.cast(start, tf.int32)),
                                 (self.epoch_seen, tf.ones_like(tf.cast(start, tf.int32)))):
            local = variable.value
            if variable is self.epoch_seen:
                local.assign(tf.tensor_scatter_nd_add(local, index, values))
            else:
                local.assign(tf.tensor_scatter_nd_update(local, index, values))

    @staticmethod
    def prepare(dataset, num_replicas=1):
        """Maps dict batches to `(features, label)` pairs, the structure Keras' fit expects.

        With `num_replicas > 1` every batch is padded to a multiple of it (`pad_batch`):
        TensorFlow hands an empty share to some replica otherwise, which Conv3D on CPU
        rejects.
        """
        if num_replicas > 1:
            dataset = dataset.map(lambda batch: pad_batch(batch, num_replicas))
        # Under MultiWorkerMirroredStrategy, split every global batch between the workers
        # (DATA) rather than the shard files (AUTO → FILE): each step trains on the same
        # global batch as one worker would, and a dataset with fewer shards than workers runs.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        dataset = dataset.with_options(options)
        return dataset.map(lambda features: (features, features["label"]))

    def _keras_data(self, data):
        features = data[0] if isinstance(data, tuple) else data
        weight = self._sample_weight(features)
        label = features["label"]
        return (features, label) if weight is None else (features, label, weight)

    def _multi_worker_logs(self, logs):
        # Keras' TF trainer reduces each log under MultiWorkerMirroredStrategy with
        # `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid reduction
        # dimension 0 for input with 0 dimensions"); a (1,) axis reduces back to a scalar.
        strategy = self.distribute_strategy
        multi_worker = (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                        and strategy.extended._in_multi_worker_mode())
        if not multi_worker:
            return logs
        return tf.nest.map_structure(lambda v: tf.reshape(v, [1]) if tf.convert_to_tensor(v).shape.rank == 0 else v,
                                     logs)

    def train_step(self, data):
        return self._multi_worker_logs(super().train_step(self._keras_data(data)))

    def test_step(self, data):
        return self._multi_worker_logs(super().test_step(self._keras_data(data)))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras' loss; during training also records each clip's target-class score.

        Called by Keras' `train_step` inside the gradient tape, before the optimizer step:
        the clean clip's logits (`score_source="clean"`, no dropout, batch-norm in
        inference mode) or the training pass' own logits (`"training_pass"`) are scattered
        into the per-epoch buffers by `video_index`.
        """
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                    training=training)
        if not training and y is not None:
            self._count_confusion(y, y_pred, x.get("weight") if isinstance(x, dict) else None)
        if training and isinstance(x, dict) and "video_index" in x:
            if self.score_source == "clean":
                logits = self.network(x["clean_clip"], training=False)
            else:
                logits = y_pred
            scores = self._target_logit(tf.stop_gradient(logits), y)
            self._record(x["video_index"], x["start"], scores, x.get("weight"))
        return loss

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds from one replica's local batch instead of a cross-replica reduce.

        Keras' TF trainer reduces the first distributed batch with
        `strategy.reduce("MEAN", batch)`; `MultiWorkerMirroredStrategy` cannot reduce a nest
        (a dict batch) and fit crashes on the first batch (keras-team/keras#20329). Only
        shapes and dtypes matter for the symbolic build, so the first replica's local
        values are used; no collective runs. A private Keras hook: pyproject.toml pins the
        tested Keras range.
        """
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                data_batch = next(it)
                break
            strategy = self.distribute_strategy

            def local(value):
                if isinstance(value, tf.distribute.DistributedValues):
                    return strategy.experimental_local_results(value)[0]
                return value

            if data_batch is not None:
                data_batch = tf.nest.map_structure(local, data_batch)
        return super()._maybe_symbolic_build(data_batch=data_batch)

    def _count_confusion(self, label, logits, weight=None):
        num_classes = self.confusion_counts.shape[0]
        counts = tf.math.confusion_matrix(
            tf.cast(tf.reshape(label, [-1]), tf.int32),
            tf.argmax(tf.cast(logits, tf.float32), axis=-1, output_type=tf.int32),
            num_classes=num_classes, dtype=tf.float32,
            weights=None if weight is None else tf.cast(weight > 0, tf.float32))
        local = self.confusion_counts.value
        local.assign(local + counts)

    def reset_confusion_counts(self):
        """Zeroes the confusion counts (call before an evaluation pass)."""
        self.confusion_counts.assign(np.zeros(self.confusion_counts.shape, "float32"))

    def read_confusion_counts(self):
        """Returns the int64 `(classes, classes)` counts (true × predicted) of the last pass."""
        return np.rint(keras.ops.convert_to_numpy(self.confusion_counts.value)).astype(np.int64)

    def reset_score_buffers(self):
        """Zeroes the per-epoch buffers (call before an epoch)."""
        for variable in (self.epoch_scores, self.epoch_starts, self.epoch_seen):
            variable.assign(np.zeros([self.num_videos], variable.dtype))

    def read_score_buffers(self):
        """Returns `(scores float32, starts int32, seen int32)`, each `(num_videos,)`.

        Read outside a replica context, the SUM aggregation adds every replica's copy.
        """
        return tuple(keras.ops.convert_to_numpy(v.value) for v in
                     (self.epoch_scores, self.epoch_starts, self.epoch_seen))
