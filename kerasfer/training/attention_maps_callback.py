"""TensorBoard images of spatial attention maps and frame importance p(f | S) per epoch.

For the spatial attention + temporal softmax pooling model of the EmotiW paper (Aminbeidokhti
et al., "Emotion recognition with spatial attention and temporal softmax pooling", ICIAR
2019; `kerasfer.models.spatial_attention_vgg16`): for a few fixed validation videos, each
epoch writes one image per video under `attention/<video id>`: a row of frames with the
attention A of Eq. 4 (mean over heads) drawn over them, and below it the frame importance
p(f | S) = Σ_c p(c, f | S) of the joint softmax of Eq. 5 (Section 3.3, Fig. 2d).
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np

from kerasfer.training.sampling_maps_callback import figure_to_png, new_figure


def render_attention(frames, attention, frame_probability, title="", max_frames=8):
    """PNG bytes: frames with their attention overlay, and the p(f | S) bars.

    Args:
        frames: float `(frames, height, width, channels)`, any range.
        attention: float `(frames, heads, h, w)`, each map summing to 1.
        frame_probability: float `(frames,)`, p(f | S).
        title: str. Figure title. Defaults to "".
        max_frames: int. Frames drawn (evenly spaced). Defaults to 8.
    """
    count = len(frames)
    shown = np.unique(np.linspace(0, count - 1, min(max_frames, count)).round().astype(int))
    figure = new_figure(figsize=(1.6 * len(shown), 3.6))
    grid = figure.add_gridspec(2, len(shown), height_ratios=[1.4, 1])
    for column, index in enumerate(shown):
        axis = figure.add_subplot(grid[0, column])
        image = frames[index]
        image = (image - image.min()) / max(float(image.max() - image.min()), 1e-6)
        height, width = image.shape[:2]
        axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        axis.imshow(attention[index].mean(axis=0), cmap="jet", alpha=0.45,
                    extent=(0, width, height, 0), interpolation="bilinear")
        axis.set_title(f"f={index}", fontsize=7)
        axis.axis("off")
    bars = figure.add_subplot(grid[1, :])
    bars.bar(np.arange(count), frame_probability, color="tab:blue")
    bars.scatter(shown, frame_probability[shown], color="tab:red", s=8, zorder=3)
    bars.set_xlabel("frame f")
    bars.set_ylabel("p(f | S)")
    figure.suptitle(title, fontsize=8)
    return figure_to_png(figure)


class AttentionMapsCallback(keras.callbacks.Callback):
    """Writes attention-map / p(f | S) images of a few validation videos every epoch.

    The videos are read at the start of training from the run's `splits.json` (the first
    `num_videos` validation ids) with the config's input settings; the network is the
    trained model's `network` (the `ClipClassifier` inside `ClipScoringModel`) or the model.

    Args:
        config: `ExperimentConfig` of the run (run_dir, data settings).
        num_videos: int. Validation videos drawn. Defaults to 2.
        log_dir: str or None. Defaults to `RUN/logs/attention`.

    Example:

    >>> Experiment(config, extra_callbacks=[AttentionMapsCallback(config)]).run()
    """

    def __init__(self, config, num_videos=2, log_dir=None):
        super().__init__()
        if isinstance(num_videos, bool) or not isinstance(num_videos, int) or num_videos < 1:
            raise ValueError(f"num_videos must be a positive int. Received: num_videos={num_videos!r}")
        self.config = config
        self.num_videos = num_videos
        self.log_dir = log_dir or os.path.join(config.run_dir, "logs", "attention")
        self.videos = []
        self._writer = None

    def on_train_begin(self, logs=None):
        from kerasfer.data import DatasetIndex, evaluation_dataset

        data = self.config.data
        with open(os.path.join(self.config.run_dir, "splits.json"), encoding="utf-8") as handle:
            ids = json.load(handle).get("validation", [])[:self.num_videos]
        index = DatasetIndex.load(data.dir)
        dataset = evaluation_dataset(index, index.select(ids=ids), normalization=data.normalization,
                                     image_size=data.image_size, grayscale=data.grayscale,
                                     max_frames=max(data.clip_length, 16))
        self.videos = [(batch["id"][0].numpy().decode(), batch["video"][0].numpy())
                       for batch in dataset]

    def maps(self, clip):
        """`(attention (frames, heads, h, w), p(f | S) (frames,))` of one clip."""
        network = getattr(self.model, "network", self.model)
        local = network.backbone.get_layer("vgg16_backbone")(clip[None], training=False)
        attention = network.backbone.get_layer("spatial_attention").attention_maps(local)
        scores = network.frame_scores_model()(clip[None], training=False)
        pooling = network.get_layer("temporal_pooling")
        if hasattr(pooling, "frame_probabilities"):
            probability = pooling.frame_probabilities(scores)
        else:  # another pooling: the frames' share of the softmax over all frame scores
            flat = keras.ops.reshape(scores, (1, -1))
            probability = keras.ops.sum(keras.ops.reshape(
                keras.ops.softmax(flat), keras.ops.shape(scores)), axis=-1)
        return (keras.ops.convert_to_numpy(attention)[0],
                keras.ops.convert_to_numpy(probability)[0])

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=epoch):
            for video_id, clip in self.videos:
                attention, probability = self.maps(clip)
                png = render_attention(clip, attention, probability,
                                       f"{video_id} (epoch {epoch + 1})")
                tf.summary.image(f"attention/{video_id}",
                                 tf.image.decode_png(png, channels=4)[None])
        self._writer.flush()
