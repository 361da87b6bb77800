"""`VideoPrediction`: the emotion timeline of one raw video, as `kerasfer.Predictor` returns it."""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List

import numpy as np


@dataclasses.dataclass
class VideoPrediction:
    """Per-frame class probabilities and the whole-video prediction of one video.

    Every decoded frame (after the export's recorded frame rate / stride) has one row; a
    frame without a face has `face_found = False`, a NaN box and NaN probabilities.

    Args:
        path: str. The video file.
        class_names: list of str. One per class, in the model's order.
        fps: float. Frame rate of the rows.
        frame_index: int64 `(frames,)`. Index of each row in the decoded frame sequence.
        timestamps: float64 `(frames,)`. Seconds from the first frame.
        face_found: bool `(frames,)`. A face was located (detected or tracked).
        detected: bool `(frames,)`. The detector itself found it (False when tracked).
        boxes: float32 `(frames, 4)`. Face box (x0, y0, x1, y1) in frame pixels, NaN when
            no face.
        frame_probabilities: float64 `(frames, classes)`. Softmax of each frame's logits
            (`frame_scores` of the export), NaN rows when no face.
        probabilities: float64 `(classes,)`. Whole-video probabilities (Ayral (2021)
            thesis, Eq. 3.3 pooling with γ_p).
        model_calls: int. SavedModel calls (1 = the whole video in one pass).
        seconds: float. Wall time of decoding, face pipeline and model.
        settings: dict. What was used: export dir, face pipeline, F, γ_p, chunking.

    Example:

    >>> prediction = Predictor("export/").predict("clip.mp4")
    >>> prediction.label, prediction.frames_with_face
    ('happy', 118)
    """

    path: str
    class_names: List[str]
    fps: float
    frame_index: np.ndarray
    timestamps: np.ndarray
    face_found: np.ndarray
    detected: np.ndarray
    boxes: np.ndarray
    frame_probabilities: np.ndarray
    probabilities: np.ndarray
    model_calls: int
    seconds: float
    settings: Dict = dataclasses.field(default_factory=dict)

    @property
    def name(self):
        """The video's file name without extension."""
        return os.path.splitext(os.path.basename(self.path))[0]

    @property
    def label(self):
        """The predicted class name of the whole video."""
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def frames(self):
        return int(len(self.frame_index))

    @property
    def frames_with_face(self):
        return int(self.face_found.sum())

    def frame_labels(self):
        """Per-frame predicted class name, or None for a frame without a face."""
        return [self.class_names[int(np.argmax(row))] if found else None
                for row, found in zip(self.frame_probabilities, self.face_found)]

    def summary(self):
        """A JSON-serialisable dict: prediction, probabilities, counts, timing, settings."""
        return {
            "video": self.path,
            "prediction": self.label,
            "probabilities": {name: round(float(p), 6)
                              for name, p in zip(self.class_names, self.probabilities)},
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "frames_without_face": self.frames - self.frames_with_face,
            "frames_detected": int(self.detected.sum()),
            "fps": round(float(self.fps), 4),
            "duration_seconds": round(float(self.timestamps[-1]), 4) if self.frames else 0.0,
            "model_calls": int(self.model_calls),
            "seconds": round(float(self.seconds), 3),
            "frames_per_second": round(self.frames / self.seconds, 2) if self.seconds else None,
            "settings": self.settings,
        }
