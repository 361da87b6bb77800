"""`TrackingMode` and the `TRACKING` registry: how `kerasfer.predict` finds the face per frame.

Every mode turns decoded frames into `(source_index, timestamp, box, detected, crop)` with
the builder's models (detector, 68 landmarks, `align_face` at the recorded crop size):

* `"landmarks"` (default): `LandmarkFaceTracker` — the box of frame t + 1 from frame t's
  landmarks (OpenFace's scheme), the detector every `detect_every` frames (default 5) and
  whenever the aligned crop stops matching the last detection's;
* `"correlation"`: the builder's own `locate_faces` with dlib's correlation tracker between
  detections every `detect_every` frames (the recorded value when > 1, else 5);
* `"none"`: the detector on every frame, exactly the crops `python -m tfrecords_builder`
  makes with the recorded settings (`LandmarkFaceTracker` with `detect_every=1`: the
  builder's functions, detections prefetched in a worker thread).

With `detector = "none"` (already cropped videos) every mode is the builder's resize.

Example:

>>> mode = TRACKING["landmarks"]
>>> options = dataclasses.replace(options, detect_every=mode.detect_every(None, 1))
>>> for index, timestamp, box, detected, crop in mode.locate(frames, options):
...     pass
"""

from __future__ import annotations

import dataclasses
from typing import Callable

LANDMARK_DETECT_EVERY = 5
CORRELATION_DETECT_EVERY = 5


def builder_faces(frames, options):
    """The builder's `locate_faces` + alignment (or resize for `detector="none"`)."""
    from tfrecords_builder.alignment import align_face, resize_face
    from tfrecords_builder.faces import locate_faces

    crop = resize_face if options.detector == "none" else align_face
    for source_index, timestamp, image, box, detected, landmarks in locate_faces(frames,
                                                                                 options):
        face = None if box is None else crop(image, landmarks, options.crop_size)[0]
        yield source_index, timestamp, box, bool(detected), face


def landmark_faces(frames, options):
    """`LandmarkFaceTracker` (detections prefetched in a worker thread)."""
    from kerasfer.prediction.landmark_face_tracker import LandmarkFaceTracker

    if options.detector == "none":
        return builder_faces(frames, options)
    return LandmarkFaceTracker(options, detect_every=options.detect_every).locate(frames)


def _landmark_every(requested, recorded):
    return LANDMARK_DETECT_EVERY if requested is None else int(requested)


def _correlation_every(requested, recorded):
    if requested is not None:
        return int(requested)
    return int(recorded) if int(recorded) > 1 else CORRELATION_DETECT_EVERY


def _every_frame(requested, recorded):
    if requested not in (None, 1):
        raise ValueError("tracking 'none' runs the detector on every frame; pass "
                         f"--tracking landmarks or correlation to detect every k-th frame. "
                         f"Received: detect_every={requested!r}")
    return 1


def default_tracking(detect_every):
    """The builder's own mode for a detection period: "correlation" when `detect_every`
    > 1 (the builder tracks between detections), else "none" (detector on every frame)."""
    return "correlation" if int(detect_every) > 1 else "none"


@dataclasses.dataclass(frozen=True)
class TrackingMode:
    """One way to find the face in every frame.

    Args:
        name: str. Registry key (`--tracking`).
        summary: str. One line for `--help` and `Predictor.describe`.
        detect_every: callable `(requested or None, recorded) -> int`, the detection period.
        locate: callable `(frames, FaceOptions) -> iterator of (source_index, timestamp,
            box, detected, crop)`.
    """

    name: str
    summary: str
    detect_every: Callable
    locate: Callable


TRACKING = {mode.name: mode for mode in (
    TrackingMode("landmarks", "box from the previous frame's 68 landmarks, detector every "
                 f"k frames (default {LANDMARK_DETECT_EVERY}) and when the aligned face stops "
                 "matching", _landmark_every, landmark_faces),
    TrackingMode("correlation", "dlib correlation tracker between detections every k frames "
                 f"(default: as recorded if > 1, else {CORRELATION_DETECT_EVERY})",
                 _correlation_every, builder_faces),
    TrackingMode("none", "detector on every frame (the builder's exact crops; detections "
                 "prefetched in a worker thread)", _every_frame, landmark_faces),
)}
