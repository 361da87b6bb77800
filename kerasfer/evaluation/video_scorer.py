"""Whole-video inference: one network pass per video, then the thesis' two-stage pooling.

Thesis (seed 004) Sections 2.2.2 and 3.2.3: a fully-convolutional 3D CNN convolved over a
whole video "is equivalent to using the 3D CNN on every possible window of k consecutive
frames"; its per-frame scores are max-pooled within windows of F frames (stride 1) and the
window scores are aggregated with softmax pooling at inverse temperature γ_p (Eq. 3.3).

Two kinds of models are handled:

* temporally dense fully convolutional models, which contain a layer named `frame_scores`
  with one output per frame `(batch, frames, classes)`: ONE pass of the sub-model ending at
  `frame_scores` per video;
* clip-level models (e.g. C3D with its fc layers, fixed 16-frame input) and models with a
  temporal stride (fewer `frame_scores` steps than frames, probed once on an F-frame clip):
  every window of F frames, stride 1, through the whole model in batches of
  `window_batch_size` clips — a strided model's one pass is not its clip score (its
  interior positions never see the temporal padding every training clip had).

A video shorter than F is padded to F frames as the training clips are (thesis 3.2.3.1:
"Videos are padded to contain at least F frames"): looped by default, or its last frame
repeated (`short_video`, the modes of `kerasfer.data.clip_frame_indices`).

Example:

>>> scorer = VideoScorer(model, clip_length=16, pooling_temperature=1.0)
>>> scores = scorer.score(video)          # video: (frames, height, width, channels)
>>> scores.probabilities.shape
(7,)
"""

from __future__ import annotations

import collections

import keras
import numpy as np

from kerasfer.evaluation.video_predictions import VideoPredictions
from kerasfer.evaluation.window_pooling import softmax
from kerasfer.evaluation.window_pooling import softmax_pool
from kerasfer.evaluation.window_pooling import window_max

VideoScores = collections.namedtuple(
    "VideoScores", ["logits", "probabilities", "window_scores", "frame_scores"])
VideoScores.__doc__ = """Scores of one video.

`logits` `(classes,)` pooled with Eq. 3.3; `probabilities` their softmax; `window_scores`
`(windows, classes)` one row per F-frame window (stride 1); `frame_scores` `(frames', classes)`
per-frame logits of a fully-convolutional model (None for clip-level models)."""


SHORT_VIDEO_MODES = ("loop", "repeat_last")


def pad_to_length(video, length, short_video="loop"):
    """Pads `(frames, ...)` to at least `length` frames, like the training clips.

    Args:
        video: array `(frames >= 1, ...)`.
        length: int. Minimum number of frames (F).
        short_video: str. "loop" (frames 0, 1, …, L − 1, 0, 1, …) or "repeat_last", the two
            modes of `kerasfer.data.clip_frame_indices`. Defaults to "loop" (its default).
    """
    if short_video not in SHORT_VIDEO_MODES:
        raise ValueError(f"`short_video` must be one of {SHORT_VIDEO_MODES}. "
                         f"Received: short_video={short_video!r}")
    frames = video.shape[0]
    if frames >= int(length):
        return video
    positions = np.arange(int(length))
    index = positions % frames if short_video == "loop" else np.minimum(positions, frames - 1)
    return video[index]


