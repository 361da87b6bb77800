"""`FailureLog`: the `failures.jsonl` report of a builder run."""

from __future__ import annotations

import json
import os

from kerasfer import schema
from kerasfer.atomic_write import write_text_atomic


class FailureLog:
    """Keeps one row per failed video of the current run in `failures.jsonl`.

    Rows are `{"id", "path", "kind", "cause", "fix"}` with `kind` one of the
    `kerasfer.errors` tags (`decode`, `no_face`, `label`, `duplicate`, ...). The file always
    describes the latest run (failed videos are retried by every rerun, so older rows would
    be stale); it is replaced atomically after each failure, so a killed run still leaves the
    rows it had, and it is not touched when its content does not change (a rerun that
    fails on the same videos leaves it byte-for-byte and mtime equal).

    Args:
        directory: str. The dataset directory.

    Example:

    >>> log = FailureLog("out")
    >>> log.add("clips/bad", VideoDecodeError("clips/bad.mp4", "zero-byte file", "re-copy it"))
    >>> log.finish()
    """

    def __init__(self, directory):
        self.path = os.path.join(str(directory), schema.FAILURES_FILENAME)
        self.rows = []
        try:
            with open(self.path, encoding="utf-8") as handle:
                self._on_disk = handle.read()
        except FileNotFoundError:
            self._on_disk = None

    def add(self, video_id, error):
        """Records one failure (a `KerasferError`) and updates the report; returns the row."""
        row = {"id": str(video_id), **error.as_record()}
        self.rows.append(row)
        # Skipped while the file already starts with this run's rows (a rerun failing on
        # the same videos): it stays untouched and `finish` decides.
        if self._on_disk is None or not self._on_disk.startswith(self._text()):
            self._write()
        return row

    def _text(self):
        return "".join(json.dumps(row, sort_keys=True) + "\n" for row in self.rows)

    def _write(self):
        text = self._text()
        # Never written through a symbolic link planted at the temporary name.
        write_text_atomic(self.path, text)
        self._on_disk = text

    def finish(self):
        """Writes the final report (an empty file when nothing failed) if it changed."""
        if self._text() != self._on_disk:
            self._write()
