"""Two real processes prepare one synthetic cache at once; a killed generator is not "ready".

`python -m kerasfer.fit` with an empty `data.dir` prepares the synthetic dataset in
`$KERASFER_CACHE`; under `MultiWorkerMirroredStrategy` every worker does so at the same
moment. One of them must generate, the other wait and reuse the finished cache, and a
generator killed half-way must leave nothing that a later run takes as finished.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

# Tiny settings: 6 videos of 8–12 frames, 16×16 crops (one shard).
TINY = ["data.synthetic.num_videos=6", "data.synthetic.num_subjects=2",
        "data.synthetic.image_size=16", "data.synthetic.min_frames=8",
        "data.synthetic.max_frames=12"]
# Larger, so that a kill lands in the middle of the generation (3 shards).
LARGER = ["data.synthetic.num_videos=80", "data.synthetic.num_subjects=4",
          "data.synthetic.image_size=32", "data.synthetic.min_frames=20",
          "data.synthetic.max_frames=40"]
TIMEOUT = 300

# Imports TensorFlow first, says it is ready, waits for the `go` file, then prepares the
# cache with a progress bar (printed only by a process that generates).
WORKER = """
import json, os, sys, time
import tensorflow
from kerasfer.config import load_config
from kerasfer.data.synthetic.synthetic_cache import prepare_data_dir
config = load_config(None, json.loads(sys.argv[1]))
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.005)
print(json.dumps({"dir": prepare_data_dir(config, progress=True)}))
"""


def _environment(cache):
    env = dict(os.environ, KERASFER_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env


def _config(overrides):
    from kerasfer.config import load_config

    return load_config(None, overrides)


def _files(directory):
    """{relative name: bytes} of the dataset files (not the marker, the lock, parameters)."""
    skip = (".kerasfer-directory.json", ".synthetic.lock", "synthetic.json")
    out = {}
    for root, _, names in os.walk(directory):
        for name in names:
            if name not in skip:
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    out[os.path.relpath(path, directory)] = handle.read()
    return out


def _reference(overrides, cache, monkeypatch):
    """The dataset one process generates alone into `cache`."""
    from kerasfer.data.synthetic.synthetic_cache import prepare_data_dir

    monkeypatch.setenv("KERASFER_CACHE", str(cache))
    return _files(prepare_data_dir(_config(overrides)))


def test_two_processes_prepare_one_cache_once(tmp_path, monkeypatch):
    from kerasfer.data.synthetic.synthetic_cache import synthetic_cache_dir, synthetic_cache_ready

    cache, go = tmp_path / "cache", str(tmp_path / "go")
    processes = [subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(TINY), str(tmp_path / f"p{i}"), go],
        env=_environment(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    try:
        deadline = time.time() + TIMEOUT
        while not all(os.path.exists(tmp_path / f"p{i}.ready") for i in range(2)):
            assert time.time() < deadline and all(p.poll() is None for p in processes), \
                [p.communicate() for p in processes if p.poll() is not None]
            time.sleep(0.05)
        open(go, "w").close()                          # both start at the same moment
        results = [p.communicate(timeout=TIMEOUT) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(processes, results):
        assert p.returncode == 0, err[-3000:]
    monkeypatch.setenv("KERASFER_CACHE", str(cache))
    config = _config(TINY)
    expected_dir = synthetic_cache_dir(config.data.synthetic)
    assert [json.loads(out.strip().splitlines()[-1])["dir"] for out, _ in results] == \
        [expected_dir] * 2
    # Exactly one process generated (its progress bar); the other reused the cache.
    assert sum("synthetic videos" in err for _, err in results) == 1, \
        [err[-2000:] for _, err in results]
    assert synthetic_cache_ready(config.data.synthetic)
    with open(os.path.join(expected_dir, "synthetic.json"), encoding="utf-8") as handle:
        assert json.load(handle)["complete"] is True
    assert not [name for name in os.listdir(expected_dir) if ".tmp" in name]
    assert _files(expected_dir) == _reference(TINY, tmp_path / "alone", monkeypatch)


def test_killed_generator_leaves_no_ready_cache(tmp_path, monkeypatch):
    from kerasfer.data.synthetic.synthetic_cache import (prepare_data_dir, synthetic_cache_dir,
                                                         synthetic_cache_ready)

    cache, go = tmp_path / "cache", str(tmp_path / "go")
    open(go, "w").close()
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(LARGER), str(tmp_path / "p"), go],
        env=_environment(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    monkeypatch.setenv("KERASFER_CACHE", str(cache))
    config = _config(LARGER)
    directory = synthetic_cache_dir(config.data.synthetic)
    shards = []
    try:
        deadline = time.time() + TIMEOUT
        while not shards:              # kill once the first shard is in place
            assert time.time() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.02)
            shards = [name for name in (os.listdir(directory) if os.path.isdir(directory)
                                        else []) if name.endswith(".tfrecord")]
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    assert not os.path.exists(os.path.join(directory, "manifest.jsonl"))
    assert not synthetic_cache_ready(config.data.synthetic)        # half a cache
    # A later run regenerates it completely.
    assert prepare_data_dir(config) == directory
    assert synthetic_cache_ready(config.data.synthetic)


def test_cache_killed_before_it_was_marked_complete_is_not_ready(tmp_path, monkeypatch):
    """A kill between the manifest and the final `synthetic.json` leaves `complete: false`."""
    from kerasfer.data.synthetic.synthetic_cache import (prepare_data_dir, synthetic_cache_dir,
                                                         synthetic_cache_ready)

    monkeypatch.setenv("KERASFER_CACHE", str(tmp_path / "cache"))
    config = _config(TINY)
    directory = prepare_data_dir(config)
    assert directory == synthetic_cache_dir(config.data.synthetic)
    assert synthetic_cache_ready(config.data.synthetic)
    parameters_path = os.path.join(directory, "synthetic.json")
    with open(parameters_path, encoding="utf-8") as handle:
        finished = json.load(handle)
    # The generator's state while it writes: its records say "not complete".
    with open(parameters_path, "w", encoding="utf-8") as handle:
        json.dump(dict(finished, complete=False), handle)
    assert os.path.exists(os.path.join(directory, "manifest.jsonl"))
    assert not synthetic_cache_ready(config.data.synthetic)


def test_regeneration_killed_while_deleting_leaves_no_ready_cache(tmp_path, monkeypatch):
    """New settings in the same directory: the old dataset is marked incomplete before its
    files go, so a kill in the middle of the deletion leaves nothing that looks finished."""
    from kerasfer.data.synthetic import dataset_writer
    from kerasfer.data.synthetic.dataset_writer import write_synthetic_dataset

    tiny = dict(num_videos=4, num_subjects=2, image_size=16, min_frames=8, max_frames=10)
    out = str(tmp_path / "synthetic")
    write_synthetic_dataset(out, seed=0, **tiny)
    old = json.load(open(os.path.join(out, "synthetic.json"), encoding="utf-8"))
    assert old["complete"] is True

    class Killed(Exception):
        pass

    def killed_after_first(self, name, _calls=[]):
        _calls.append(name)
        if len(_calls) > 1:
            raise Killed(name)
        return original(self, name)

    original = dataset_writer.OwnedDirectory.remove
    monkeypatch.setattr(dataset_writer.OwnedDirectory, "remove", killed_after_first)
    with pytest.raises(Killed):
        write_synthetic_dataset(out, seed=1, **tiny)
    monkeypatch.setattr(dataset_writer.OwnedDirectory, "remove", original)
    state = json.load(open(os.path.join(out, "synthetic.json"), encoding="utf-8"))
    assert state["complete"] is False and set(old["files"]) <= set(state["files"])
    assert not dataset_writer._is_cached(out, old["parameters"])
    # Both the old and the new settings regenerate cleanly afterwards.
    write_synthetic_dataset(out, seed=0, **tiny)
    assert json.load(open(os.path.join(out, "synthetic.json"), encoding="utf-8"))["complete"]
