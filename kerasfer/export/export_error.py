"""`ExportError`: a SavedModel export that cannot be written, as one line (file, cause, fix)."""

from __future__ import annotations

from kerasfer.errors import KerasferError


class ExportError(KerasferError):
    """The export directory or the run cannot be exported (refused, unreadable, unwritable).

    Args:
        path: str or None. The export directory, run directory or file concerned.
        cause: str. What is wrong, in a few words.
        fix: str. What to do about it. Defaults to "".

    Example:

    >>> str(ExportError("served/", "is a file, not a directory", "pass --out a directory"))
    'served/: is a file, not a directory. pass --out a directory'
    """

    kind = "export"
