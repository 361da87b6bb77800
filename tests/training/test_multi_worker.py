"""Two real worker processes under `MultiWorkerMirroredStrategy` on localhost.

Checks the acceptance of multi-worker training: both workers exit 0, the sampler's score
table equals a one-worker run with the same global batch and seed (up to float round-off),
the chief alone writes the run directory (one set of checkpoints, evaluation, export), and a
relaunched worker set resumes from the chief's last checkpoint.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from training_helpers import CPU_TINY

pytestmark = pytest.mark.slow

TIMEOUT = 900        # seconds per run: a loaded 2-core machine (load ~20) is slow

# Deterministic tiny run: no augmentation and no dropout, so the only difference between one
# and two workers is the order of float additions (gradient all-reduce, loss scaling).
OVERRIDES = [
    "data.synthetic.num_videos=24", "data.synthetic.num_subjects=4",
    "data.synthetic.image_size=16", "data.synthetic.min_frames=8",
    "data.synthetic.max_frames=12", "data.clip_length=4", "data.image_size=16",
    "data.batch_size=4", "data.augment=false", "model.name=c3d",
    "model.kwargs={width_multiplier: 0.0625}", "model.feature_dropout=0.0",
    "train.learning_rate=0.01", "sampler.warmup_epochs=1", "sampler.exploration_epochs=0",
    "sampler.num_map_videos=2",
]


def free_ports(count):
    """Free loopback ports picked by the OS (kept bound until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def fit_command(run_dir, epochs, evaluate):
    extra = [] if evaluate else ["eval.run_after_fit=false", "eval.export_after_fit=false"]
    return [sys.executable, "-m", "kerasfer.fit", "--config", CPU_TINY, *OVERRIDES, f"train.epochs={epochs}",
            f"run_dir={run_dir}", *extra]


def environment(cache, tf_config=None):
    env = dict(os.environ, KERASFER_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def run_workers(run_dir, cache, epochs, evaluate=True, kill_at=None):
    """Starts two workers on free loopback ports; returns [(returncode, stdout, stderr)].

    With `kill_at` (a checkpoint name), both workers are killed (SIGKILL) as soon as the
    chief's `checkpoints/latest` names it.
    """
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    processes = []
    try:
        for index in range(2):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            processes.append(subprocess.Popen(
                fit_command(run_dir, epochs, evaluate), env=environment(cache, tf_config),
                stdout=subprocess.DEVNULL if kill_at else subprocess.PIPE,
                stderr=subprocess.DEVNULL if kill_at else subprocess.PIPE, text=True))
        if kill_at:
            latest = run_dir / "checkpoints" / "latest"
            deadline = time.time() + TIMEOUT
            while not (latest.exists() and latest.read_text().strip() >= kill_at):
                assert time.time() < deadline, "no checkpoint before the timeout"
                assert all(p.poll() is None for p in processes), "a worker exited early"
                time.sleep(0.1)
            for process in processes:
                os.kill(process.pid, signal.SIGKILL)
            return [(p.wait(), "", "") for p in processes]
        outputs = [p.communicate(timeout=TIMEOUT) for p in processes]
        return [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs)]
    finally:
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def sampler_state(run_dir, epoch):
    path = run_dir / "checkpoints" / f"epoch-{epoch:04d}" / "sampler.npz"
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def test_two_workers_match_one_worker_and_resume(tmp_path):
    cache = tmp_path / "cache"
    # The one-worker reference also fills the synthetic data cache the workers share.
    one = tmp_path / "one"
    reference = subprocess.run(fit_command(one, 2, evaluate=False), env=environment(cache),
                               capture_output=True, text=True, timeout=TIMEOUT)
    assert reference.returncode == 0, reference.stderr[-3000:]

    two = tmp_path / "two"
    results = run_workers(two, cache, epochs=2)
    for index, (code, out, err) in enumerate(results):
        assert code == 0, f"worker {index} exited {code}: {err[-3000:]}"
        assert "best val_accuracy" in out, f"worker {index}: {out[-1000:]}"

    # One score table: every worker's clip scores reached it, as with one worker. Float
    # round-off only (all-reduce order): scores are logits of order 0.1, atol 1e-5.
    for epoch in (1, 2):
        expected, actual = sampler_state(one, epoch), sampler_state(two, epoch)
        assert np.array_equal(expected["table/visits"], actual["table/visits"])
        assert np.array_equal(expected["history/starts"], actual["history/starts"])
        np.testing.assert_allclose(actual["table/values"], expected["table/values"],
                                   rtol=0, atol=1e-5)
    assert np.count_nonzero(sampler_state(two, 2)["table/values"]) > 0

    # The chief alone wrote: one set of checkpoints, no per-worker copy, and the
    # chief's evaluation and export.
    assert (two / "checkpoints" / "latest").read_text().strip() == "epoch-0002"
    assert not list(two.glob("worker-*"))
    assert sorted(p.name for p in two.rglob("latest")) == ["latest"]
    assert (two / "evaluation" / "report.md").exists()
    assert (two / "export").is_dir()
    assert "export: SavedModel written" in results[0][1]
    assert "export:" not in results[1][1]

    # Both workers killed (SIGKILL) after epoch 3 of 6; the relaunched worker set resumes
    # from the chief's last checkpoint, every worker at the same epoch.
    run_workers(two, cache, epochs=6, evaluate=False, kill_at="epoch-0003")
    done = int((two / "checkpoints" / "latest").read_text().strip()[len("epoch-"):])
    assert 3 <= done < 6, f"the kill came too late (after epoch {done})"
    resumed = run_workers(two, cache, epochs=6, evaluate=False)
    for index, (code, out, err) in enumerate(resumed):
        assert code == 0, f"worker {index} exited {code}: {err[-3000:]}"
        assert f"resuming after epoch {done}" in out, f"worker {index}: {out[-1000:]}"
    assert (two / "checkpoints" / "latest").read_text().strip() == "epoch-0006"
    assert sampler_state(two, 6)["history/epochs"].shape == (6,)
    assert not list(two.glob("worker-*"))
