"""`benchmarks/sampler_study.py --quick` runs end to end and writes its table, JSON and plots."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_sampler_study_quick_mode(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "sampler_study.py"), "--quick",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=1200, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("results.md", "results.json", "learning_curves.png", "hit_rate.png",
                 "runs.jsonl"):
        assert (tmp_path / name).stat().st_size > 0
    with open(tmp_path / "results.json") as handle:
        summary = json.load(handle)["summary"]
    assert set(summary) == {"uniform/pretrained/apex0.1", "softmax_g1/pretrained/apex0.1"}
    softmax = summary["softmax_g1/pretrained/apex0.1"]
    assert 0.0 <= softmax["uniform_hit_rate"][0] <= 1.0
    for gamma in ("0", "1"):
        assert 0.0 <= softmax["test_accuracy"][gamma][0] <= 100.0
    with open(tmp_path / "runs.jsonl") as handle:
        runs = [json.loads(line) for line in handle]
    phases = [e["phase"] for e in runs[1]["epochs"]]
    assert phases == ["warmup", "exploration", "exploration", "exploitation", "exploitation",
                      "exploitation"]
    # Finished runs are kept: a rerun trains nothing and rewrites the same table.
    again = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "sampler_study.py"), "--quick",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and "run uniform" not in again.stdout
