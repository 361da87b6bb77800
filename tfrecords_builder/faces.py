"""Faces in a frame sequence: detection schedule, tracking and 68 landmarks.

`locate_faces` turns decoded frames into `(source_index, timestamp, rgb, box, detected,
landmarks)`:

* the detector (`tfrecords_builder.detectors`: dlib HOG by default, dlib CNN, OpenCV Haar)
  runs on a copy downscaled to `detection_max_side`, boxes are mapped back, and the
  largest face is kept;
* with `detect_every = k > 1` it runs on every k-th frame and a `FaceTracker` follows the
  box in between (the ChaLearn 2017 real-versus-fake winners, "LSTM with parametric
  bias", detect once and track); a lost track triggers a detection on the same frame;
  tracked boxes have `detected = False`;
* with `detector = "none"` the whole frame is the face box (data already cropped).

`predict_landmarks` runs dlib's 68-point shape predictor (Kazemi & Sullivan, CVPR 2014;
`shape_predictor_68_face_landmarks.dat` from `face_recognition_models`) on the
full-resolution frame. Models are loaded once per process (`functools.lru_cache`), not
per video.

Example:

>>> for index, timestamp, rgb, box, detected, landmarks in locate_faces(frames, options):
...     box  # float32 (4,) or None
"""

from __future__ import annotations

import functools

import numpy as np

from kerasfer.assets import dlib_model_path
from tfrecords_builder.detectors import detect_largest_face, downscale
from tfrecords_builder.face_tracker import FaceTracker


@functools.lru_cache(maxsize=None)
def landmark_predictor():
    """Returns the cached dlib 68-landmark shape predictor."""
    import dlib

    return dlib.shape_predictor(dlib_model_path("landmarks68"))


def predict_landmarks(image, box):
    """Predicts 68 landmarks inside a face box on the full-resolution frame.

    Args:
        image: uint8 `(height, width, 3)` RGB frame.
        box: array `(4,)` (x0, y0, x1, y1) in frame pixels.

    Returns:
        float32 `(68, 2)` landmark (x, y) pixel coordinates (iBUG 300-W order).
    """
    import dlib

    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    shape = landmark_predictor()(image, dlib.rectangle(x0, y0, x1, y1))
    return np.array([[p.x, p.y] for p in shape.parts()], np.float32)


def locate_faces(frames, options):
    """Finds the face box and 68 landmarks of every frame.

    Args:
        frames: iterable of `(source_index, timestamp, rgb)` (from `video.open_video`).
        options: `FaceOptions`. Uses `detector`, `detect_every`, `detection_max_side`
            and `upsample`.

    Yields:
        `(source_index, timestamp, rgb, box, detected, landmarks)` per input frame; `box`
        is float32 `(4,)` in frame pixels and `landmarks` float32 `(68, 2)`, both None when
        no face was found (a detection frame without a face, or a lost track that
        re-detection could not recover).
    """
    tracker = FaceTracker()
    frames_since_detection = 0
    for source_index, timestamp, image in frames:
        if options.detector == "none":
            height, width = image.shape[:2]
            box = np.array([0, 0, width - 1, height - 1], np.float32)
            yield (source_index, timestamp, image, box, False, predict_landmarks(image, box))
            continue
        small, scale = downscale(image, options.detection_max_side)
        if tracker.active and frames_since_detection < options.detect_every - 1:
            tracked = tracker.update(small)
            frames_since_detection += 1
            if tracked is not None:
                box = tracked / scale
                yield (source_index, timestamp, image, box, False, predict_landmarks(image, box))
                continue
        box = detect_largest_face(image, options.detector, upsample=options.upsample,
                                  small=(small, scale))
        frames_since_detection = 0
        if box is None:
            tracker.stop()
            yield (source_index, timestamp, image, None, False, None)
            continue
        landmarks = predict_landmarks(image, box)
        if options.detect_every > 1:
            tracker.start(small, box * scale)
        yield (source_index, timestamp, image, box, True, landmarks)
