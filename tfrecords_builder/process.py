"""`process_video`: one `VideoItem` → aligned, JPEG-encoded face crops (`ProcessedVideo`).

The per-video pipeline of the builder, frame by frame so a long video is never held in
memory: decode (`video.open_video`: PyAV or a frame folder, real timestamps, rotation,
target fps / stride) → face box (`faces.locate_faces`: detection on a downscaled copy,
tracking between detections) → 68 landmarks on the full-resolution frame → similarity
alignment onto the template (`alignment.align_face`) → square RGB crop → JPEG.

Frames with no face are dropped (Ayral (2021) thesis, Sec. 2.2.3.1) and counted (`frames_total` vs
`frames_kept`), unless `keep_frames_without_face`: then they keep the last known box
(frames before the first face take the first box; at most `MAX_PENDING_FRAMES` of them)
with `detected = False`. A video whose detections are sporadic (a face in fewer than
`MIN_FACE_FRACTION` of the detector passes) is reported as having no face.
`detector="none"` resizes the whole frame to the crop (landmarks are still predicted,
with the whole frame as the box) and marks every frame `detected = False`.

Example:

>>> item = VideoItem(path="clip.mp4", video_id="clip", label_name="happy")
>>> video = process_video(item, FaceOptions(crop_size=112))
>>> video.frames_kept, video.frames_total
(118, 120)
"""

from __future__ import annotations

import collections

import numpy as np

from kerasfer.errors import LabelError, NoFaceError
from tfrecords_builder.alignment import align_face, resize_face
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.faces import locate_faces, predict_landmarks
from tfrecords_builder.processed_video import ProcessedVideo
from tfrecords_builder.video import open_video

# A video whose detector passes find a face less often than this holds no face: dlib HOG
# fires on texture now and then (bikes.mp4: 3 of 250 frames), a FER clip shows its face in
# most frames (carphone: 118 of 120).
MIN_FACE_FRACTION = 0.05
# With `keep_frames_without_face`, faceless frames before the first face wait (as full
# frames) for its box; the oldest beyond this many are dropped to bound memory.
MAX_PENDING_FRAMES = 300


def encode_jpeg(rgb, quality):
    """JPEG-encodes an RGB uint8 image (OpenCV expects BGR, hence the swap)."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # Only on an invalid image; never expected for a uint8 crop.
        raise RuntimeError("cv2.imencode failed on a face crop")
    return data.tobytes()


def _frame_label(item, source_index):
    if item.frame_labels is None:
        return None
    if source_index >= len(item.frame_labels):
        raise LabelError(item.path, f"{len(item.frame_labels)} frame labels but the video has "
                         f"more frames (frame {source_index})",
                         "give one frame label per source frame")
    return float(item.frame_labels[source_index])


def process_video(item, options=None):
    """Decodes one video, finds, aligns and crops its face in every frame.

    Args:
        item: `VideoItem`. The video file or frame folder (with optional frame labels).
        options: `FaceOptions` or None. Defaults to `FaceOptions()`.

    Returns:
        `ProcessedVideo` with one entry per kept frame.

    Raises:
        VideoDecodeError: missing, empty, non-video, corrupt or truncated input.
        NoFaceError: no face in any frame, or only sporadic detections.
        LabelError: fewer frame labels than source frames.
    """
    options = options or FaceOptions()
    fps, frames = open_video(item.path, is_frame_folder=item.is_frame_folder,
                             folder_fps=item.fps, target_fps=options.target_fps,
                             frame_stride=options.frame_stride)
    crop = resize_face if options.detector == "none" else align_face
    kept = {"jpeg": [], "landmarks": [], "boxes": [], "timestamps": [], "detected": [],
            "labels": []}
    # Frames seen before the first face, kept only with `keep_frames_without_face`.
    pending = collections.deque(maxlen=MAX_PENDING_FRAMES)
    last_box = None
    frames_total = 0

    def keep(image, box, timestamp, detected, label, landmarks=None):
        if landmarks is None:  # A frame kept without a face: landmarks in the known box.
            landmarks = predict_landmarks(image, box)
        face, crop_landmarks, _ = crop(image, landmarks, options.crop_size)
        kept["jpeg"].append(encode_jpeg(face, options.jpeg_quality))
        kept["landmarks"].append(crop_landmarks)
        kept["boxes"].append(np.asarray(box, np.float32))
        kept["timestamps"].append(timestamp)
        kept["detected"].append(bool(detected))
        kept["labels"].append(label)

    hits = misses = 0
    for source_index, timestamp, image, box, detected, landmarks in locate_faces(frames,
                                                                                 options):
        frames_total += 1
        hits += bool(detected)
        misses += box is None
        label = _frame_label(item, source_index)
        if box is None:
            if not options.keep_frames_without_face:
                continue
            if last_box is None:
                pending.append((image, timestamp, label))
                continue
            box, detected = last_box, False
        if pending:
            for pending_image, pending_time, pending_label in pending:
                keep(pending_image, box, pending_time, False, pending_label)
            pending.clear()
        keep(image, box, timestamp, detected, label, landmarks)
        last_box = box

    attempts = hits + misses
    if kept["jpeg"] and options.detector != "none" and hits < MIN_FACE_FRACTION * attempts:
        raise NoFaceError(item.path, f"a face was detected in only {hits} of {attempts} "
                          f"detection passes (< {MIN_FACE_FRACTION:.0%}), sporadic false "
                          "positives, so no face", "check the video shows a frontal face; "
                          "try the cnn detector or --no-detect for cropped faces")
    if not kept["jpeg"]:
        raise NoFaceError(item.path, f"no face found in any of {frames_total} frames "
                          f"(detector={options.detector})",
                          "check the video shows a frontal face; try the cnn detector, a larger "
                          "detection max side or upsample, or --no-detect for cropped faces")
    return ProcessedVideo(
        jpeg_frames=kept["jpeg"],
        landmarks=np.stack(kept["landmarks"]).astype(np.float32),
        boxes=np.stack(kept["boxes"]).astype(np.float32),
        timestamps=np.asarray(kept["timestamps"], np.float32),
        detected=np.asarray(kept["detected"], bool),
        crop_size=int(options.crop_size),
        fps=float(fps),
        frames_total=frames_total,
        frame_labels=None if item.frame_labels is None
        else np.asarray(kept["labels"], np.float32),
    )
