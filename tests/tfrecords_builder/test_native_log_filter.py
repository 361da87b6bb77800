"""The builder keeps TensorFlow's C++ start-up lines (and Beam's harness chatter) off stderr."""

import subprocess
import sys

CODE = r"""
import os, sys
from tfrecords_builder.native_log_filter import filter_native_logs
with filter_native_logs():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1796185678.165605    4521 cudart_stub.cc:31] Could not find cuda drivers\n")
    os.write(2, b"INFO:apache_beam.runners.worker.sdk_worker:Control channel established.\n")
    os.write(2, b"a native error the user must see\n")
    print("python stderr line", file=sys.stderr)
    os.write(2, b"no newline at the end")
print("after", file=sys.stderr)
"""


def test_only_the_noise_is_dropped():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"} | _pythonpath())
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "a native error the user must see" in lines and "python stderr line" in lines
    assert result.stderr.endswith("no newline at the endafter\n")  # order kept, nothing lost
    assert not [line for line in lines if "cudart" in line or "absl" in line
                or "apache_beam" in line]


def test_tf_cpp_min_log_level_0_turns_the_filter_off():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                            timeout=60, env={"TF_CPP_MIN_LOG_LEVEL": "0"} | _pythonpath())
    assert "cudart_stub.cc:31] Could not find cuda drivers" in result.stderr


def _pythonpath():
    import os

    return {key: value for key, value in os.environ.items()
            if key in ("PYTHONPATH", "HOME", "PATH", "VIRTUAL_ENV")}
