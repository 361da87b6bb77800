"""`UnbcMcMaster`: UNBC-McMaster Shoulder Pain sequences (frame images, OPI and PSPI labels)."""

from __future__ import annotations

import os

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import image_files
from tfrecords_builder.sources._paths import report
from tfrecords_builder.sources._paths import visible_entries
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

OPI_CLASSES = ("0", "1", "2", "3", "4", "5")


def _read_number(path):
    """Reads the single number of a UNBC label file (e.g. `   3.0000000e+00`)."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(path, f"cannot read the label file ({exc.__class__.__name__})",
                         "restore the file from the UNBC-McMaster archive") from exc
    try:
        (value,) = text
        return float(value)
    except ValueError as exc:
        raise LabelError(path, f"expected one number, found {' '.join(text)[:40]!r}",
                         "restore the file from the UNBC-McMaster archive") from exc


@register_source('unbc', usage='unbc:ROOT',
                 help=('UNBC-McMaster: Images/<subject>/<sequence>/*.png, OPI sequence labels '
                 'from Sequence_Labels/OPI, per-frame PSPI from Frame_Labels/PSPI'))
class UnbcMcMaster:
    """Lists the 200 sequences of the UNBC-McMaster Shoulder Pain archive (Lucey et al., 2011).

    Layout of the archive:

    * `Images/<subject>/<sequence>/<frame>.png` — the frames of each sequence;
    * `Sequence_Labels/OPI/<subject>/<sequence>.txt` — Observed Pain Intensity 0–5, the
      sequence label (thesis Sec. 3.3.1.1: OPI = 0 is *No Pain*, OPI ≥ 3 is *Pain*);
    * `Frame_Labels/PSPI/<subject>/<sequence>/<frame>_facs.txt` — per-frame PSPI (0–16),
      stored as `VideoItem.frame_labels` (used for PSPI-guided sampling, thesis Table 3.2).

    Label names are the OPI values `"0"`–`"5"` and the class list keeps that order, so the
    label index equals the OPI. Ids are `<subject>/<sequence>`; the subject is the folder
    name (for leave-one-subject-out folds). When `Frame_Labels/PSPI` is absent, frame labels
    are None; a sequence whose OPI file or one of whose PSPI files is missing or unreadable
    is reported as a label error.

    Args:
        root: str. The archive folder holding `Images/` and `Sequence_Labels/`.
        fps: float or None. Frame rate given to the frame sequences (the archive's label
            files do not store one). Defaults to None (the decoder's default).

    Example:

    >>> item = UnbcMcMaster("UNBC").items()[0]
    >>> item.video_id, item.label_name, len(item.frame_labels)
    ('042-ll042/ll042t1aaaff', '0', 241)
    """

    classes = OPI_CLASSES

    def __init__(self, root, fps=None):
        self.root = os.path.abspath(str(root))
        self.fps = fps
        self.images = os.path.join(self.root, "Images")
        self.opi = os.path.join(self.root, "Sequence_Labels", "OPI")
        self.pspi = os.path.join(self.root, "Frame_Labels", "PSPI")
        for folder in (self.images, self.opi):
            if not os.path.isdir(folder):
                raise LabelError(folder, "folder not found", "pass --source unbc:<archive folder "
                                 "holding Images/ and Sequence_Labels/OPI/>")

    def _label(self, subject, sequence):
        value = _read_number(os.path.join(self.opi, subject, f"{sequence}.txt"))
        return str(int(value)) if value == int(value) else f"{value:g}"

    def _frame_labels(self, subject, sequence, frames):
        if not os.path.isdir(self.pspi):
            return None
        folder = os.path.join(self.pspi, subject, sequence)
        return [_read_number(os.path.join(folder, f"{os.path.splitext(name)[0]}_facs.txt"))
                for name in frames]

    def items(self, on_error=None):
        """Returns the `VideoItem`s sorted by subject then sequence.

        Args:
            on_error: callable `(item_id, LabelError)` or None. Receives sequences whose
                label files are missing or unreadable; None raises.
        """
        items, sequences = [], 0
        for subject in visible_entries(self.images):
            subject_dir = os.path.join(self.images, subject)
            if not os.path.isdir(subject_dir):
                continue
            for sequence in visible_entries(subject_dir):
                path = os.path.join(subject_dir, sequence)
                if not os.path.isdir(path):
                    continue
                frames = image_files(path)
                if not frames:
                    continue
                sequences += 1
                item_id = f"{subject}/{sequence}"
                try:
                    label = self._label(subject, sequence)
                    frame_labels = self._frame_labels(subject, sequence, frames)
                except LabelError as error:
                    report(on_error, item_id, error)
                    continue
                items.append(VideoItem(path=path, video_id=item_id, label_name=label,
                                       subject=subject, is_frame_folder=True,
                                       frame_labels=frame_labels, fps=self.fps))
        if not sequences:
            raise LabelError(self.images, "no frame sequences found in "
                             "`Images/<subject>/<sequence>/*.png`",
                             "point --source unbc: to the UNBC-McMaster archive folder")
        return items
