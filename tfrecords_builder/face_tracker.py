"""`FaceTracker`: follows a detected face box between detections (`detect_every` > 1).

The ChaLearn 2017 real-versus-fake winners ("LSTM with parametric bias") detect the face
once and track it; the builder generalises this to "detect
every k-th frame, track in between". Tracking uses dlib's `correlation_tracker` (the
discriminative scale-space tracker of Danelljan et al., BMVC 2014) on the same downscaled
copy the detector sees, so a tracked frame costs a few milliseconds instead of a detector
pass. The tracker's peak-to-sidelobe ratio (PSR) is its confidence: below
`min_confidence` the track is declared lost and the caller re-detects at once.

Example:

>>> tracker = FaceTracker()
>>> tracker.start(small_rgb, box_in_small_pixels)
>>> box = tracker.update(next_small_rgb)  # float32 (4,) or None when lost
"""

from __future__ import annotations

import numpy as np


class FaceTracker:
    """Correlation-filter tracking of one face box between detections.

    Args:
        min_confidence: float. Lowest peak-to-sidelobe ratio accepted as "still on the
            face"; dlib reports ~7+ for a solid lock. Defaults to 5.0.
    """

    def __init__(self, min_confidence=5.0):
        if min_confidence < 0:
            raise ValueError("`min_confidence` must be >= 0. "
                             f"Received: min_confidence={min_confidence}")
        self.min_confidence = min_confidence
        self._tracker = None
        self._box = None
        self.last_confidence = None

    @property
    def active(self):
        return self._tracker is not None

    def start(self, image, box):
        """Starts (or restarts) tracking `box` (x0, y0, x1, y1) in `image` pixels."""
        import dlib

        self._tracker = dlib.correlation_tracker()
        self._tracker.start_track(image, dlib.drectangle(*[float(v) for v in box]))
        self._box = np.asarray(box, np.float32)
        self.last_confidence = None

    def update(self, image):
        """Tracks into `image`; returns the new box (float32 `(4,)`) or None when lost."""
        if self._tracker is None:
            return None
        self.last_confidence = float(self._tracker.update(image))
        if self.last_confidence < self.min_confidence:
            self.stop()
            return None
        rect = self._tracker.get_position()
        self._box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)
        return self._box

    def stop(self):
        self._tracker = None
        self._box = None
