"""`CsvSource`: videos listed in a CSV file `path,label[,subject][,split]`."""

from __future__ import annotations

import csv
import os

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import report
from tfrecords_builder.sources._paths import video_id
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

COLUMNS = ("path", "label", "subject", "split")


@register_source('csv', usage='csv:FILE',
                 help=('rows path,label[,subject][,split] (header optional; relative paths are'
                 " resolved against the CSV's folder; a folder path = frame images)"))
class CsvSource:
    """Lists the videos of a CSV file with rows `path,label[,subject][,split]`.

    The header row is optional: when the first row starts with `path`, its column names
    (`path`, `label`, `subject`, `split`, any order) are used; otherwise columns are read in
    that order. Relative paths are resolved against the CSV's folder; a path that is a
    folder is read as a folder of frame images. Video ids are the paths relative to the
    CSV's folder without extension, so reruns give the same ids. Blank lines and lines
    starting with `#` are ignored.

    Args:
        path: str. The CSV file.

    Example:

    >>> items = CsvSource("labels.csv").items()
    >>> items[0].video_id, items[0].label_name
    ('clips/001', 'happy')
    """

    # Class order when neither `--classes` nor an existing classes.json gives one.
    classes = None

    def __init__(self, path):
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise LabelError(self.path, "CSV file not found",
                             "check the path given to --source csv:<file>")

    def _rows(self):
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as handle:
                return [(number, row) for number, row in enumerate(csv.reader(handle), 1)]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise LabelError(self.path, f"cannot read the CSV ({exc})",
                             "save it as UTF-8 text with rows `path,label[,subject][,split]`") from exc

    def items(self, on_error=None):
        """Returns the listed `VideoItem`s in file order.

        Args:
            on_error: callable `(item_id, LabelError)` or None. Receives rows that cannot be
                read (wrong number of columns) so the job can carry on; None raises.
        """
        rows = [(n, [cell.strip() for cell in row]) for n, row in self._rows()]
        rows = [(n, row) for n, row in rows if any(row) and not row[0].startswith("#")]
        columns = COLUMNS
        if rows and rows[0][1][0].lower() == "path":
            header = [cell.lower() for cell in rows[0][1]]
            unknown = [name for name in header if name not in COLUMNS]
            if "label" not in header or unknown:
                raise LabelError(f"{self.path}:{rows[0][0]}",
                                 f"header {','.join(header)} is not made of {', '.join(COLUMNS)}",
                                 "use a header like `path,label,subject,split` or no header")
            columns = tuple(header)
            rows = rows[1:]
        root = os.path.dirname(os.path.abspath(self.path))
        items = []
        for number, row in rows:
            where = f"{self.path}:{number}"
            if not 2 <= len(row) <= len(columns):
                report(on_error, row[0] or where, LabelError(
                    where, f"expected {len(columns) if columns != COLUMNS else '2 to 4'} "
                    f"columns `{','.join(columns)}`, got {len(row)}",
                    "fix or delete the row"))
                continue
            fields = dict(zip(columns, row))
            if not fields.get("path"):
                report(on_error, where, LabelError(where, "empty path", "fix or delete the row"))
                continue
            path = os.path.normpath(os.path.join(root, os.path.expanduser(fields["path"])))
            items.append(VideoItem(
                path=path,
                video_id=video_id(path, root),
                label_name=fields.get("label", ""),
                subject=fields.get("subject", ""),
                split=fields.get("split", ""),
                is_frame_folder=os.path.isdir(path),
            ))
        return items
