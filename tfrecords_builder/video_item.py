"""`VideoItem`: one video (file or frame folder) that a source adapter lists for the builder."""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence


@dataclasses.dataclass
class VideoItem:
    """One video to process, as listed by a source adapter (`tfrecords_builder.sources`).

    Args:
        path: str. A video file any ffmpeg build reads, or a folder of frame images
            (sorted by name) when `is_frame_folder` is True.
        video_id: str. Unique id inside the dataset (becomes `video/id`); adapters derive it
            from the relative path so reruns give the same ids.
        label_name: str. Class name ("" when unlabelled).
        subject: str. Subject id ("" when unknown). Defaults to "".
        split: str. The dataset's own split ("" when none). Defaults to "".
        is_frame_folder: bool. `path` is a folder of images. Defaults to False.
        frame_labels: sequence of float or None. One label per source frame (e.g. PSPI),
            subsampled with the frames. Defaults to None.
        fps: float or None. Frame rate of a frame folder (videos carry their own).
    """

    path: str
    video_id: str
    label_name: str
    subject: str = ""
    split: str = ""
    is_frame_folder: bool = False
    frame_labels: Optional[Sequence[float]] = None
    fps: Optional[float] = None
