"""TensorBoard sampling maps and position histograms of the clip sampler (thesis Fig. 3.2).

For a few fixed training videos, each epoch writes one image per video: on top the
*sampling map* (x: clip start, y: epoch; one dot per epoch at the start that was trained
on, coloured by phase — grey warm-up, blue exploration, red exploitation), below the current
score estimates `w_x` (thesis Eq. 3.9) and the sampling distribution softmax(γ_s · w_x)
(Eq. 3.8). It also writes a histogram of the relative start position `t / (N − 1)` of every
training video and scalars for the sampler phase and the distributions' entropy.

Example:

>>> callback = SamplingMapsCallback(sampler, "runs/x/logs", video_indices=[0, 5],
...                                 video_names=["v0", "v5"])
"""

from __future__ import annotations

import io
import os

import keras
import numpy as np

PHASE_COLOURS = {"warmup": "#888888", "exploration": "#1f77b4", "exploitation": "#d62728"}
PHASE_CODES = {"warmup": 0, "exploration": 1, "exploitation": 2}


def new_figure(**kwargs):
    """A matplotlib `Figure` outside pyplot: no global backend switch, nothing to close."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def figure_to_png(figure):
    """Renders a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def render_sampling_map(sampler, video_index, title=""):
    """Returns PNG bytes of the sampling map and current distribution of one video."""
    n = int(sampler.num_starts[video_index])
    figure = new_figure(figsize=(5, 4.5))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    epochs = sorted(sampler.history)
    for phase, colour in PHASE_COLOURS.items():
        chosen = [(sampler.history[e][video_index], e) for e in epochs if sampler.phase(e) == phase]
        if chosen:
            xs, ys = zip(*chosen)
            top.scatter(xs, ys, s=14, c=colour, label=phase)
    top.set_ylabel("epoch")
    top.invert_yaxis()
    top.legend(loc="best", fontsize=7, framealpha=0.5)
    top.set_title(title, fontsize=9)
    positions = np.arange(n)
    bottom.plot(positions, sampler.table.scores(video_index), color="black", lw=1.2,
                label="w (score estimate)")
    bottom.set_ylabel("w")
    bottom.set_xlabel("clip start (frame)")
    twin = bottom.twinx()
    twin.fill_between(positions, sampler.distribution(video_index), color="#d62728", alpha=0.3,
                      step="mid", label="p (softmax)")
    twin.set_ylabel("p")
    bottom.set_xlim(-0.5, max(n - 0.5, 0.5))
    figure.tight_layout()
    return figure_to_png(figure)


class SamplingMapsCallback(keras.callbacks.Callback):
    """Writes sampling maps, a start-position histogram and sampler scalars to TensorBoard.

    Args:
        sampler: the clip sampler (with `history`, `table`, `distribution`, `phase`).
        log_dir: str. TensorBoard log directory; images go to `log_dir/sampler`.
        video_indices: list of int. Training videos to draw. Defaults to the first 4.
        video_names: list of str or None. Titles of those videos. Defaults to None.
        every: int. Draw the sampling-map images every `every` epochs and after the last
            one (`train.diagnostics_every`); the scalars and the histogram are written
            every epoch. Defaults to 1.
    """

    def __init__(self, sampler, log_dir, video_indices=None, video_names=None, every=1):
        super().__init__()
        self.every = max(int(every), 1)
        self.sampler = sampler
        self.log_dir = os.path.join(str(log_dir), "sampler")
        if video_indices is None:
            video_indices = list(range(min(4, sampler.num_videos)))
        self.video_indices = [int(v) for v in video_indices]
        self.video_names = list(video_names) if video_names else [str(v) for v in self.video_indices]
        self._writer = None

    def _get_writer(self):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if epoch not in self.sampler.history:
            return
        starts = self.sampler.history[epoch].astype(np.float64)
        span = np.maximum(self.sampler.num_starts - 1, 1)
        entropy = np.mean([-np.sum(p * np.log(np.maximum(p, 1e-12))) for p in
                           (self.sampler.distribution(v) for v in range(self.sampler.num_videos))])
        with self._get_writer().as_default(step=epoch):
            tf.summary.histogram("sampler/relative_start", starts / span)
            tf.summary.scalar("sampler/phase", PHASE_CODES[self.sampler.phase(epoch)])
            tf.summary.scalar("sampler/mean_entropy", float(entropy))
            last = epoch + 1 == (self.params or {}).get("epochs")
            drawn = self.video_indices if (epoch + 1) % self.every == 0 or last else []
            for video, name in zip(drawn, self.video_names):
                # Epochs 1-based in titles, as Keras' "Epoch 3/24"; TensorBoard steps stay
                # Keras' 0-based epoch index, like its own scalars.
                png = render_sampling_map(
                    self.sampler, video, f"{name} (epoch {epoch + 1}, {self.sampler.phase(epoch)})")
                image = tf.io.decode_png(png, channels=3)[tf.newaxis]
                tf.summary.image(f"sampling_map/{name}", image)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
