"""Whole-video evaluation: `VideoInferenceModel` scores in NumPy, one video at a time.

`VideoScorer` runs the one whole-video inference model of kerasfer
(`kerasfer.evaluation.VideoInferenceModel`, shared with the SavedModel export and
`kerasfer.predict`) on every video of an evaluation dataset and keeps each video's window
scores, so the pooling inverse temperature γ_p of Eq. 3.3 (Ayral (2021) master's thesis,
Section 3.3.1.3) can be changed without another network pass (`VideoPredictions`).

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

from kerasfer.evaluation.video_inference_model import SHORT_VIDEO_MODES
from kerasfer.evaluation.video_inference_model import VideoInferenceModel
from kerasfer.evaluation.video_predictions import VideoPredictions

VideoScores = collections.namedtuple(
    "VideoScores", ["logits", "probabilities", "window_scores", "frame_scores"])
VideoScores.__doc__ = """Scores of one video, float64.

`logits` `(classes,)` pooled with Eq. 3.3; `probabilities` their softmax; `window_scores`
`(windows, classes)` one row per F-frame window (stride 1); `frame_scores` `(frames, classes)`
per-frame logits (for strided and clip-level models, those of the window centred on each
frame)."""


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
    """Scores whole videos of any length with a Keras clip model and Eq. 3.3 pooling.

    Ayral (2021) master's thesis, Section 3.3.1.3: temporal max within windows of F frames
    (stride 1), then softmax pooling across windows with γ_p (Eq. 3.3). The network pass
    is `VideoInferenceModel` (one pass for temporally dense models, every F-frame window
    for strided and clip-level models), compiled once with `tf.function` on TensorFlow.

    Args:
        model: `keras.Model`. Maps clips `(batch, frames, height, width, channels)` to logits
            `(batch, classes)`, with a layer named `frame_scores_layer` for one-pass
            inference of temporally dense models.
        clip_length: int or None. F, the training clip length. None takes the model's fixed
            input length (clip-level models). Defaults to None.
        pooling_temperature: float. γ_p ≥ 0: 0 averages the window maxima, `inf` takes their
            max. Defaults to 1.0.
        window_batch_size: int. Windows per forward pass for strided and clip-level models.
            Defaults to 32.
        frame_scores_layer: str. Name of the per-frame score layer. Defaults to
            "frame_scores".
        short_video: str. Padding of videos shorter than F: "loop" or "repeat_last", as
            in training. Defaults to "loop".
        temporal_output: str or None. "dense", "strided" or "clip"; None detects it (see
            `VideoInferenceModel`). Defaults to None.

    Example:

    >>> scorer = VideoScorer(model, clip_length=16, pooling_temperature=0.0)
    >>> scorer.score(np.zeros((40, 32, 32, 3), "float32")).logits.shape
    (7,)
    """

    def __init__(self, model, clip_length=None, pooling_temperature=1.0,
                 window_batch_size=32, frame_scores_layer="frame_scores", short_video="loop",
                 temporal_output=None):
        self.inference = VideoInferenceModel(
            model, clip_length=clip_length, pooling_temperature=pooling_temperature,
            temporal_output=temporal_output, window_batch_size=window_batch_size,
            frame_scores_layer=frame_scores_layer, short_video=short_video)
        self.model = model
        self.clip_length = self.inference.clip_length
        self.pooling_temperature = self.inference.pooling_temperature
        self.window_batch_size = self.inference.window_batch_size
        self.frame_scores_layer = frame_scores_layer
        self.short_video = short_video
        self._forward = compiled_inference(self.inference)

    @property
    def temporal_output(self):
        """"dense", "strided" or "clip" (None until the first video when it is probed)."""
        return self.inference.temporal_output

    @property
    def is_fully_convolutional(self):
        """True when every video is scored in one pass (temporally dense models)."""
        return self.temporal_output == "dense"

    def scores(self, video):
        """Runs the inference model on one video; returns its dict of float64 arrays.

        Args:
            video: array `(frames, height, width, channels)` or with a leading batch axis of 1.

        Returns:
            dict with "frame_scores" `(frames, classes)`, "window_scores"
            `(windows, classes)`, "logits" and "probabilities" `(classes,)`.
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
        outputs = self._forward(video[None])
        return {name: np.asarray(value)[0].astype(np.float64)
                for name, value in outputs.items()}

    def window_and_frame_scores(self, video):
        """Returns `(window_scores (windows, classes), frame_scores (frames, classes))`."""
        scores = self.scores(video)
        return scores["window_scores"], scores["frame_scores"]

    def score(self, video):
        """Scores one video; returns `VideoScores` (pooled logits, probabilities, ...)."""
        scores = self.scores(video)
        return VideoScores(scores["logits"], scores["probabilities"], scores["window_scores"],
                           scores["frame_scores"])

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


def compiled_inference(inference):
    """`inference` compiled with `tf.function` on TensorFlow (as it runs when exported).

    One trace per distinct video length would recompile the graph for every video;
    reduce_retracing generalises the frame axis to None after the second length.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(inference.__call__, reduce_retracing=True)
    return inference
