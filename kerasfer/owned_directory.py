"""`OwnedDirectory`: the one place where kerasfer decides what it may delete in a directory."""

from __future__ import annotations

import json
import os
import stat
import tempfile

from kerasfer.errors import SchemaError

MARKER_FILENAME = ".kerasfer-directory.json"


class OwnedDirectory:
    """An output directory that kerasfer created, and the only way kerasfer deletes in it.

    The rule (issue "nothing deleted that kerasfer did not write"): a tool writes into a
    directory only if it created it, found it empty, or finds its own marker file
    (`.kerasfer-directory.json`, written by `claim`) there; a non-empty directory without
    the marker is refused with one message naming the files it holds and the fix. Inside a
    claimed directory a tool deletes only the names its own records list (manifest,
    journal, generator parameters) and goes through `remove`, which never follows a
    symbolic link (a link is unlinked, its target untouched) and never removes a folder.

    Args:
        path: str. The directory.
        tool: str. Name of the tool that owns it (`"tfrecords_builder"`,
            `"kerasfer.data.synthetic"`); a directory claimed by another tool is refused.
        flag: str. The option naming the directory, used in messages. Defaults to `"--out"`.

    Example:

    >>> directory = OwnedDirectory("tfr", "tfrecords_builder")
    >>> directory.claim()        # creates tfr/ and its marker, or checks they are ours
    >>> directory.remove("part-00000.tfrecord")
    True
    """

    def __init__(self, path, tool, flag="--out"):
        self.path = os.path.abspath(str(path))
        self.tool = str(tool)
        self.flag = str(flag)

    @property
    def marker_path(self):
        return os.path.join(self.path, MARKER_FILENAME)

    def owner(self):
        """Returns the tool named by the directory's marker, or None without a valid marker."""
        try:
            if not stat.S_ISREG(os.lstat(self.marker_path).st_mode):
                return None
            with open(self.marker_path, encoding="utf-8") as handle:
                return json.load(handle).get("created_by")
        except (OSError, ValueError, AttributeError):
            return None

    def entries(self, ignore=()):
        """Sorted names in the directory, without the marker and the names in `ignore`."""
        skip = set(ignore)
        return sorted(name for name in os.listdir(self.path)
                      if name not in skip and not name.startswith(MARKER_FILENAME))

    def claim(self, ignore=(), adopt=None):
        """Creates the directory, or checks that this tool may write into it.

        Args:
            ignore: iterable of str. Names that do not make the directory "non-empty" (the
                tool's own lock file). Defaults to ().
            adopt: callable `(names) -> bool` or None. Accepts a directory written by an
                earlier kerasfer without a marker, judged from its own records (e.g. every
                shard is in its manifest). Defaults to None.

        Raises:
            SchemaError: the path is a file, the directory belongs to another tool, or it
                is not empty and not ours. Nothing is written or deleted then.
        """
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise SchemaError(self.path, "is a file, not a directory",
                              f"pass a directory (new or empty) as {self.flag}")
        if os.path.isdir(self.path):
            owner = self.owner()
            if owner == self.tool:
                return
            if owner is not None:
                raise SchemaError(self.path, f"was written by {owner}, not by {self.tool}",
                                  f"pass another (new or empty) {self.flag} directory; nothing "
                                  "was deleted")
            names = self.entries(ignore)
            if names and not (adopt is not None and adopt(names)):
                shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6
                                                else "")
                raise SchemaError(self.path, f"is not empty and kerasfer did not create it "
                                  f"(it holds {shown})",
                                  f"pass a new or empty {self.flag} directory; nothing was "
                                  "deleted")
        else:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as exc:
                raise SchemaError(self.path, f"cannot create the directory "
                                  f"({exc.strerror or exc})",
                                  f"pass a writable {self.flag} directory") from exc
        marker = {"created_by": self.tool,
                  "note": "kerasfer deletes or replaces only the files its own records list "
                          "in this directory"}
        # A unique temporary name: several threads of one process may claim at once.
        fd, temporary = tempfile.mkstemp(prefix=f"{MARKER_FILENAME}.tmp-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(marker, handle, indent=1)
        os.chmod(temporary, 0o644)
        os.replace(temporary, self.marker_path)

    def remove(self, name):
        """Deletes the file `name` of the directory without following symbolic links.

        A symbolic link is removed itself (its target is never touched); a folder is never
        removed. Returns True when something was removed, False when it did not exist.

        Raises:
            SchemaError: `name` is a folder, or leaves the directory (`..`, absolute).
        """
        name = str(name)
        if os.path.isabs(name) or os.pardir in name.replace("\\", "/").split("/"):
            raise SchemaError(os.path.join(self.path, name), "is outside the directory",
                              "this is a bug in kerasfer's records; please report it")
        path = os.path.join(self.path, name)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(mode):
            raise SchemaError(path, "is a folder where kerasfer wrote a file",
                              "move the folder out of the way; kerasfer never deletes folders")
        os.unlink(path)
        return True
