"""The one whole-video inference model: per-frame, per-window and video scores of any video.

Ayral (2021) master's thesis, Sections 2.2.2 and 3.3.1.3: a clip model trained on clips of
F frames scores a whole video of L frames through its N = L − F + 1 windows of F frames
(stride 1); the window scores are pooled with softmax pooling at the pooling inverse
temperature γ_p (Eq. 3.3), per class c:

    s_{n,c} = score of window n                                   (n = 0 … L − F)
    y_c     = Σ_n softmax_n(γ_p · s_{·,c}) · s_{n,c}                 (Eq. 3.3)

How a window is scored depends on the model's temporal output (`TEMPORAL_OUTPUTS`):

* "dense": the model has a `frame_scores` layer with one output per input frame
  `(batch, frames, classes)`. ONE pass of the sub-model ending at `frame_scores` over the
  whole video; window n's score is the temporal max of the frame scores in `[n, n + F)`
  (a fully convolutional 3D CNN over a whole video "is equivalent to using the 3D CNN on
  every possible window", Section 2.2.2).
* "strided": a `frame_scores` layer with fewer steps than frames (temporal strides, e.g.
  the default R3D-18). Every F-frame window goes through the whole model, as in training:
  a strided model's one pass is not its clip score (its interior positions never see the
  temporal padding every training clip had).
* "clip": no `frame_scores` layer (e.g. C3D with fc layers, a fixed F-frame input): every
  F-frame window through the whole model.

Windowed models are run `window_batch_size` windows at a time. Their per-frame scores are
the scores of the window centred on each frame, `start = clip(t − F // 2, 0, N − 1)`.
A video shorter than F is padded to F frames as the training clips were (Section 3.2.3.1:
"Videos are padded to contain at least F frames"): looped ("loop", the default) or its last
frame repeated ("repeat_last"), the modes of `kerasfer.data.clip_frame_indices`.

Everything is written with `keras.ops`, so the same object serves `VideoScorer`
(evaluation, in NumPy), the SavedModel export (traced into the serving graph behind its
uint8 preprocessing) and `kerasfer.predict`.

Example:

>>> inference = VideoInferenceModel(model, clip_length=16, pooling_temperature=1.0)
>>> scores = inference(np.zeros((1, 40, 112, 112, 3), "float32"))
>>> scores["frame_scores"].shape, scores["window_scores"].shape, scores["logits"].shape
((1, 40, 7), (1, 25, 7), (1, 7))
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

TEMPORAL_OUTPUTS = ("dense", "strided", "clip")
SHORT_VIDEO_MODES = ("loop", "repeat_last")


def detect_temporal_output(model, clip_length, frame_scores_layer="frame_scores",
                           frame_shape=None):
    """Returns "dense", "strided" or "clip" for a clip model (see the module docstring).

    A model without a layer named `frame_scores_layer`, or with a fixed number of input
    frames, is "clip"; otherwise one F-frame clip of zeros is run up to that layer: F
    output steps is "dense", fewer "strided".

    Args:
        model: `keras.Model`. Clips `(batch, frames, height, width, channels)` → logits.
        clip_length: int. F.
        frame_shape: tuple or None. `(height, width, channels)` of the probe clip when the
            model's input does not fix them. Defaults to None.
    """
    fixed_length = model.input_shape[1] if len(model.input_shape) == 5 else None
    if frame_scores_layer not in {layer.name for layer in model.layers} or fixed_length:
        return "clip"
    frame_model = _frame_scores_model(model, frame_scores_layer)
    steps = _probe_steps(frame_model, clip_length, frame_shape)
    return "dense" if steps == clip_length else "strided"


def _frame_scores_model(model, frame_scores_layer):
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, model.get_layer(frame_scores_layer).output,
                       name=f"{model.name}_to_{frame_scores_layer}")


def _probe_steps(frame_model, clip_length, frame_shape):
    shape = tuple(frame_model.input_shape[2:])
    if frame_shape is not None:
        shape = tuple(int(size) for size in frame_shape)
    if len(shape) != 3 or any(size is None for size in shape):
        raise _UnknownFrameShape("The model's input does not fix (height, width, channels); pass "
                         "`frame_shape` or `temporal_output`. "
                         f"Received: frame_shape={frame_shape}")
    probe = np.zeros((1, int(clip_length)) + shape, "float32")
    return int(ops.shape(frame_model(probe, training=False))[1])


class _UnknownFrameShape(ValueError):
    """The probe clip's frame shape is unknown (the model's input leaves it open)."""


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


class VideoInferenceModel:
    """Scores whole videos of any length with a trained clip model and Eq. 3.3 pooling.

    Ayral (2021) master's thesis, Section 3.3.1.3 (window max, then Eq. 3.3 softmax pooling
    across windows with γ_p); the three model kinds are in the module docstring.

    Args:
        model: `keras.Model`. Maps clips `(batch, frames, height, width, channels)` to
            logits `(batch, classes)`; temporally dense and strided models also have a
            layer named `frame_scores_layer` `(batch, frames', classes)`.
        clip_length: int or None. F, the training clip length. None takes the model's fixed
            input length (clip-level models). Defaults to None.
        pooling_temperature: float. γ_p ≥ 0 of Eq. 3.3: 0 averages the window scores, `inf`
            takes their max. Defaults to 1.0.
        temporal_output: str or None. "dense", "strided" or "clip" (the registry's
            `ModelSpec.temporal_output`); None reads `model.temporal_output` if the model
            has it, else probes the model once (`detect_temporal_output`). Defaults to None.
        window_batch_size: int. Windows per forward pass of strided and clip-level models.
            Defaults to 16.
        frame_scores_layer: str. Name of the per-frame score layer. Defaults to
            "frame_scores".
        short_video: str. Padding of videos shorter than F: "loop" or "repeat_last", as in
            training. Defaults to "loop".
        frame_shape: tuple or None. `(height, width, channels)` for the probe when the
            model's input does not fix them. Defaults to None.

    Call arguments:
        videos: float tensor `(batch, frames >= 1, height, width, channels)`, preprocessed
            as the training clips (resized, normalised); all videos of a batch have the
            same length.

    Returns:
        dict of float32 tensors: "frame_scores" `(batch, frames, classes)` per-frame logits,
        "window_scores" `(batch, max(frames, F) − F + 1, classes)`, "logits"
        `(batch, classes)` pooled with Eq. 3.3 and "probabilities" their softmax.

    Example:

    >>> inference = VideoInferenceModel(model, clip_length=16, pooling_temperature=0.0)
    >>> inference(np.zeros((1, 40, 32, 32, 3), "float32"))["probabilities"].shape
    (1, 7)
    """

    def __init__(self, model, clip_length=None, pooling_temperature=1.0, temporal_output=None,
                 window_batch_size=16, frame_scores_layer="frame_scores", short_video="loop",
                 frame_shape=None):
        model_length = model.input_shape[1] if len(model.input_shape) == 5 else None
        if clip_length is None:
            clip_length = model_length
        if clip_length is None:
            raise ValueError("`clip_length` must be a positive int (the training clip length "
                             "F) when the model's frame axis is not fixed. "
                             f"Received: clip_length={clip_length}")
        self.clip_length = _check_positive_int("clip_length", clip_length)
        gamma = pooling_temperature
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating)) \
                or not float(gamma) >= 0:
            raise ValueError("`pooling_temperature` must be >= 0 (0 = mean, inf = max). "
                             f"Received: pooling_temperature={pooling_temperature!r}")
        self.pooling_temperature = float(gamma)
        self.window_batch_size = _check_positive_int("window_batch_size", window_batch_size)
        if short_video not in SHORT_VIDEO_MODES:
            raise ValueError(f"`short_video` must be one of {SHORT_VIDEO_MODES}. "
                             f"Received: short_video={short_video!r}")
        self.short_video = short_video
        self.model = model
        self.frame_scores_layer = frame_scores_layer
        self.temporal_output = None
        self._frame_model = None
        if temporal_output is None:
            temporal_output = getattr(model, "temporal_output", None)
        if temporal_output is None:
            try:
                temporal_output = detect_temporal_output(model, self.clip_length,
                                                         frame_scores_layer, frame_shape)
            except _UnknownFrameShape:
                return  # probed on the first video's frame shape instead (`__call__`)
        self._set_temporal_output(temporal_output)

    def _set_temporal_output(self, temporal_output):
        model, layer_name = self.model, self.frame_scores_layer
        model_length = model.input_shape[1] if len(model.input_shape) == 5 else None
        if temporal_output not in TEMPORAL_OUTPUTS:
            raise ValueError(f"`temporal_output` must be one of {TEMPORAL_OUTPUTS}. "
                             f"Received: temporal_output={temporal_output!r}")
        layer_names = {layer.name for layer in model.layers}
        if temporal_output == "dense" and layer_name not in layer_names:
            raise ValueError(f"A temporally dense model needs a layer named {layer_name!r}; "
                             f"model {model.name!r} has none. "
                             f"Received: temporal_output={temporal_output!r}")
        if model_length is not None and model_length != self.clip_length:
            raise ValueError(f"Model {model.name!r} takes clips of {model_length} frames but "
                             f"clip_length={self.clip_length}; pass clip_length={model_length}. "
                             f"Received: clip_length={self.clip_length}")
        self.temporal_output = temporal_output
        self._frame_model = (_frame_scores_model(model, layer_name)
                             if temporal_output == "dense" else None)

    @property
    def num_classes(self):
        """Number of classes C (the model's last output axis)."""
        return int(self.model.output_shape[-1])

    @property
    def variables(self):
        """The model's variables (tracked by the SavedModel export)."""
        return self.model.variables

    def __call__(self, videos):
        videos = ops.convert_to_tensor(videos)
        if len(videos.shape) != 5:
            raise ValueError("`videos` must be (batch, frames, height, width, channels). "
                             f"Received: videos.shape={tuple(videos.shape)}")
        if self.temporal_output is None:  # the model's input does not fix the frame shape
            self._set_temporal_output(detect_temporal_output(
                self.model, self.clip_length, self.frame_scores_layer, videos.shape[2:]))
        length = ops.shape(videos)[1]
        frames = self._pad(videos, length)
        if self.temporal_output == "dense":
            scores = ops.cast(self._frame_model(frames, training=False), "float32")
            window_scores = ops.max_pool(scores, pool_size=self.clip_length, strides=1,
                                         padding="valid", data_format="channels_last")
            frame_scores = scores[:, :length]  # the padding frames of a short video dropped
        else:
            window_scores = self._score_windows(frames)
            windows = ops.shape(window_scores)[1]
            centred = ops.clip(ops.arange(length) - self.clip_length // 2, 0, windows - 1)
            frame_scores = ops.take(window_scores, centred, axis=1)
        logits = self._softmax_pool(window_scores)
        return {"frame_scores": frame_scores, "window_scores": window_scores,
                "logits": logits, "probabilities": ops.softmax(logits, axis=-1)}

    def _pad(self, videos, length):
        if isinstance(length, int) and length >= self.clip_length:
            return videos  # static length (eager): nothing to pad
        positions = ops.arange(ops.maximum(length, self.clip_length))
        if self.short_video == "loop":
            index = positions % length
        else:
            index = ops.minimum(positions, length - 1)
        return ops.take(videos, index, axis=1)

    def _score_windows(self, frames):
        # Windows go through the model `window_batch_size` at a time (fewer for a short
        # video); the last chunk repeats the last window, cut off afterwards.
        shape = ops.shape(frames)
        batch, windows = shape[0], shape[1] - self.clip_length + 1
        per_chunk = ops.minimum(windows, self.window_batch_size)
        chunks = (windows + per_chunk - 1) // per_chunk
        starts = ops.minimum(ops.arange(chunks * per_chunk), windows - 1)
        starts = ops.reshape(starts, (chunks, per_chunk))
        offsets = ops.arange(self.clip_length)
        classes = self.num_classes

        def score_chunk(chunk_starts):
            index = ops.expand_dims(chunk_starts, 1) + ops.expand_dims(offsets, 0)
            clips = ops.take(frames, index, axis=1)  # (batch, K, F, h, w, c)
            clips = ops.reshape(clips, (-1, self.clip_length) + tuple(shape[2:]))
            logits = ops.cast(self.model(clips, training=False), "float32")
            return ops.reshape(logits, (batch, per_chunk, classes))

        chunk_scores = ops.map(score_chunk, starts)  # (chunks, batch, K, classes)
        window_scores = ops.reshape(ops.transpose(chunk_scores, (1, 0, 2, 3)),
                                    (batch, chunks * per_chunk, classes))
        return window_scores[:, :windows]

    def _softmax_pool(self, window_scores):
        if math.isinf(self.pooling_temperature):
            return ops.max(window_scores, axis=1)
        # Softmax across windows with the per-class max subtracted first, so a large γ_p
        # stays finite (written out: ops.softmax warns on the single window of a short video).
        exponents = self.pooling_temperature * (
            window_scores - ops.max(window_scores, axis=1, keepdims=True))
        weights = ops.exp(exponents)
        weights = weights / ops.sum(weights, axis=1, keepdims=True)
        return ops.sum(weights * window_scores, axis=1)
