"""Frame decoding for the builder: video files through PyAV, and folders of frame images.

`open_video` returns the frame rate of the output sequence and a lazy iterator of
`(source_index, timestamp, rgb)` triples, so a long video never sits in memory at once:

* any container / codec the bundled ffmpeg reads (mp4, avi, mkv, webm, mov, ... with
  h264, mpeg4, vp9, mjpeg, ...);
* real presentation timestamps (`frame.time`), so variable-frame-rate sources keep their
  true timing;
* display-matrix rotation (phone videos) applied to the pixels (`rotate_frame`);
* optional resampling to `target_fps` on the real timestamps (never duplicates frames),
  then one frame in `frame_stride`;
* folders of frame images (UNBC-McMaster style), sorted by name with numbers compared as
  numbers (`frame2.png` before `frame10.png`).

Bad input raises `kerasfer.errors.VideoDecodeError` with one line naming the file, the
cause and the fix: missing, empty, a text file, not decodable, or truncated (fewer decoded
frames than the container declares; PyAV decodes a truncated file partially without
raising, so the count is checked at the end of the iteration).

Example:

>>> fps, frames = open_video("clip.mp4", target_fps=15)
>>> for source_index, timestamp, rgb in frames:
...     rgb.shape  # (height, width, 3) uint8
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

from kerasfer.errors import VideoDecodeError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
# UNBC-McMaster and most frame dumps are 30 fps; used when a frame folder gives no rate.
DEFAULT_FOLDER_FPS = 30.0
# A decoded count may differ from the declared one by edit lists / a dropped last B-frame.
_TRUNCATION_TOLERANCE_FRAMES = 2
_TRUNCATION_TOLERANCE_FRACTION = 0.02


def rotate_frame(image, degrees):
    """Applies a display-matrix rotation to a frame.

    Args:
        image: uint8 array `(height, width, channels)`.
        degrees: float. Counter-clockwise rotation as reported by PyAV's
            `VideoFrame.rotation` (e.g. 90, -90, 180); rounded to a multiple of 90.

    Returns:
        The rotated array, `(width, height, channels)` for ±90 degrees.
    """
    quarter_turns = int(round((degrees or 0) / 90.0)) % 4
    # Always contiguous: PyAV pads rows of some widths (e.g. 168 px gives a 528-byte row
    # stride), and dlib silently finds no face in such strided arrays.
    return np.ascontiguousarray(np.rot90(image, k=quarter_turns) if quarter_turns else image)


def resample_frames(frames, target_fps=None, frame_stride=1):
    """Keeps the first frame of each `1 / target_fps` slot of real time, then every k-th.

    Args:
        frames: iterable of `(source_index, timestamp, image)`.
        target_fps: float or None. Output rate; slots are measured from the first
            timestamp, so a slower source keeps every frame (no duplication). Defaults to
            None (no resampling).
        frame_stride: int. Keep one frame in `frame_stride` after resampling. Defaults to 1.

    Yields:
        The kept `(source_index, timestamp, image)` triples.
    """
    first_time = None
    last_slot = -1
    kept = 0
    for frame in frames:
        timestamp = frame[1]
        if target_fps is not None:
            if first_time is None:
                first_time = timestamp
            # The epsilon keeps a frame sitting exactly on a slot boundary in that slot.
            slot = math.floor((timestamp - first_time) * target_fps + 1e-6)
            if slot <= last_slot:
                continue
            last_slot = slot
        if kept % frame_stride == 0:
            yield frame
        kept += 1


def _natural_key(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _check_file(path):
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file not found", "check the path in the source list")
    if os.path.isdir(path):
        raise VideoDecodeError(path, "is a directory, not a video file",
                               "use a frame-folder source for folders of images")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)",
                               "re-copy or re-download the video")
    with open(path, "rb") as handle:
        head = handle.read(512)
    # Y4M (raw YUV) starts with a text header but is a real video.
    if head and not head.startswith(b"YUV4MPEG2") and all(
            byte in b"\t\n\r\x0c" or 32 <= byte < 127 for byte in head):
        raise VideoDecodeError(path, "text file, not a video",
                               "replace it with the real video or remove it from the source list")


def _folder_frames(path, fps):
    names = sorted((n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS)),
                   key=_natural_key)
    if not names:
        raise VideoDecodeError(path, "no frame images in folder",
                               f"put {'/'.join(IMAGE_EXTENSIONS)} files in it or drop the folder")

    def frames():
        import cv2

        for index, name in enumerate(names):
            image = cv2.imread(os.path.join(path, name), cv2.IMREAD_COLOR)
            if image is None:
                raise VideoDecodeError(os.path.join(path, name), "unreadable image",
                                       "re-export the frame or remove it from the folder")
            yield index, index / fps, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    return frames()


def _decode_error(path, exc, decoded):
    where = "cannot be opened" if decoded is None else f"fails after {decoded} frames"
    detail = getattr(exc, "strerror", None) or str(exc)
    return VideoDecodeError(path, f"truncated, corrupt or not a video: ffmpeg {where} "
                            f"({type(exc).__name__}: {detail})",
                            "check the file plays in ffplay/VLC and re-encode or re-copy it")


def _file_frames(path):
    import av

    _check_file(path)
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _decode_error(path, exc, None) from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "no video stream in the container",
                               "pass a file with a video track")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    declared = int(stream.frames or 0)
    if declared == 0 and stream.duration and stream.time_base and fps:
        declared = int(round(float(stream.duration * stream.time_base) * fps))
    elif declared == 0 and container.duration and fps:
        declared = int(round(container.duration / 1e6 * fps))

    def frames():
        decoded = 0
        first_time = None
        try:
            try:
                for frame in container.decode(stream):
                    time = frame.time
                    if time is None:  # No pts (rare raw streams): fall back to the nominal rate.
                        time = decoded / fps if fps else float(decoded)
                    if first_time is None:
                        first_time = time
                    image = rotate_frame(frame.to_ndarray(format="rgb24"), frame.rotation)
                    yield decoded, float(time - first_time), image
                    decoded += 1
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                if 0 < decoded < declared:
                    raise VideoDecodeError(
                        path, f"truncated: decoded {decoded} of {declared} frames, then ffmpeg "
                        f"failed ({type(exc).__name__})",
                        "re-copy or re-download the complete file") from exc
                raise _decode_error(path, exc, decoded) from exc
        finally:
            container.close()
        tolerance = max(_TRUNCATION_TOLERANCE_FRAMES, _TRUNCATION_TOLERANCE_FRACTION * declared)
        if decoded == 0 or decoded + tolerance < declared:
            raise VideoDecodeError(path, f"truncated: decoded {decoded} of {declared} frames",
                                   "re-copy or re-download the complete file")

    return fps, frames()


def open_video(path, *, is_frame_folder=False, folder_fps=None, target_fps=None, frame_stride=1):
    """Opens a video file or a frame folder for decoding.

    Missing / empty / text / unopenable files raise here; decode errors and truncation
    raise while (or at the end of) iterating the frames.

    Args:
        path: str. Video file, or folder of frame images when `is_frame_folder`.
        is_frame_folder: bool. Read `path` as a folder of images. Defaults to False.
        folder_fps: float or None. Frame rate of a frame folder. Defaults to None
            (`DEFAULT_FOLDER_FPS`).
        target_fps: float or None. Resample to this rate on real timestamps (see
            `resample_frames`). Defaults to None.
        frame_stride: int. Keep one frame in `frame_stride`. Defaults to 1.

    Returns:
        `(fps, frames)`: the frame rate of the output sequence and an iterator of
        `(source_index, timestamp, rgb uint8 (height, width, 3))`, `timestamp` in seconds
        from the first frame (the stream's own pts, so gaps of a VFR source are kept).
    """
    path = os.fspath(path)
    if is_frame_folder:
        if not os.path.isdir(path):
            raise VideoDecodeError(path, "frame folder not found",
                                   "check the path in the source list")
        source_fps = float(folder_fps or DEFAULT_FOLDER_FPS)
        frames = _folder_frames(path, source_fps)
    else:
        source_fps, frames = _file_frames(path)
    fps = source_fps
    if target_fps is not None:
        fps = min(float(target_fps), source_fps) if source_fps else float(target_fps)
    fps /= frame_stride
    return fps, resample_frames(frames, target_fps, frame_stride)
