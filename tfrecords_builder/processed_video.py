"""`ProcessedVideo`: the aligned faces of one video, ready to serialise with kerasfer.schema."""

from __future__ import annotations

import dataclasses
from typing import List, Optional

import numpy as np


@dataclasses.dataclass
class ProcessedVideo:
    """What `tfrecords_builder.process_video` returns for one `VideoItem`.

    Every per-frame field has one entry per *kept* frame (frames with no face are dropped
    unless the builder was asked to keep them).

    Args:
        jpeg_frames: list of bytes. JPEG of each aligned face crop (RGB).
        landmarks: float32 `(frames, 68, 2)`. Landmarks in crop pixel coordinates.
        boxes: float32 `(frames, 4)`. Face box (x0, y0, x1, y1) in source-frame pixels.
        timestamps: float32 `(frames,)`. Presentation times in seconds.
        detected: bool `(frames,)`. True where the detector found the face in that frame.
        crop_size: int. Side of the square crops.
        fps: float. Frame rate of the kept frame sequence (after stride / target fps).
        frames_total: int. Frames decoded from the source (after stride / target fps).
        frame_labels: float32 `(frames,)` or None. Frame labels of the kept frames.
        audio_egemaps: float32 `(88,)` or None. eGeMAPS functionals of the audio track
            (`tfrecords_builder.audio`), None when not extracted or absent.
        audio_missing: bool. Audio features were asked for but the video has no track.
    """

    jpeg_frames: List[bytes]
    landmarks: np.ndarray
    boxes: np.ndarray
    timestamps: np.ndarray
    detected: np.ndarray
    crop_size: int
    fps: float
    frames_total: int
    frame_labels: Optional[np.ndarray] = None
    audio_egemaps: Optional[np.ndarray] = None
    audio_missing: bool = False

    @property
    def frames_kept(self):
        return len(self.jpeg_frames)
