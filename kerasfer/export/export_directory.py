"""`ExportDirectory`: writes an export in place, deleting only what an earlier export wrote.

An export directory holds the SavedModel and, at its top, the export marker
`kerasfer_export_marker.json`: the list of every file and folder the export wrote
(relative paths). Re-exporting into the directory deletes exactly those (never a file the
user added, such as `NOTES.md`), never follows a symbolic link, and refuses:

* a path that is a symbolic link (even to an earlier export), or a file;
* a non-empty directory without a marker (kerasfer did not create it), naming its files;
* a new export whose files would replace files the marker does not list.

The new export is first written completely into a staging folder next to the directory,
so a failed export leaves the earlier one intact; then the files the old marker lists are
removed and the new ones moved in. While files move, the marker lists both sets, so an
interrupted export is still cleaned by the next one. Folders are created with the user's
umask (never 0700 from `tempfile.mkdtemp`).

Example:

>>> target = ExportDirectory("served/")
>>> target.check()                     # raises ExportError before any expensive work
>>> staging = target.staging_folder()  # write the SavedModel there
>>> target.install(staging)            # swaps it in, writes the marker
"""

from __future__ import annotations

import json
import os
import shutil
import uuid

from kerasfer.export.export_error import ExportError

EXPORT_MARKER_FILENAME = "kerasfer_export_marker.json"
MARKER_FORMAT = "kerasfer-export-marker"
_LISTED = 5  # file names shown in a refusal


def _relative_tree(root):
    """Files and folders under `root` (relative, sorted), without following symlinks."""
    files, folders = [], []
    for directory, subfolders, names in os.walk(root, followlinks=False):
        relative = os.path.relpath(directory, root)
        for name in subfolders:
            folders.append(os.path.normpath(os.path.join(relative, name)))
        for name in names:
            files.append(os.path.normpath(os.path.join(relative, name)))
    return sorted(files), sorted(folders)


def _names(paths):
    shown = ", ".join(sorted(paths)[:_LISTED])
    more = len(paths) - _LISTED
    return shown + (f" and {more} more" if more > 0 else "")


class ExportDirectory:
    """An export's output directory and its marker (see the module docstring).

    Args:
        path: str. The export directory (`--out`).
    """

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        self.shown = os.fspath(path)
        self.marker_path = os.path.join(self.path, EXPORT_MARKER_FILENAME)

    def check(self):
        """Raises `ExportError` unless the directory is new, empty or an earlier export."""
        if os.path.islink(self.path):
            raise ExportError(self.shown, f"is a symbolic link (to {os.readlink(self.path)}); "
                              "kerasfer does not export through links",
                              "pass --out the real directory, or a new one")
        if not os.path.lexists(self.path):
            return
        if not os.path.isdir(self.path):
            raise ExportError(self.shown, "is a file, not a directory",
                              "pass --out a new or empty directory (or an earlier export)")
        entries = os.listdir(self.path)
        if entries and not os.path.lexists(self.marker_path):
            raise ExportError(self.shown, f"the directory is not empty ({_names(entries)}) and "
                              f"has no {EXPORT_MARKER_FILENAME}, so kerasfer did not write it",
                              "pass --out a new or empty directory; nothing was deleted")
        if entries:
            self.recorded()  # a corrupt marker is refused before any work

    def recorded(self):
        """Returns `(files, folders)` the earlier export's marker lists (empty if none)."""
        if not os.path.lexists(self.marker_path):
            return [], []
        try:
            if os.path.islink(self.marker_path):
                raise ValueError("the marker is a symbolic link")
            with open(self.marker_path, encoding="utf-8") as handle:
                marker = json.load(handle)
            if marker.get("format") != MARKER_FORMAT:
                raise ValueError(f"its format is {marker.get('format')!r}")
            files = [self._safe(p) for p in marker["files"]]
            folders = [self._safe(p) for p in marker["folders"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ExportError(self.marker_path, f"unreadable export marker ({error})",
                              "pass --out a new or empty directory; nothing was deleted"
                              ) from error
        return files, folders

    def _safe(self, relative):
        # A marker entry must stay inside the directory and reach it through real folders.
        relative = os.path.normpath(str(relative))
        if os.path.isabs(relative) or relative == ".." or relative.startswith(".." + os.sep) \
                or relative in (".", EXPORT_MARKER_FILENAME):
            raise ValueError(f"it lists {relative!r}, outside the export")
        parent = os.path.dirname(relative)
        while parent:
            if os.path.islink(os.path.join(self.path, parent)):
                raise ValueError(f"{parent} is a symbolic link; kerasfer does not follow it")
            parent = os.path.dirname(parent)
        return relative

    def staging_folder(self):
        """Creates and returns an empty folder next to the directory (user's umask)."""
        parent = os.path.dirname(self.path)
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(parent, f".{os.path.basename(self.path)}.partial-"
                                       f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.mkdir(staging)  # mode 0o777 & ~umask, unlike tempfile.mkdtemp's 0o700
        return staging

    @staticmethod
    def discard(staging):
        """Deletes a staging folder made by `staging_folder` (it holds only our files)."""
        if os.path.isdir(staging) and not os.path.islink(staging):
            shutil.rmtree(staging, ignore_errors=True)

    def install(self, staging):
        """Moves the export in `staging` into the directory and writes the marker.

        Returns:
            list of str, the relative paths of the files written (marker excluded).
        """
        self.check()
        files, folders = _relative_tree(staging)
        if not os.path.lexists(self.path):
            self._write_marker(staging, files, folders)
            os.replace(staging, self.path)  # one rename: the export appears whole
            return files
        old_files, old_folders = self.recorded()
        ours = set(old_files) | set(old_folders)
        clashes = [p for p in files + folders
                   if os.path.lexists(os.path.join(self.path, p)) and p not in ours]
        clashes += [p for p in folders if p in old_files]
        if clashes:
            raise ExportError(self.shown, f"holds {_names(clashes)}, which the export would "
                              f"replace but {EXPORT_MARKER_FILENAME} does not list",
                              "move them away or pass --out a new or empty directory; "
                              "nothing was deleted")
        self._write_marker(self.path, sorted(set(old_files) | set(files)),
                           sorted(set(old_folders) | set(folders)))
        for relative in old_files:
            self._remove_file(relative)
        for relative in sorted(old_folders, key=lambda p: -p.count(os.sep)):
            target = os.path.join(self.path, relative)
            if os.path.isdir(target) and not os.path.islink(target) and not os.listdir(target):
                os.rmdir(target)  # only when empty: a user's file inside keeps its folder
        for relative in folders:
            os.makedirs(os.path.join(self.path, relative), exist_ok=True)
        for relative in files:
            os.replace(os.path.join(staging, relative), os.path.join(self.path, relative))
        self._write_marker(self.path, files, folders)
        self.discard(staging)
        return files

    def _remove_file(self, relative):
        target = os.path.join(self.path, relative)
        if not os.path.lexists(target):
            return
        if os.path.isdir(target) and not os.path.islink(target):
            return  # a folder where the marker lists a file: left alone, never rmtree'd
        os.unlink(target)  # a symbolic link is removed itself, never its target

    @staticmethod
    def _write_marker(directory, files, folders):
        marker = {"format": MARKER_FORMAT, "version": 1,
                  "note": "Files written by `kerasfer.export`; a new export into this "
                          "directory deletes exactly these and keeps anything else.",
                  "files": list(files), "folders": list(folders)}
        path = os.path.join(directory, EXPORT_MARKER_FILENAME)
        partial = path + ".partial"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(marker, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
