"""`BioVid`: BioVid Heat Pain Database Part A, `video/<subject>/<subject>-<class>-<n>.mp4`."""

from __future__ import annotations

import os
import re

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import report
from tfrecords_builder.sources._paths import video_files
from tfrecords_builder.sources._paths import visible_entries
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

BIOVID_CLASSES = ("BL1", "PA1", "PA2", "PA3", "PA4")
_NAME = re.compile(r"^(?P<subject>.+)-(?P<label>BL1|PA[1-4])-(?P<number>\d+)$")


@register_source('biovid', usage='biovid:ROOT',
                 help=('BioVid Part A: video/<subject>/<subject>-<class>-<n>.mp4, classes BL1,'
                 ' PA1-PA4'))
class BioVid:
    """Lists the videos of BioVid Heat Pain Database Part A (Werner et al., 2013).

    Layout: `<root>/video/<subject>/<subject>-<class>-<n>.mp4`, e.g.
    `video/071309_w_21/071309_w_21-PA4-012.mp4`; `root` may also be the `video` folder
    itself. Classes are the stimulus levels `BL1` (no pain) and `PA1`–`PA4` (thesis
    Sec. 3.3.1.1 uses BL1 vs PA4 and BL1 vs PA3–4, Tables 3.11–3.12); the class list keeps that
    order so label indices are the same on every machine. Ids are `<subject>/<file stem>`.
    Files whose name does not follow the pattern are reported as label errors.

    Args:
        root: str. The Part A folder (holding `video/`) or the `video` folder.

    Example:

    >>> item = BioVid("BioVid/PartA").items()[0]
    >>> item.subject, item.label_name
    ('071309_w_21', 'BL1')
    """

    classes = BIOVID_CLASSES

    def __init__(self, root):
        root = os.path.abspath(str(root))
        video_dir = os.path.join(root, "video")
        self.root = video_dir if os.path.isdir(video_dir) else root
        if not os.path.isdir(self.root):
            raise LabelError(root, "folder not found",
                             "pass --source biovid:<PartA folder holding video/>")

    def items(self, on_error=None):
        """Returns the `VideoItem`s sorted by subject then file name.

        Args:
            on_error: callable `(item_id, LabelError)` or None. Receives files whose name does
                not follow `<subject>-<class>-<n>.mp4`; None raises.
        """
        items, videos = [], 0
        for subject in visible_entries(self.root):
            folder = os.path.join(self.root, subject)
            if not os.path.isdir(folder):
                continue
            for path, stem in video_files(folder):
                videos += 1
                item_id = f"{subject}/{stem}"
                match = _NAME.match(stem)
                if match is None or match["subject"] != subject:
                    report(on_error, item_id, LabelError(
                        path, f"file name is not `{subject}-<class>-<n>` with class in "
                        f"{', '.join(BIOVID_CLASSES)}",
                        "rename the file or list the videos in a CSV (--source csv:...)"))
                    continue
                items.append(VideoItem(path=path, video_id=item_id, label_name=match["label"],
                                       subject=subject))
        if not videos:
            raise LabelError(self.root, "no videos found in `<subject>/<subject>-<class>-<n>.mp4`",
                             "point --source biovid: to BioVid Part A (the folder holding video/)")
        return items
