"""`ClassFolders`: one folder per class, `<root>/<Label>/*.<ext>` (AFEW, HMDB-51)."""

from __future__ import annotations

import os

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import is_frame_folder
from tfrecords_builder.sources._paths import is_video_file
from tfrecords_builder.sources._paths import video_id
from tfrecords_builder.sources._paths import visible_entries
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

SPLIT_FOLDERS = ("train", "val", "valid", "validation", "test", "testing", "training")


def _split_name(folder):
    """`Train` → "train", `Val_AFEW` → "val" (EmotiW's folder names); "" if not a split."""
    name = folder.lower().split("_")[0]
    return name if name in SPLIT_FOLDERS else ""


@register_source('folders', usage='folders:ROOT',
                 help=('ROOT/<Label>/*.<ext> (HMDB-51), or ROOT/<Split>/<Label>/*.<ext> (AFEW '
                 'Train/ Val/; the split folder becomes the split)'))
class ClassFolders:
    """Lists videos stored one folder per class.

    Two layouts are recognised:

    * `<root>/<Label>/<video>.<ext>` (HMDB-51: `<root>/brush_hair/*.avi`);
    * `<root>/<Split>/<Label>/<video>.<ext>` when every top-level folder is a split name
      (`Train`, `Val`, `Test`, ..., also EmotiW's `Train_AFEW`, `Val_AFEW` — AFEW:
      `Train/Angry/*.avi`); the split becomes `VideoItem.split`, lower-cased and without
      suffix (`train`, `val`).

    Inside a class folder, video files (`.avi`, `.mp4`, `.mkv`, ...) and sub-folders of frame
    images are listed; other files are ignored. Ids are paths relative to `root` without
    extension (`Train/Angry/000046280`). Subjects are unknown in these layouts ("").

    Args:
        root: str. The dataset folder.

    Example:

    >>> [(i.video_id, i.label_name, i.split) for i in ClassFolders("AFEW").items()][:1]
    [('Train/Angry/000046280', 'Angry', 'train')]
    """

    classes = None

    def __init__(self, root):
        self.root = os.path.abspath(str(root))
        if not os.path.isdir(self.root):
            raise LabelError(self.root, "folder not found",
                             "pass --source folders:<root> with one sub-folder per class")

    def _class_folders(self):
        top = [name for name in visible_entries(self.root)
               if os.path.isdir(os.path.join(self.root, name))]
        if top and all(_split_name(name) for name in top):
            for split in top:
                split_dir = os.path.join(self.root, split)
                for label in visible_entries(split_dir):
                    if os.path.isdir(os.path.join(split_dir, label)):
                        yield os.path.join(split_dir, label), label, _split_name(split)
        else:
            for label in top:
                yield os.path.join(self.root, label), label, ""

    def items(self, on_error=None):
        """Returns the `VideoItem`s sorted by class folder then file name.

        Args:
            on_error: unused (no label files in this layout); kept for a uniform API.
        """
        del on_error
        items = []
        for folder, label, split in self._class_folders():
            for name in visible_entries(folder):
                path = os.path.join(folder, name)
                frame_folder = os.path.isdir(path)
                if not (is_video_file(path) or (frame_folder and is_frame_folder(path))):
                    continue
                items.append(VideoItem(path=path, video_id=video_id(path, self.root),
                                       label_name=label, split=split,
                                       is_frame_folder=frame_folder))
        if not items:
            raise LabelError(self.root, "no videos found in `<root>/<Label>/*.<ext>` or "
                             "`<root>/<Split>/<Label>/*.<ext>`",
                             "check the folder layout (one sub-folder per class)")
        return items
