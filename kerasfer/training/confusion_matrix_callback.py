"""TensorBoard confusion-matrix image of the validation clips at the end of each epoch.

With a `ClipScoringModel` the counts come from the epoch's own validation pass (the model
counts them in `compute_loss`); other models are predicted again.

Example:

>>> callback = ConfusionMatrixCallback(validation_dataset, class_names, "runs/x/logs")
"""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasfer.training.sampling_maps_callback import figure_to_png, new_figure


def render_confusion_matrix(counts, class_names, title=""):
    """Returns PNG bytes of a row-normalised confusion matrix with counts in the cells."""
    counts = np.asarray(counts)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = counts / np.maximum(rows, 1)
    size = 2.0 + 0.45 * len(class_names)
    figure = new_figure(figsize=(size, size))
    axis = figure.subplots()
    axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=7)
    axis.set_yticks(ticks, class_names, fontsize=7)
    for (i, j), value in np.ndenumerate(counts):
        axis.text(j, i, str(value), ha="center", va="center", fontsize=7,
                  color="white" if normalised[i, j] > 0.5 else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure_to_png(figure)


class ConfusionMatrixCallback(keras.callbacks.Callback):
    """Predicts the validation clips each epoch and writes the confusion matrix image.

    Args:
        dataset: tf.data.Dataset of `(features, label)` batches with `features["clip"]`.
        class_names: list of str.
        log_dir: str. TensorBoard directory; the image goes to `log_dir/validation_images`.
        every: int. Write every `every` epochs and after the last one
            (`train.diagnostics_every`: the re-prediction of the validation clips costs about
            one validation pass). Defaults to 1.
    """

    def __init__(self, dataset, class_names, log_dir, every=1):
        super().__init__()
        self.dataset = dataset
        self.class_names = list(class_names)
        self.log_dir = os.path.join(str(log_dir), "validation_images")
        self.every = max(int(every), 1)
        self.last_counts = None
        self._writer = None

    def confusion_counts(self):
        num_classes = len(self.class_names)
        counts = np.zeros((num_classes, num_classes), np.int64)
        network = getattr(self.model, "network", self.model)
        for features, label in self.dataset:
            logits = keras.ops.convert_to_numpy(network(features["clip"], training=False))
            predicted = np.argmax(logits, axis=-1)
            truth = keras.ops.convert_to_numpy(label).astype(int)
            if "weight" in features:      # padding examples of multi-replica batches
                keep = keras.ops.convert_to_numpy(features["weight"]) > 0
                predicted, truth = predicted[keep], truth[keep]
            np.add.at(counts, (truth, predicted), 1)
        return counts

    def on_test_begin(self, logs=None):
        if hasattr(self.model, "reset_confusion_counts"):
            self.model.reset_confusion_counts()

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        last = epoch + 1 == (self.params or {}).get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        if hasattr(self.model, "read_confusion_counts") and "val_loss" in (logs or {}):
            # Counted by ClipScoringModel during this epoch's validation pass: no second
            # prediction of the validation clips.
            counts = self.model.read_confusion_counts()
        else:
            counts = self.confusion_counts()
        self.last_counts = counts
        png = render_confusion_matrix(counts, self.class_names, f"validation clips, epoch {epoch + 1}")
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=epoch):
            tf.summary.image("confusion_matrix", tf.io.decode_png(png, channels=3)[tf.newaxis])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
