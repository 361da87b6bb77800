"""`FaceOptions`: how the builder decodes frames and finds, aligns and crops faces."""

from __future__ import annotations

import dataclasses
from typing import Optional

DETECTORS = ("hog", "cnn", "haar", "none")


@dataclasses.dataclass
class FaceOptions:
    """Options of `tfrecords_builder.process_video`; the CLI flags map one to one onto these.

    Args:
        detector: str. "hog" (dlib HOG frontal detector, default), "cnn" (dlib mmod),
            "haar" (OpenCV Haar cascade) or "none" (data already cropped: resize only,
            landmarks still predicted). Defaults to "hog".
        detect_every: int. Run the detector every k-th frame and track the face in between
            (the ChaLearn 2017 "LSTM with parametric bias" system detects once and
            tracks). Defaults to 1.
        detection_max_side: int. Detection runs on a copy downscaled so that its longer
            side is at most this many pixels; boxes are mapped back. Defaults to 320.
        upsample: int. dlib detector upsampling passes. Defaults to 1.
        crop_size: int. Side of the square aligned crop in pixels. Defaults to 112.
        jpeg_quality: int. JPEG quality of stored crops, 1..100. Defaults to 90.
        keep_frames_without_face: bool. Keep frames with no face (using the last known
            box) instead of dropping them (Ayral (2021) thesis, Sec. 2.2.3.1 drops them). Defaults to False.
        frame_stride: int. Keep one decoded frame in `frame_stride`. Defaults to 1.
        target_fps: float or None. Resample to this frame rate using real timestamps
            (applied before `frame_stride`). Defaults to None (keep the source rate).
    """

    detector: str = "hog"
    detect_every: int = 1
    detection_max_side: int = 320
    upsample: int = 1
    crop_size: int = 112
    jpeg_quality: int = 90
    keep_frames_without_face: bool = False
    frame_stride: int = 1
    target_fps: Optional[float] = None

    def __post_init__(self):
        if self.detector not in DETECTORS:
            raise ValueError(f"`detector` must be one of {DETECTORS}. Received: detector={self.detector}")
        for name in ("detect_every", "detection_max_side", "crop_size", "frame_stride"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {name}={getattr(self, name)}")
        if not 1 <= int(self.jpeg_quality) <= 100:
            raise ValueError(f"`jpeg_quality` must be in [1, 100]. Received: jpeg_quality={self.jpeg_quality}")
        if self.target_fps is not None and self.target_fps <= 0:
            raise ValueError(f"`target_fps` must be > 0. Received: target_fps={self.target_fps}")


LANDMARKS_MODEL = "dlib shape_predictor_68_face_landmarks.dat (face_recognition_models)"


def settings_record(options):
    """Returns what `face_options.json` records about a build's face pipeline.

    `face_options` holds every `FaceOptions` field plus what a consumer needs to rerun the
    same pipeline on a raw video (`kerasfer.export` copies it for `kerasfer.predict`): the
    colour mode (`grayscale`: False, crops are RGB), the landmark model, the alignment
    (template points as fractions of the crop side and their weights,
    `tfrecords_builder.alignment`) and, for `detector="haar"`, which implementation ran.

    Args:
        options: `FaceOptions`.

    Returns:
        dict, JSON-serialisable.

    Example:

    >>> settings_record(FaceOptions())["face_options"]["detector"]
    'hog'
    """
    from tfrecords_builder import alignment

    recorded = dataclasses.asdict(options)
    recorded.update({
        "grayscale": False,
        "landmarks_model": LANDMARKS_MODEL,
        "alignment": {
            "method": "weighted similarity transform (Umeyama) of 5 landmark points onto "
                      "a template, then a square crop (tfrecords_builder.alignment)",
            "points": ["left eye centre", "right eye centre", "nose tip",
                       "left mouth corner", "right mouth corner"],
            "template": [[round(float(v), 6) for v in point] for point in alignment.TEMPLATE],
            "template_units": "fractions of the crop side",
            "weights": [float(w) for w in alignment.ALIGNMENT_WEIGHTS],
        },
    })
    if options.detector == "haar":
        from tfrecords_builder.detectors import haar_backend

        recorded["haar_backend"] = haar_backend()
    return {"face_options": recorded, "written_by": "tfrecords_builder"}
