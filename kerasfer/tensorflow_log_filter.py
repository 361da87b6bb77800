"""Keeps TensorFlow's C++ start-up log out of a CLI's terminal (`--verbose` shows it).

TensorFlow 2.21 writes lines such as `I0000 ... cudart_stub.cc:31] Could not find cuda
drivers`, `E0000 ... failed call to cuInit`, `E0000 ... remapper failed` or `Compiled cluster
using XLA!` straight to file descriptor 2 from C++, many of them before its logging is
initialised, so `TF_CPP_MIN_LOG_LEVEL` does not hide them all. `filter_tensorflow_log()`
puts a pipe in front of descriptor 2 and forwards everything except lines in absl's C++ log
format (`[IWE]MMDD hh:mm:ss.us thread file:line] ...`), absl's "All log messages before
absl::InitializeLog()" notice and TensorFlow's CPU-feature banner. Python tracebacks,
warnings, kerasfer's messages and progress bars (`\\r` updates) pass through unchanged; fatal
(`F...`) C++ lines are kept. It is meant for `python -m kerasfer.fit` / `kerasfer.evaluate`
only, not for library use.

Example:

>>> if __name__ == "__main__":
...     filter_tensorflow_log()          # before TensorFlow is imported
...     sys.exit(main())
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

_NOISE = re.compile(
    rb"^(?:[IWE]\d{4} \d+:\d+:\d+\.\d+ +\d+ [^\]]+\] .*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate "
    rb"compiler flags\.)\r?\n?$")


def is_tensorflow_noise(line):
    """True for one line (bytes) of TensorFlow's C++ log that the filter drops."""
    return bool(_NOISE.match(line))


def filter_tensorflow_log():
    """Filters file descriptor 2 for the rest of the process (see the module docstring).

    Also sets `TF_CPP_MIN_LOG_LEVEL=3` unless the user set it. Returns False (and does
    nothing) when descriptor 2 cannot be replaced.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        original = os.dup(2)
        read_end, write_end = os.pipe()
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:
        return False

    def forward():
        pending = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            pending += chunk
            # Complete pieces end with "\n" (lines) or "\r" (progress-bar updates).
            pieces = re.split(rb"(?<=[\n\r])", pending)
            pending = pieces.pop()
            for piece in pieces:
                if not is_tensorflow_noise(piece):
                    os.write(original, piece)
        if pending and not is_tensorflow_noise(pending):
            os.write(original, pending)
        os.close(read_end)

    thread = threading.Thread(target=forward, name="tensorflow-log-filter", daemon=True)
    thread.start()

    def restore():
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)          # closes the pipe's last write end: the reader drains
        thread.join(timeout=5)

    atexit.register(restore)
    return True
