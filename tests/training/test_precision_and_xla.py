"""The `train.mixed_precision` and `train.jit_compile` switches train for real (subprocess:
the mixed-precision policy is process-global)."""

import json

import numpy as np
import pytest

from training_helpers import run_python
from training_helpers import tiny_overrides

SCRIPT = """
import json, sys
import numpy as np
from kerasfer.config import load_config
from kerasfer.training.experiment import Experiment
config = load_config(None, json.loads(sys.argv[1]))
experiment = Experiment(config).setup()
history = experiment.fit()
model = experiment.network
print(json.dumps({
    "policy": experiment.precision,
    "compute_dtypes": sorted({layer.dtype_policy.compute_dtype for layer in model.layers
                              if layer.weights}),
    "variable_dtypes": sorted({str(v.dtype) for v in model.trainable_variables}),
    "jit_compile": bool(experiment.scoring_model.jit_compile),
    "losses": [float(x) for x in history["loss"]],
    "visits": int(experiment.sampler.table.visits.sum()),
}))
"""


@pytest.mark.slow
def test_mixed_precision_and_xla_fit(tiny_dataset_dir, tmp_path):
    overrides = tiny_overrides(tiny_dataset_dir, tmp_path / "run", epochs=2,
                               **{"train.mixed_precision": True, "train.jit_compile": True})
    code = SCRIPT.replace("sys.argv[1]", repr(json.dumps(overrides)))
    result = run_python(code, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # CPU only here: bfloat16 compute, float32 variables (Keras mixed precision).
    assert report["policy"] == "mixed_bfloat16"
    assert "bfloat16" in report["compute_dtypes"]
    assert report["variable_dtypes"] == ["float32"]
    assert report["jit_compile"] is True
    assert len(report["losses"]) == 2 and all(np.isfinite(report["losses"]))
    # Epoch 1 is exploration: one clean score per training video reached the table.
    assert report["visits"] > 0


