"""`--runner beam` (Apache Beam DirectRunner) writes what `--runner local` writes, byte for byte."""

import os

import pytest

from kerasfer import schema
from tfrecords_builder.cli import main

beam = pytest.importorskip("apache_beam", reason="apache-beam is not installed: "
                           "pip install -e '.[beam]' to run the Beam runner test")

FAST = ["--detect-every", "10", "--frame-stride", "8", "--crop-size", "32",
        "--videos-per-shard", "2", "--no-progress"]
OUTPUTS = ("classes.json", "failures.jsonl", "manifest.jsonl")


def outputs(out):
    names = sorted(n for n in os.listdir(out) if n.endswith(".tfrecord") or n in OUTPUTS)
    return {name: (out / name).read_bytes() for name in names}


@pytest.fixture(scope="module")
def mixed_source(tmp_path_factory, carphone_path):
    """Three good videos (the real carphone sample, twice, and a synthetic face mp4) among
    five bad entries: empty file, text named .mp4, missing file, unknown label, duplicate id."""
    from kerasfer.data.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("mixed")
    synthetic = write_synthetic_dataset(str(root / "syn"), num_videos=1, num_subjects=1,
                                        image_size=48, min_frames=16, max_frames=16,
                                        write_mp4=True, class_names=("happy",))
    os.symlink(carphone_path, root / "carphone.mp4")
    os.symlink(carphone_path, root / "carphone_b.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("not a video\n")
    rows = ["carphone.mp4,happy", "empty.mp4,sad", "syn/videos/syn00000.mp4,happy",
            "notes.mp4,sad", "missing.mp4,sad", "carphone_b.mp4,sad", "carphone.mp4,sad",
            "carphone.avi,angry"]
    os.symlink(carphone_path, root / "carphone.avi")  # same id as carphone.mp4: duplicate
    (root / "list.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    assert os.path.exists(os.path.join(synthetic, "videos", "syn00000.mp4"))
    return f"csv:{root / 'list.csv'}", root


@pytest.mark.slow  # two builds of 8 entries + a rerun: ~14 s CPU, ~55 s on the loaded machine
def test_beam_runner_equals_local_runner_byte_for_byte(mixed_source, tmp_path, capsys):
    source, _ = mixed_source
    local, beam_out = tmp_path / "local", tmp_path / "beam"
    assert main(["--source", source, "--out", str(local), "--classes", "happy,sad"] + FAST) == 0
    local_log = capsys.readouterr().err
    assert main(["--source", source, "--out", str(beam_out), "--runner", "beam",
                 "--classes", "happy,sad"] + FAST) == 0
    beam_log = capsys.readouterr().err
    expected = outputs(local)
    assert sorted(expected) == ["classes.json", "failures.jsonl", "manifest.jsonl",
                                "part-00000.tfrecord", "part-00001.tfrecord"]
    assert outputs(beam_out) == expected  # shards, manifest, classes and failures
    assert [r["id"] for r in schema.read_manifest(beam_out)] == [
        "carphone", "syn/videos/syn00000", "carphone_b"]
    failures = [line.split("]")[0] for line in beam_log.splitlines() if "failed" in line]
    assert failures == [line.split("]")[0] for line in local_log.splitlines() if "failed" in line]
    assert len(failures) == 5  # one line per bad entry, the job carried on
    assert not [n for n in os.listdir(beam_out) if ".tmp" in n or n.startswith(".beam")]

    # A rerun skips the finished videos, retries the bad ones and leaves every file as it was.
    assert main(["--source", source, "--out", str(beam_out), "--runner", "beam",
                 "--classes", "happy,sad"] + FAST) == 0
    rerun_log = capsys.readouterr().err
    assert "3 already done, 2 to process" in rerun_log, rerun_log  # failed ones retried
    assert outputs(beam_out) == expected


@pytest.mark.slow
def test_beam_runner_resumes_a_local_build_and_numbers_shards_on(mixed_source, tmp_path):
    source, root = mixed_source
    first = root / "first.csv"
    first.write_text("path,label\ncarphone.mp4,happy\n")
    out = tmp_path / "resume"
    assert main(["--source", f"csv:{first}", "--out", str(out), "--classes", "happy,sad"]
                + FAST) == 0
    assert main(["--source", source, "--out", str(out), "--runner", "beam",
                 "--beam-options=--direct_num_workers=1", "--classes", "happy,sad"]
                + FAST) == 0
    manifest = schema.read_manifest(out)
    assert [(r["id"], r["shard"]) for r in manifest] == [
        ("carphone", "part-00000.tfrecord"), ("syn/videos/syn00000", "part-00001.tfrecord"),
        ("carphone_b", "part-00001.tfrecord")]


def test_strict_needs_the_local_runner(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--source", "csv:x.csv", "--out", "o", "--runner", "beam", "--strict"])
    assert info.value.code == 2
    assert "--strict needs --runner local" in capsys.readouterr().err
