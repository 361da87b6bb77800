"""Issue 12, deterministic bytes: same input → byte-identical shards whatever the hash seed
or the number of workers (records are serialised with `deterministic=True`)."""

import os
import subprocess
import sys

import pytest

from kerasfer import schema

ARGS = ["--detect-every", "10", "--frame-stride", "8", "--crop-size", "32", "--no-progress"]


def build(tmp_path, name, source, hash_seed, workers):
    out = tmp_path / name
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    result = subprocess.run([sys.executable, "-m", "tfrecords_builder", "--source", source,
                             "--out", str(out), "--workers", str(workers)] + ARGS,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # The run says what it does first, and TensorFlow's C++ start-up lines stay hidden.
    assert result.stderr.startswith(f"INFO building {source} -> {out} (local runner, "
                                    f"{workers} worker(s); detector hog every 10 frame(s)")
    assert "cudart_stub" not in result.stderr and "absl" not in result.stderr
    return {name: (out / name).read_bytes() for name in sorted(os.listdir(out))
            if name.endswith(".tfrecord") or name in ("manifest.jsonl", "classes.json",
                                                      "failures.jsonl")}


@pytest.mark.slow  # two builder processes with TensorFlow start-up: ~15 s CPU, more when loaded
def test_hash_seed_and_workers_give_identical_bytes(tmp_path, carphone_path):
    os.symlink(carphone_path, tmp_path / "carphone.mp4")
    os.symlink(carphone_path, tmp_path / "carphone_copy.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_text("path,label,subject\ncarphone.mp4,happy,s1\n"
                                       "empty.mp4,sad,s2\ncarphone_copy.mp4,sad,s2\n")
    source = f"csv:{tmp_path / 'list.csv'}"
    first = build(tmp_path, "seed1", source, hash_seed=1, workers=1)
    second = build(tmp_path, "seed2", source, hash_seed=2, workers=2)
    assert sorted(first) == ["classes.json", "failures.jsonl", "manifest.jsonl",
                             "part-00000.tfrecord"]
    assert first == second  # every shard byte, the manifest and the failures report
    import tensorflow as tf

    for data in tf.data.TFRecordDataset(str(tmp_path / "seed1" / "part-00000.tfrecord")):
        data = data.numpy()
        # Canonical form: re-serialising the parsed example deterministically is a no-op.
        assert tf.train.SequenceExample.FromString(data).SerializeToString(
            deterministic=True) == data
    assert [r["id"] for r in schema.read_manifest(tmp_path / "seed2")] == ["carphone",
                                                                           "carphone_copy"]