class VideoScorer:
    """Scores whole videos of any length with a Keras model and Eq. 3.3 pooling.

    Thesis (seed 004) Section 3.3.1.3: temporal max within windows of F frames (stride 1),
    then softmax pooling across windows with the pooling inverse temperature γ_p (Eq. 3.3).

    Args:
        model: `keras.Model`. Maps clips `(batch, frames, height, width, channels)` to logits
            `(batch, classes)`. If it has a layer named `frame_scores_layer`, that layer's
            output `(batch, frames', classes)` is used in one pass per video; otherwise the
            model is run on every F-frame window.
        clip_length: int or None. F, the training clip length. None takes the model's fixed
            input length (clip-level models). Defaults to None.
        pooling_temperature: float. γ_p ≥ 0: 0 averages the window maxima, `inf` takes their
            max. Defaults to 1.0.
        window_batch_size: int. Windows per forward pass for clip-level models.
            Defaults to 32.
        frame_scores_layer: str. Name of the per-frame score layer. Defaults to
            "frame_scores".
        short_video: str. Padding of videos shorter than F: "loop" or "repeat_last", as
            in training. Defaults to "loop".

    Example:

    >>> scorer = VideoScorer(model, clip_length=16, pooling_temperature=0.0)
    >>> scorer.score(np.zeros((40, 32, 32, 3), "float32")).logits.shape
    (7,)
    """

    def __init__(self, model, clip_length=None, pooling_temperature=1.0,
                 window_batch_size=32, frame_scores_layer="frame_scores", short_video="loop"):
        model_length = model.input_shape[1] if len(model.input_shape) == 5 else None
        if clip_length is None:
            clip_length = model_length
        if clip_length is None or int(clip_length) < 1:
            raise ValueError("`clip_length` must be a positive int (the training clip length "
                             f"F) when the model's frame axis is not fixed. "
                             f"Received: clip_length={clip_length}")
        if not float(pooling_temperature) >= 0:
            raise ValueError("`pooling_temperature` must be >= 0. "
                             f"Received: pooling_temperature={pooling_temperature}")
        if int(window_batch_size) < 1:
            raise ValueError("`window_batch_size` must be >= 1. "
                             f"Received: window_batch_size={window_batch_size}")
        self.model = model
        self.clip_length = int(clip_length)
        self.pooling_temperature = float(pooling_temperature)
        self.window_batch_size = int(window_batch_size)
        self.frame_scores_layer = frame_scores_layer
        if short_video not in SHORT_VIDEO_MODES:
            raise ValueError(f"`short_video` must be one of {SHORT_VIDEO_MODES}. "
                             f"Received: short_video={short_video!r}")
        self.short_video = short_video
        names = {layer.name for layer in model.layers}
        self.is_fully_convolutional = frame_scores_layer in names
        if self.is_fully_convolutional:
            inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
            target = keras.Model(inputs, model.get_layer(frame_scores_layer).output,
                                 name=f"{model.name}_to_{frame_scores_layer}")
        else:
            if model_length is not None and model_length != self.clip_length:
                raise ValueError(
                    f"Model {model.name!r} takes clips of {model_length} frames but "
                    f"clip_length={self.clip_length}; pass clip_length={model_length}. "
                    f"Received: clip_length={clip_length}")
            target = model
        self._forward = _compiled_forward(target)
        self._clip_forward = _compiled_forward(model) if self.is_fully_convolutional else None
        self._steps_per_clip = None

    def window_and_frame_scores(self, video):
        """Returns `(window_scores (windows, classes), frame_scores or None)` as float64.

        Args:
            video: array `(frames, height, width, channels)` or with a leading batch axis of 1.
        """
        video = np.asarray(video, dtype=np.float32)
        if video.ndim == 5:
            if video.shape[0] != 1:
                raise ValueError("VideoScorer scores one video at a time; pass "
                                 f"(1, frames, h, w, c). Received: video.shape={video.shape}")
            video = video[0]
        if video.ndim != 4 or video.shape[0] < 1:
            raise ValueError("`video` must be (frames >= 1, height, width, channels). "
                             f"Received: video.shape={video.shape}")
        length = video.shape[0]
        padded = pad_to_length(video, self.clip_length, self.short_video)
        if self.is_fully_convolutional and self._window_steps(padded) == self.clip_length:
            frame_scores = np.asarray(self._forward(padded[None]))[0].astype(np.float64)
            window_scores = window_max(frame_scores, self.clip_length)
            if frame_scores.shape[0] == padded.shape[0]:
                frame_scores = frame_scores[:length]  # drop the repeated padding frames
            return window_scores, frame_scores
        # Clip-level models, and models with a temporal stride: every F-frame window through
        # the whole model, as in training. A strided model's one pass over a whole video is
        # not its clip score: its interior positions never see the temporal zero padding
        # that every training clip had, and they sit on a coarser grid (measured on the
        # default tiny R3D-18: 47.6 % whole-video accuracy in one pass, far below its clips).
        forward = self._clip_forward or self._forward
        starts = np.arange(padded.shape[0] - self.clip_length + 1)
        window_scores = []
        for first in range(0, len(starts), self.window_batch_size):
            batch_starts = starts[first:first + self.window_batch_size]
            index = batch_starts[:, None] + np.arange(self.clip_length)[None, :]
            window_scores.append(np.asarray(forward(padded[index])))
        return np.concatenate(window_scores, axis=0).astype(np.float64), None

    def _window_steps(self, padded):
        # Output steps of one F-frame clip: F for temporally dense models (scored in one
        # pass), fewer for models with a temporal stride (scored clip by clip); probed once,
        # as `kerasfer.export` does.
        if self._steps_per_clip is None:
            clip = padded[None, :self.clip_length]
            self._steps_per_clip = int(np.asarray(self._forward(clip)).shape[1])
        return self._steps_per_clip

    def score(self, video):
        """Scores one video; returns `VideoScores` (pooled logits, probabilities, ...)."""
        window_scores, frame_scores = self.window_and_frame_scores(video)
        logits = softmax_pool(window_scores, self.pooling_temperature)
        return VideoScores(logits, softmax(logits), window_scores, frame_scores)

    def predict_dataset(self, dataset, progress=False):
        """Scores every element of an evaluation dataset, one whole video per element.

        Args:
            dataset: iterable of dicts with "video" `(batch, frames, h, w, c)` (or one video
                without the batch axis), "label" `(batch,)`, "id" `(batch,)` and, for padded
                batches, "length" `(batch,)` — the elements of
                `kerasfer.data.evaluation_dataset` (any `batch_size`).
            progress: bool. Show a tqdm progress bar. Defaults to False.

        Returns:
            `VideoPredictions` holding the window scores, so other γ_p can be applied
            without running the model again (`predictions.with_pooling_temperature(γ)`).
        """
        ids, labels, window_scores = [], [], []
        elements = dataset
        if progress:
            import tqdm

            elements = tqdm.tqdm(dataset, desc="batches", unit="batch")
        for element in elements:
            videos = _as_array(element["video"])
            if videos.ndim == 4:
                videos = videos[None]
            batch = videos.shape[0]
            # Padded batches (batch_size > 1) carry each video's real length.
            lengths = (_as_array(element["length"]).reshape(-1) if "length" in element
                       else np.full(batch, videos.shape[1]))
            batch_labels = _as_array(element["label"]).reshape(-1)
            batch_ids = (_as_array(element["id"]).reshape(-1) if "id" in element
                         else np.arange(len(ids), len(ids) + batch))
            for b in range(batch):
                windows, _ = self.window_and_frame_scores(videos[b, :int(lengths[b])])
                window_scores.append(windows)
                labels.append(int(batch_labels[b]))
                ids.append(_as_str(batch_ids[b]))
        return VideoPredictions(ids, labels, window_scores, self.pooling_temperature)


def _as_array(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _as_str(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _compiled_forward(model):
    # One trace per distinct video length would recompile the graph for every video;
    # reduce_retracing generalises the frame axis to None after the second length.
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: model(x, training=False)
