"""Subprocess tests: MirroredStrategy on 2 logical CPUs, and resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from training_helpers import run_python, tiny_overrides
from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler


@pytest.mark.slow
def test_two_logical_devices_give_the_same_score_table_as_one(tiny_dataset_dir, tmp_path):
    from kerasfer import schema
    from kerasfer.data.folds import save_splits

    # Two subjects each side: 6 training videos in 3 batches of 2, so no batch needs padding
    # (padding would change the last batch's loss on two replicas only). No dropout: random
    # masks cannot match between one and two replicas.
    records = schema.read_manifest(tiny_dataset_dir)
    train = [r["id"] for r in records if r["subject"] in ("S000", "S001")]
    validation = [r["id"] for r in records if r["id"] not in train]
    splits_file = save_splits(str(tmp_path / "splits.json"),
                              {"name": "test", "train": train, "validation": validation,
                               "test": []})
    extra = {"model.feature_dropout": 0.0, "data.batch_size": 2, "data.splits_file": splits_file}
    overrides = {name: tiny_overrides(tiny_dataset_dir, tmp_path / name, epochs=3, **extra)
                 for name in ("one", "two")}
    code = f"""
import json
from kerasfer.training.strategy import split_cpu
split_cpu(2)                      # before TensorFlow initialises its devices
from kerasfer.config import load_config
from kerasfer.training.experiment import Experiment
result = {{}}
for name, devices in (("one", "[]"), ("two", "[/cpu:0, /cpu:1]")):
    config = load_config(None, {overrides!r}[name] + ["train.devices=" + devices])
    experiment = Experiment(config).setup()
    experiment.fit()
    sampler = experiment.sampler
    result[name] = {{"replicas": experiment.strategy.num_replicas_in_sync,
                    "values": sampler.table.values.tolist(),
                    "visits": sampler.table.visits.tolist(),
                    "history": {{str(k): v.tolist() for k, v in sampler.history.items()}}}}
print("RESULT" + json.dumps(result))
"""
    process = run_python(code, timeout=1200)   # 6 short runs; slow on a loaded machine
    assert process.returncode == 0, process.stderr[-3000:]
    line = [l for l in process.stdout.splitlines() if l.startswith("RESULT")][-1]
    result = json.loads(line[len("RESULT"):])
    one, two = result["one"], result["two"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["history"] == two["history"]              # same planned clips every epoch
    assert one["visits"] == two["visits"]                # every replica's scores arrived
    assert np.count_nonzero(one["values"]) > 0
    # Equal up to float32 summation order of the all-reduced gradients.
    np.testing.assert_allclose(two["values"], one["values"], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_resume_after_kill_9_mid_epoch(tiny_dataset_dir, tmp_path):
    run_dir = tmp_path / "run"
    marker = tmp_path / "in_epoch_3"
    overrides = tiny_overrides(tiny_dataset_dir, run_dir, epochs=5)
    killed = f"""
import time, keras
from kerasfer.config import load_config
from kerasfer.training.experiment import Experiment

class Hang(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 3:
            open({str(marker)!r}, "w").close()
            time.sleep(120)      # killed here, in the middle of epoch 3
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

Experiment(load_config(None, {overrides!r}), extra_callbacks=[Hang()]).setup().fit()
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen([sys.executable, "-c", killed], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 900     # a loaded 2-core machine is slow
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail("training exited before epoch 3: " + process.stderr.read().decode()[-2000:])
        if time.time() > deadline:
            process.kill()
            pytest.fail("epoch 3 not reached in time")
        time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    checkpoints = run_dir / "checkpoints"
    assert (checkpoints / "latest").read_text().strip() == "epoch-0003"   # 3 epochs done
    with np.load(checkpoints / "epoch-0003" / "sampler.npz") as data:
        saved = {k: data[k] for k in data.files}

    resumed = run_python(f"""
from kerasfer.config import load_config
from kerasfer.training.experiment import Experiment
Experiment(load_config(None, {overrides!r})).setup().fit()
""", timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch 3" in resumed.stdout
    assert (checkpoints / "latest").read_text().strip() == "epoch-0005"
    with np.load(checkpoints / "epoch-0005" / "sampler.npz") as data:
        final = {k: data[k] for k in data.files}
    assert final["history/epochs"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(final["history/starts"][:3], saved["history/starts"])
    # Epoch 3's plan is the one the checkpointed sampler state produces.
    lengths = saved["table/lengths"]
    expected = TemporalStochasticSoftmaxSampler(lengths, int(saved["table/clip_length"]),
                                                warmup_epochs=1, exploration_epochs=1)
    expected.set_state(saved)
    np.testing.assert_array_equal(final["history/starts"][3], expected.plan(3))
    # Epochs 1–4 each scored every video once (epoch 0 is warm-up).
    assert final["table/visits"].sum() == 4 * len(lengths)
    with open(checkpoints / "epoch-0005" / "state.json") as handle:
        state = json.load(handle)
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4, 5]
    assert not any(name.startswith("tmp-") for name in os.listdir(checkpoints))
