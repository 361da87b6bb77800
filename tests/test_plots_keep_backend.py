"""Plotting never switches the process's matplotlib backend (inline notebook plots survive)."""

import subprocess
import sys

import pytest

SCRIPT = """
import matplotlib
matplotlib.use("svg")
import numpy as np
from kerasfer.evaluation import plots
plots.plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], "cm.png")
plots.plot_per_class_recall([0.75, 1.0], ["a", "b"], "recall.png")
from kerasfer.training.confusion_matrix_callback import render_confusion_matrix
png = render_confusion_matrix(np.array([[3, 1], [0, 4]]), ["a", "b"])
assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
print(matplotlib.get_backend())
"""


@pytest.mark.slow
def test_plots_leave_the_backend_alone(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "svg"
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
