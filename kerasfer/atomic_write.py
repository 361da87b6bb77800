"""Atomic file writes that never write through a symbolic link.

Every file kerasfer replaces in place (`config.yaml`, `classes.json`, reports, caches) is
written to a new temporary file next to it, flushed, fsynced and renamed over it with
`os.replace`: a reader sees the old file or the new one, never half of one, and a kill or a
failed write keeps the old file.

The temporary file is created with `O_CREAT | O_EXCL | O_NOFOLLOW`: it must not exist yet,
so a symbolic link (or any file) planted at its name is neither followed nor truncated
nor deleted. The first name tried is `<path>.tmp-<pid>`, a name tool records can list for
clean-up after a kill; when something already stands there a fresh random name
`<path>.tmp-<pid>-<hex>` is taken instead. `os.replace` replaces `path` itself, never the
target of a link standing at `path`.

Example:

>>> write_text_atomic("runs/x/config.yaml", "seed: 1\\n")
>>> with atomic_writer("cache.pkl", binary=True) as handle:
...     pickle.dump(value, handle)
"""

from __future__ import annotations

import contextlib
import os
import secrets

_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) |
          getattr(os, "O_CLOEXEC", 0))
_ATTEMPTS = 16


def temporary_name(path, suffix=""):
    """Returns the first temporary name `atomic_writer` tries for `path`.

    Args:
        path: str. The file to be replaced.
        suffix: str. Appended after the process id (e.g. ".keras"). Defaults to "".
    """
    return f"{path}.tmp-{os.getpid()}{suffix}"


def create_temporary(path, suffix=""):
    """Creates and opens a new temporary file next to `path`, never through a link.

    Args:
        path: str. The file the temporary will replace.
        suffix: str. Ending of the temporary name. Defaults to "".

    Returns:
        (fd, name): an open write-only descriptor (mode 0o644 before the umask) and the
        temporary file's path. The caller owns both.

    Raises:
        FileExistsError: every name tried already exists (nothing was created).
    """
    path = os.fspath(path)
    name = temporary_name(path, suffix)
    for _ in range(_ATTEMPTS):
        try:
            return os.open(name, _FLAGS, 0o644), name
        except FileExistsError:
            # Not ours (a planted link, another writer, a killed run's leftover): leave it.
            name = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    raise FileExistsError(f"{path}: {_ATTEMPTS} temporary names next to it already exist; "
                          "remove the leftover `.tmp-` files and retry")


@contextlib.contextmanager
def atomic_writer(path, binary=False, encoding="utf-8"):
    """Opens a handle whose content replaces `path` atomically when the block ends.

    If the block raises, the temporary file is removed and `path` is left as it was.

    Args:
        path: str or PathLike. The file to write.
        binary: bool. Yield a binary handle instead of a text one. Defaults to False.
        encoding: str. Text encoding (text mode only). Defaults to "utf-8".

    Yields:
        A writable file object.
    """
    path = os.fspath(path)
    fd, temporary = create_temporary(path)
    try:
        with os.fdopen(fd, "wb" if binary else "w",
                       encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)     # our own file; unlink never follows a link
        raise


def write_bytes_atomic(path, data):
    """Replaces `path` by the bytes `data` atomically (see `atomic_writer`).

    Args:
        path: str or PathLike. The file to write.
        data: bytes-like. The new content.
    """
    with atomic_writer(path, binary=True) as handle:
        handle.write(data)


def write_text_atomic(path, text, encoding="utf-8"):
    """Replaces `path` by the string `text` atomically (see `atomic_writer`).

    Args:
        path: str or PathLike. The file to write.
        text: str. The new content.
        encoding: str. Defaults to "utf-8".
    """
    with atomic_writer(path, encoding=encoding) as handle:
        handle.write(text)
