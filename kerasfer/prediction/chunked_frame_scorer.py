"""`ChunkedFrameScorer`: streams aligned faces through a SavedModel in overlapping chunks.

The export's `serving_default` scores a whole video in one call (Ayral (2021) thesis,
Section 3.3.1.3: window max over F frames, then softmax pooling across windows with γ_p,
Eq. 3.3). A long video would need all its faces in memory for that one call, so faces are
pushed one at a time and scored in chunks:

* a video of at most `chunk_frames + context_frames` faces is scored in ONE call, and its
  whole-video probabilities are the export's own (identical to `kerasfer.evaluate` and to
  serving the builder's TFRecord frames);
* a longer video is scored chunk by chunk: each call sees `context_frames` faces before
  and after its `chunk_frames` core, and only the core's per-frame scores are kept, so
  every kept score saw the same temporal neighbourhood as in one pass whenever the model's
  temporal receptive field is within the context (always for clip-level and strided
  models, scored window by window: context ≥ F). The whole-video logits are then pooled in
  NumPy from the per-frame logits with the same Eq. 3.3: windows of F frames (their max
  for temporally dense models; for clip-level models the window centred on each frame,
  which is what `frame_scores` holds) and softmax pooling with γ_p.

Only the JPEG bytes of at most `chunk_frames + 2 · context_frames` faces are held.

Example:

>>> scorer = ChunkedFrameScorer(serve, clip_length=16, pooling_temperature=1.0)
>>> for jpeg in crops:
...     ready = scorer.push(jpeg)          # list of (face index, logits (classes,))
>>> ready, probabilities = scorer.finish()
"""

from __future__ import annotations

import functools

import numpy as np

from kerasfer.evaluation.window_pooling import softmax, softmax_pool, window_max

CLIP_LEVEL_OUTPUTS = ("clip", "clip_level", "strided", "window")


@functools.lru_cache(maxsize=None)
def jpeg_decoder(channels=3):
    """`schema.decode_frames` traced once: eager `tf.map_fn` costs ~1 ms of Python a face."""
    import tensorflow as tf

    from kerasfer import schema

    return tf.function(lambda jpeg: schema.decode_frames(jpeg, channels),
                       input_signature=[tf.TensorSpec([None], tf.string)])


class ChunkedFrameScorer:
    """Scores a stream of aligned-face JPEGs with an export's serving function.

    Args:
        serve: callable. The SavedModel's `signatures["serving_default"]`: `videos` uint8
            `(1, frames, h, w, 3)` → `probabilities (1, classes)`, `frame_scores (1,
            frames, classes)`.
        clip_length: int. F, the training clip length recorded in the export.
        pooling_temperature: float. γ_p of Eq. 3.3 recorded in the export.
        temporal_output: str or None. The export's `temporal_output`: "dense" (one score
            per frame, windows max-pooled) or a clip-level kind ("clip", "strided"), only
            used to pool chunked videos. Defaults to None ("dense").
        chunk_frames: int. Faces per model call (the core of a chunk). Defaults to 512.
        context_frames: int or None. Faces of context on each side of a chunk. Defaults to
            None (max(2F, 32)).
        grayscale: bool. The export's model is grey: faces are decoded to one channel, as
            the evaluation decodes them, and repeated into the three channels the export
            takes (its rounded luma gives equal channels back exactly), so predict matches
            evaluation to the bit instead of within the RGB round trip. Defaults to False.
    """

    def __init__(self, serve, clip_length, pooling_temperature, temporal_output=None,
                 chunk_frames=512, context_frames=None, grayscale=False):
        for name, value in (("clip_length", clip_length), ("chunk_frames", chunk_frames)):
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
        self.serve = serve
        self.clip_length = int(clip_length)
        self.pooling_temperature = float(pooling_temperature)
        self.grayscale = bool(grayscale)
        self.clip_level = str(temporal_output or "dense").lower() in CLIP_LEVEL_OUTPUTS
        self.chunk_frames = int(chunk_frames)
        self.context_frames = (max(2 * self.clip_length, 32) if context_frames is None
                               else int(context_frames))
        if self.context_frames < 0:
            raise ValueError("`context_frames` must be >= 0. "
                             f"Received: context_frames={context_frames}")
        self.reset()

    def reset(self):
        """Starts a new video."""
        self._buffer = []          # JPEG bytes of faces [self._first, self._received)
        self._first = 0
        self._received = 0
        self._emitted = 0
        self._scores = []
        self.chunks = 0

    def _run(self, with_probabilities=False):
        import tensorflow as tf

        if self.grayscale:
            frames = tf.image.grayscale_to_rgb(jpeg_decoder(1)(tf.constant(self._buffer)))
        else:
            frames = jpeg_decoder(3)(tf.constant(self._buffer))
        outputs = self.serve(videos=frames[None])
        self.chunks += 1
        scores = outputs["frame_scores"].numpy()[0].astype(np.float64)
        if with_probabilities:
            return scores, outputs["probabilities"].numpy()[0].astype(np.float64)
        return scores

    def _emit(self, scores, stop):
        core = scores[self._emitted - self._first:stop - self._first]
        ready = list(zip(range(self._emitted, stop), core))
        self._scores.append(core)
        self._emitted = stop
        return ready

    def push(self, jpeg):
        """Adds one face (JPEG bytes of the aligned crop).

        Returns:
            list of `(face_index, logits float64 (classes,))` scored by this call (empty
            until a chunk is full).
        """
        self._buffer.append(jpeg)
        self._received += 1
        if self._received - self._emitted <= self.chunk_frames + self.context_frames:
            return []
        ready = self._emit(self._run(), self._emitted + self.chunk_frames)
        keep_from = max(0, self._emitted - self.context_frames)
        del self._buffer[:keep_from - self._first]
        self._first = keep_from
        return ready

    def finish(self):
        """Scores the remaining faces; returns `(ready, probabilities (classes,))`.

        `ready` as for `push`. Raises ValueError when no face was pushed.
        """
        if self._received == 0:
            raise ValueError("ChunkedFrameScorer.finish(): no face was pushed")
        if self.chunks == 0:  # One call over the whole video: the export's own pooling.
            scores, probabilities = self._run(with_probabilities=True)
            return self._emit(scores, self._received), probabilities
        ready = self._emit(self._run(), self._received)
        return ready, softmax(self.pooled_logits(np.concatenate(self._scores)))

    def pooled_logits(self, frame_scores):
        """Eq. 3.3 over a whole video's per-frame logits `(frames, classes)`."""
        frames, half = frame_scores.shape[0], self.clip_length // 2
        if self.clip_level and frames >= self.clip_length:
            # frame_scores[t] is the window starting at t - F // 2: one row per window.
            windows = frame_scores[half:half + frames - self.clip_length + 1]
        else:
            windows = window_max(frame_scores, self.clip_length)
        return softmax_pool(windows, self.pooling_temperature)
