"""Multi-worker 2D pretraining: the chief alone trains and writes, the others load its file.

A non-chief worker (from `TF_CONFIG`, as `strategy.worker_task` decides) runs in a real
second process on the same run directory: it must write nothing, wait for the chief's
`pretraining/model_2d.keras` and load exactly that file.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from training_helpers import tiny_overrides

CLUSTER = {"worker": ["localhost:1", "localhost:2"]}      # never dialled: no strategy here
PRETRAIN = {"model.name": "small_cnn_3d", "model.kwargs": "{}",
            "pretrain.model": "small_cnn_2d", "pretrain.source": "cue_frames",
            "pretrain.epochs": 1}

# A non-chief worker: prepares the pretrained backbone, then loads the file it was given.
NON_CHIEF = """
import json, sys
import keras, numpy as np
from kerasfer.config import load_config
from kerasfer.data import DatasetIndex
from kerasfer.training.experiment import make_splits
from kerasfer.training.pretraining import prepare_pretrained_backbone
config = load_config(None, json.loads(sys.argv[1]))
index = DatasetIndex.load(config.data.dir)
train = index.select(ids=make_splits(index, config.data, config.seed)["train"])
path = prepare_pretrained_backbone(config, index, train, config.run_dir)
weights = keras.saving.load_model(path, compile=False).get_weights()
print(json.dumps({"path": path, "pretrained": config.model.pretrained,
                  "checksum": float(sum(np.abs(w).sum() for w in weights))}), flush=True)
"""


def _worker_env(index):
    return json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": index}})


def _split(config):
    from kerasfer.data import DatasetIndex
    from kerasfer.training.experiment import make_splits

    index = DatasetIndex.load(config.data.dir)
    return index, index.select(ids=make_splits(index, config.data, config.seed)["train"])


def test_non_chief_writes_nothing_and_gives_up_after_its_timeout(tiny_config, tmp_path,
                                                                 monkeypatch):
    from kerasfer.training.pretraining import prepare_pretrained_backbone

    config = tiny_config(**PRETRAIN)
    index, train = _split(config)
    monkeypatch.setenv("TF_CONFIG", _worker_env(1))             # worker 1: not the chief
    with pytest.raises(TimeoutError, match="the chief's pretrained 2D model did not appear"):
        prepare_pretrained_backbone(config, index, train, str(tmp_path), wait_timeout=0.2)
    with pytest.raises(TimeoutError):                           # explicit rule, same result
        prepare_pretrained_backbone(config, index, train, str(tmp_path), is_chief=False,
                                    wait_timeout=0.2)
    assert os.listdir(tmp_path) == []                           # not even pretraining/


def test_non_chief_waits_for_and_loads_the_chief_model(tiny_dataset_dir, tmp_path,
                                                       monkeypatch):
    from kerasfer.config import load_config
    from kerasfer.training.pretraining import prepare_pretrained_backbone

    overrides = tiny_overrides(tiny_dataset_dir, tmp_path / "run", **PRETRAIN)
    env = dict(os.environ, TF_CONFIG=_worker_env(1), TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    worker = subprocess.Popen([sys.executable, "-c", NON_CHIEF, json.dumps(overrides)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = worker.stdout.readline()           # blocks until the worker says it waits
        assert line.startswith("pretraining: waiting for the chief's"), \
            line + worker.communicate(timeout=60)[1][-3000:]
        pretraining_dir = tmp_path / "run" / "pretraining"
        assert not pretraining_dir.exists()       # the waiting worker wrote nothing
        # The chief (worker 0 of the same cluster) trains and writes.
        monkeypatch.setenv("TF_CONFIG", _worker_env(0))
        config = load_config(None, overrides)
        index, train = _split(config)
        path = prepare_pretrained_backbone(config, index, train, config.run_dir)
        mtime = os.stat(path).st_mtime_ns
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["path"] == result["pretrained"] == path
    assert "pretraining: loading the chief's" in out
    # One model, written once by the chief (no temporary left, not rewritten by the worker).
    assert sorted(os.listdir(pretraining_dir)) == ["model_2d.keras", "pretraining.json"]
    assert os.stat(path).st_mtime_ns == mtime
    weights = keras.saving.load_model(path, compile=False).get_weights()
    np.testing.assert_allclose(result["checksum"],
                               float(sum(np.abs(w).sum() for w in weights)), rtol=1e-6)
