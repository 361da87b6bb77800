"""Helpers shared by the source adapters: file-type tests, stable ids, error reporting."""

from __future__ import annotations

import os
import re

VIDEO_EXTENSIONS = (
    ".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".flv", ".wmv",
    ".3gp", ".ogv", ".mts", ".ts", ".vob",
)
# Same list and order as `tfrecords_builder.video` reads frame folders in, so that frame
# labels listed here line up with the decoded frames.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def is_video_file(path):
    return os.path.isfile(path) and path.lower().endswith(VIDEO_EXTENSIONS)


def natural_key(name):
    """`frame2.png` before `frame10.png`: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_files(folder):
    """Image file names of a frame folder in the order the decoder reads them."""
    return sorted((name for name in os.listdir(folder) if name.lower().endswith(IMAGE_EXTENSIONS)),
                  key=natural_key)


def is_frame_folder(path):
    return os.path.isdir(path) and bool(image_files(path))


def visible_entries(folder):
    """Sorted entries of `folder` without hidden files (`.DS_Store`, `._x.mp4`, ...)."""
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def video_files(folder):
    """Yields `(path, stem)` of the video files of `folder`, in `visible_entries` order."""
    for name in visible_entries(folder):
        path = os.path.join(folder, name)
        if is_video_file(path):
            yield path, os.path.splitext(name)[0]


def video_id(path, root):
    """Stable id of a video: its path relative to `root`, without extension, with `/`.

    Frame folders keep their whole name (a folder `seq.1` is not an extension).
    """
    relative = os.path.relpath(path, root)
    if not os.path.isdir(path):
        relative = os.path.splitext(relative)[0]
    return relative.replace(os.sep, "/")


def report(on_error, item_id, error):
    """Hands a per-video listing error to `on_error(item_id, error)`, or raises it."""
    if on_error is None:
        raise error
    on_error(item_id, error)
