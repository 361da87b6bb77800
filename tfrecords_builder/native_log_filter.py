"""`filter_native_logs`: keeps TensorFlow's C++ start-up lines out of the builder's terminal."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

# TensorFlow 2.21 writes these through absl before it reads `TF_CPP_MIN_LOG_LEVEL`
# (`I0000 ... cudart_stub.cc:31] Could not find cuda drivers`, `oneDNN custom operations`).
TF_NOISE = re.compile(r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] |WARNING: All log messages "
                      r"before absl::InitializeLog)")
# Apache Beam's DirectRunner worker processes (multi_processing mode) log their harness
# start-up at INFO and a few harmless warnings straight to descriptor 2.
BEAM_NOISE = re.compile(r"^(INFO:(__main__|apache_beam[\w.]*):|WARNING:(root:apitools not found|"
                        r"__main__:No semi_persistent_directory|apache_beam\.options\."
                        r"pipeline_options:Discarding unparseable|apache_beam\.runners\."
                        r"portability\.local_job_service:Worker: severity: WARN))")


def _is_noise(line):
    text = line.decode("utf-8", "replace")
    return bool(TF_NOISE.match(text) or BEAM_NOISE.match(text))


def _pump(read_fd, write_fd):
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not _is_noise(line):
                    os.write(write_fd, line + b"\n")
        if pending and not _is_noise(pending):
            os.write(write_fd, pending)


@contextlib.contextmanager
def filter_native_logs():
    """Drops TensorFlow's native log lines from file descriptor 2 inside the block.

    Python's `sys.stderr` (logging, tqdm) keeps writing to the terminal directly; native
    writes to descriptor 2 (TensorFlow's C++ logging, in this process and in the worker
    processes it starts, which inherit the descriptor) go through a pipe that drops the
    lines matching `TF_NOISE` or `BEAM_NOISE` and passes everything else on. Setting
    `TF_CPP_MIN_LOG_LEVEL` to 0 or 1 yourself turns the filter off.

    Example:

    >>> with filter_native_logs():
    ...     import tensorflow as tf   # no `I0000 ... cudart_stub.cc` lines on the terminal
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("0", "1"):
        yield
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    read_fd, write_fd = os.pipe()
    python_stderr = sys.stderr
    try:
        python_on_fd2 = python_stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. pytest's capture: not descriptor 2
        python_on_fd2 = False
    if python_on_fd2:
        sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding="utf-8",
                               errors="replace")
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, terminal), daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's last writer in this process
        pump.join(timeout=5)
        if python_on_fd2:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.close(terminal)
