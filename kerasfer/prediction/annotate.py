"""`write_annotated_video`: the source video with the face box and the current emotion drawn.

The video is decoded a second time (the same frame rate / stride as the prediction, so
frame i is row i), each frame gets its face box and "<emotion> <probability>" (or "no
face"), and the result is encoded as H.264 mp4 with PyAV (MPEG-4 Part 2 when the ffmpeg
build has no H.264 encoder). Nothing but one frame is in memory at a time.

Example:

>>> write_annotated_video(prediction, "out/clip_annotated.mp4")
"""

from __future__ import annotations

import fractions

import numpy as np

_GREEN = (40, 220, 40)
_GREY = (200, 200, 200)


def _draw(image, box, text, colour):
    import cv2

    height, width = image.shape[:2]
    scale = max(0.35, min(width, height) / 400.0)
    thickness = max(1, int(round(scale * 2)))
    if box is not None:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, thickness)
    (text_width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX,
                                                          scale, thickness)
    cv2.rectangle(image, (0, 0), (text_width + 6, text_height + baseline + 6), (0, 0, 0), -1)
    cv2.putText(image, text, (3, text_height + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                thickness, cv2.LINE_AA)
    return image


def _open_encoder(path, fps, width, height):
    import av

    container = av.open(path, mode="w")
    rate = fractions.Fraction(fps or 25.0).limit_denominator(1001)
    for codec in ("libx264", "h264", "mpeg4"):
        try:
            stream = container.add_stream(codec, rate=rate)
            break
        except (av.error.FFmpegError, ValueError):
            continue
    else:  # pragma: no cover - every PyAV wheel ships mpeg4
        container.close()
        raise RuntimeError("no mp4 video encoder in this PyAV build")
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    return container, stream


def write_annotated_video(prediction, path, face_options=None):
    """Writes `path` (mp4): every row's frame with its face box and current emotion.

    Args:
        prediction: `VideoPrediction`.
        path: str. The mp4 file.
        face_options: `FaceOptions` or None. Frame rate / stride used by the prediction.
            Defaults to None (every frame).

    Returns:
        str, `path`.
    """
    import av

    from tfrecords_builder.video import open_video

    target_fps = getattr(face_options, "target_fps", None)
    stride = getattr(face_options, "frame_stride", 1)
    _, frames = open_video(prediction.path, target_fps=target_fps, frame_stride=stride)
    labels = prediction.frame_labels()
    container = stream = None
    try:
        for row, (_, _, image) in enumerate(frames):
            if row >= prediction.frames:
                break
            if container is None:
                # yuv420p needs even sides: drop a last odd row / column.
                height, width = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
                container, stream = _open_encoder(path, prediction.fps, width, height)
            image = np.ascontiguousarray(image[:height, :width])
            if prediction.face_found[row]:
                index = int(np.argmax(prediction.frame_probabilities[row]))
                text = f"{labels[row]} {prediction.frame_probabilities[row, index]:.2f}"
                _draw(image, prediction.boxes[row], text, _GREEN)
            else:
                _draw(image, None, "no face", _GREY)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    finally:
        if container is not None:
            container.close()
    return path
