"""`python -m tfrecords_builder` end to end on real videos: bad input, resume, workers, kill."""

import collections
import dataclasses
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from kerasfer import schema
from tfrecords_builder import VideoItem
from tfrecords_builder.cli import build_parser, face_options, main
from tfrecords_builder.face_options import FaceOptions

# Small settings keep each real video well under a second: 30 of carphone's 120 frames.
FAST = ["--detect-every", "5", "--frame-stride", "4", "--no-progress"]


def write_csv(path, rows):
    path.write_text("path,label\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return str(path)


def failure_rows(out):
    with open(os.path.join(out, "failures.jsonl")) as handle:
        return [json.loads(line) for line in handle]


def read_records(out):
    """{id: serialized example} over every visible shard (asserting no id repeats)."""
    import tensorflow as tf

    records = {}
    for path in sorted(glob.glob(os.path.join(out, "*.tfrecord"))):
        for data in tf.data.TFRecordDataset(path):
            video_id = schema.parse_video_example(data)["id"].numpy().decode()
            assert video_id not in records, f"{video_id} written twice"
            records[video_id] = data.numpy()
    return records


def snapshot(out):
    return {name: (os.stat(os.path.join(out, name)).st_mtime_ns,
                   open(os.path.join(out, name), "rb").read()) for name in os.listdir(out)}


@pytest.fixture(scope="module")
def mixed_job(tmp_path_factory, carphone_path, bikes_path):
    """One job over a good video and every kind of bad input; returns what it produced."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copy(carphone_path, root / "carphone.mp4")
    shutil.copy(bikes_path, root / "bikes.mp4")
    data = open(carphone_path, "rb").read()
    (root / "truncated.mp4").write_bytes(data[: len(data) * 2 // 5])
    (root / "zero.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("this is a text file, not a video\n")
    os.symlink(root / "carphone.mp4", root / "angry_clip.mp4")
    csv_path = write_csv(root / "list.csv", [
        ("carphone.mp4", "happy"), ("bikes.mp4", "happy"), ("truncated.mp4", "sad"),
        ("zero.mp4", "sad"), ("notes.mp4", "happy"), ("missing.mp4", "sad"),
        ("carphone.mp4", "sad"), ("angry_clip.mp4", "angry")])
    out, log = str(root / "out"), str(root / "build.log")
    argv = ["--source", f"csv:{csv_path}", "--out", out, "--classes", "happy,sad",
            "--log-file", log] + FAST
    return {"root": root, "out": out, "log": log, "argv": argv, "status": main(argv)}


def test_mixed_job_writes_the_good_video_and_reports_each_bad_one(mixed_job, capsys):
    out = mixed_job["out"]
    assert mixed_job["status"] == 0
    manifest = schema.read_manifest(out)
    assert [r["id"] for r in manifest] == ["carphone"]
    assert schema.read_classes(out) == ["happy", "sad"]
    kinds = collections.Counter((row["id"], row["kind"]) for row in failure_rows(out))
    assert kinds == {("bikes", "no_face"): 1, ("truncated", "decode"): 1, ("zero", "decode"): 1,
                     ("notes", "decode"): 1, ("missing", "decode"): 1,
                     ("carphone", "duplicate"): 1, ("angry_clip", "label"): 1}
    for row in failure_rows(out):
        assert row["path"] and row["cause"] and row["fix"]
    with open(mixed_job["log"]) as handle:
        log = handle.read()
    failed_lines = [line for line in log.splitlines() if " failed " in line]
    assert len(failed_lines) == 7
    assert any("zero.mp4" in line and "empty" in line for line in failed_lines)
    assert "1 written, 0 skipped (already done), 7 failed, of 8 listed" in log


def test_written_video_round_trips_and_equals_direct_processing(mixed_job):
    from tfrecords_builder.process import process_video
    from tfrecords_builder.writer import encode_processed_video

    (record,) = schema.read_manifest(mixed_job["out"])
    data = read_records(mixed_job["out"])["carphone"]
    parsed = schema.parse_video_example(data)
    frames = schema.decode_frames(parsed["jpeg"]).numpy()
    assert frames.shape == (record["frames_kept"], 112, 112, 3)
    assert record["frames_total"] == 30 and record["frames_kept"] >= 28
    assert int(parsed["num_frames"]) == record["frames_kept"]
    assert int(parsed["label"]) == record["label"] == 0
    landmarks = parsed["landmarks"].numpy()
    assert landmarks.shape == (record["frames_kept"], 68, 2)
    assert ((landmarks > -10) & (landmarks < 122)).all()  # aligned into the crop
    item = VideoItem(path=str(mixed_job["root"] / "carphone.mp4"), video_id="carphone",
                     label_name="happy")
    direct = process_video(item, face_options(build_parser().parse_args(mixed_job["argv"])))
    np.testing.assert_array_equal(landmarks, direct.landmarks)
    assert data == encode_processed_video(item, direct, label=0)


def test_all_bad_job_fails(tmp_path, capsys):
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("hello\n")
    csv_path = write_csv(tmp_path / "list.csv", [("zero.mp4", "a"), ("notes.mp4", "a"),
                                                 ("missing.mp4", "b")])
    assert main(["--source", f"csv:{csv_path}", "--out", str(tmp_path / "out")] + FAST) == 1
    assert len(failure_rows(tmp_path / "out")) == 3
    assert glob.glob(str(tmp_path / "out" / "*.tfrecord")) == []
    assert "0 written, 0 skipped (already done), 3 failed" in capsys.readouterr().out
    # An unreadable source is one line (file, cause, fix) and exit status 1.
    assert main(["--source", f"csv:{tmp_path / 'nope.csv'}", "--out", str(tmp_path / "o")]) == 1
    assert f"ERROR {tmp_path / 'nope.csv'}: CSV file not found. check the path" in \
        capsys.readouterr().err


def test_strict_stops_at_the_first_error(tmp_path, carphone_path, capsys):
    (tmp_path / "zero.mp4").write_bytes(b"")
    csv_path = write_csv(tmp_path / "list.csv", [("zero.mp4", "a"), (carphone_path, "a")])
    out = tmp_path / "out"
    assert main(["--source", f"csv:{csv_path}", "--out", str(out), "--strict"] + FAST) == 1
    assert [row["id"] for row in failure_rows(out)] == ["zero"]
    assert glob.glob(str(out / "*.tfrecord")) == []
    assert "stopped early: strict" in capsys.readouterr().out


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory, carphone_path):
    root = tmp_path_factory.mktemp("two")
    for name in ("a", "b"):
        os.symlink(carphone_path, root / f"{name}.mp4")
    return write_csv(root / "list.csv", [("a.mp4", "x"), ("b.mp4", "y")]), root


@pytest.mark.slow
def test_workers_give_the_same_bytes_and_resume_writes_nothing(two_videos, capsys):
    csv_path, root = two_videos
    outputs = {}
    for workers in (1, 2):
        out = str(root / f"out{workers}")
        argv = ["--source", f"csv:{csv_path}", "--out", out, "--workers", str(workers),
                "--videos-per-shard", "1"] + FAST
        assert main(argv) == 0
        outputs[workers] = read_records(out)
    assert sorted(outputs[1]) == ["a", "b"]
    assert outputs[1] == outputs[2]
    # Resume: nothing is rewritten, no shard added, and the run says so.
    before = snapshot(root / "out1")
    capsys.readouterr()
    assert main(["--source", f"csv:{csv_path}", "--out", str(root / "out1")] + FAST) == 0
    assert snapshot(root / "out1") == before
    assert "all 2 videos were already done" in capsys.readouterr().out
    # Resuming with another crop size would mix sizes in one dataset: refused, nothing changes.
    assert main(["--source", f"csv:{csv_path}", "--out", str(root / "out1"), "--crop-size", "64"]
                + FAST) == 1
    assert "pass --crop-size 112 to resume, or --overwrite" in capsys.readouterr().err
    assert snapshot(root / "out1") == before


def _start_and_stop(argv, out, lines, signum):
    """Starts the CLI in a subprocess, sends `signum` once the manifest has `lines` lines."""
    process = subprocess.Popen([sys.executable, "-m", "tfrecords_builder"] + argv,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if manifest.exists() and manifest.read_text().count("\n") >= lines:
            break
        time.sleep(0.05)
    os.kill(process.pid, signum)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def copies(tmp_path, carphone_path, count):
    ids = [f"copy{i}" for i in range(count)]
    for video_id in ids:
        os.symlink(carphone_path, tmp_path / f"{video_id}.mp4")
    return ids, write_csv(tmp_path / "list.csv", [(f"{i}.mp4", "x") for i in ids])


def test_ctrl_c_drops_the_unfinished_shard_and_rerun_completes(tmp_path, carphone_path,
                                                               monkeypatch):
    import tfrecords_builder.process

    ids, csv_path = copies(tmp_path, carphone_path, 5)
    out = tmp_path / "out"
    argv = ["--source", f"csv:{csv_path}", "--out", str(out), "--videos-per-shard", "2",
            "--detect-every", "10", "--frame-stride", "8", "--no-progress"]
    real, calls = tfrecords_builder.process.process_video, []

    def interrupted_on_fourth_video(item, options):
        calls.append(item.video_id)
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, mid-video
            time.sleep(1)
        return real(item, options)

    monkeypatch.setattr(tfrecords_builder.process, "process_video", interrupted_on_fourth_video)
    assert main(argv) == 130
    monkeypatch.setattr(tfrecords_builder.process, "process_video", real)
    # The shard holding copy2 (and copy3 in progress) was dropped, not left half-written.
    assert [r["id"] for r in schema.read_manifest(out)] == ids[:2]
    assert sorted(os.listdir(out)) == [".builder.lock", ".kerasfer-directory.json",
                                       "classes.json", "face_options.json", "failures.jsonl",
                                       "manifest.jsonl", "part-00000.tfrecord"]
    assert main(argv) == 0
    assert sorted(read_records(out)) == ids


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_writes_every_video_once(tmp_path, carphone_path):
    ids, csv_path = copies(tmp_path, carphone_path, 8)
    out = tmp_path / "out"
    argv = ["--source", f"csv:{csv_path}", "--out", str(out), "--videos-per-shard", "2",
            "--detect-every", "10", "--frame-stride", "4", "--no-progress"]
    process = subprocess.Popen([sys.executable, "-m", "tfrecords_builder", "--workers", "2"] +
                               argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if manifest.exists() and manifest.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                             text=True).stdout.split()
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not finished
    assert workers  # the worker processes notice and exit instead of lingering
    deadline = time.monotonic() + 15
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)
    done_before = [r["id"] for r in schema.read_manifest(out)]
    assert 2 <= len(done_before) < len(ids)
    read_records(out)  # every visible shard is complete (a partial one fails to read)
    assert main(argv) == 0
    manifest = schema.read_manifest(out)
    assert [r["id"] for r in manifest][: len(done_before)] == done_before
    assert sorted(r["id"] for r in manifest) == ids
    assert sorted(read_records(out)) == ids
    assert {r["shard"] for r in manifest} == \
        {os.path.basename(p) for p in glob.glob(str(out / "*.tfrecord"))}
    assert not [name for name in os.listdir(out) if ".tmp" in name]


def test_help_documents_every_option():
    result = subprocess.run([sys.executable, "-m", "tfrecords_builder", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--source", "--out", "--demo", "--detector", "--detect-every",
                   "--detection-max-side", "--upsample", "--crop-size", "--jpeg-quality",
                   "--keep-frames-without-face", "--frame-stride", "--target-fps",
                   "--no-detect", "--workers", "--videos-per-shard", "--overwrite", "--strict",
                   "--classes", "--log-file", "--no-progress"):
        assert option in result.stdout
    for field in dataclasses.fields(FaceOptions):
        assert "--" + field.name.replace("_", "-") in result.stdout
    for action in build_parser()._actions:
        assert action.help, action.option_strings


def test_flags_map_onto_face_options():
    parser = build_parser()
    args = parser.parse_args(["--out", "o", "--demo", "--detector", "haar", "--detect-every", "3",
                              "--detection-max-side", "200", "--upsample", "0", "--crop-size", "64",
                              "--jpeg-quality", "75", "--keep-frames-without-face",
                              "--frame-stride", "2", "--target-fps", "12.5"])
    assert face_options(args) == FaceOptions(
        detector="haar", detect_every=3, detection_max_side=200, upsample=0, crop_size=64,
        jpeg_quality=75, keep_frames_without_face=True, frame_stride=2, target_fps=12.5)
    assert face_options(parser.parse_args(["--out", "o", "--no-detect"])).detector == "none"
    assert face_options(parser.parse_args(["--out", "o"])) == FaceOptions()
    for bad in (["--jpeg-quality", "0"], ["--workers", "0"], [], ["--detector", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["--out", "o"] + bad + ([] if bad == [] else ["--demo"]))
        assert exit_info.value.code == 2


def test_demo_builds_the_bundled_video(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["--demo", "--out", str(out), "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    assert f"output: {out}" in stdout and "1 written" in stdout
    (record,) = schema.read_manifest(out)
    assert record["id"] == "carphone" and record["frames_total"] == 120
    assert record["frames_kept"] >= 110


def fake_or_crash(item, options):
    """Importable by spawned workers: kills its own process on ids starting with `crash`."""
    if item.video_id.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    from tfrecords_builder import ProcessedVideo

    frames = 1 + len(item.video_id) % 3
    return ProcessedVideo(jpeg_frames=[TINY_JPEG] * frames,
                          landmarks=np.full((frames, 68, 2), len(item.video_id), np.float32),
                          boxes=np.zeros((frames, 4), np.float32),
                          timestamps=np.arange(frames, dtype=np.float32),
                          detected=np.ones(frames, bool), crop_size=8, fps=10.0,
                          frames_total=frames)


TINY_JPEG = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()


def test_a_video_that_crashes_its_worker_is_reported_and_the_job_goes_on(tmp_path):
    from tfrecords_builder.build_job import BuildJob
    from tfrecords_builder.sources import ItemList

    names = ["a", "bb", "crash1", "ccc", "dddd", "e"]
    for name in names:
        (tmp_path / f"{name}.mp4").write_bytes(b"x")
    source = ItemList([VideoItem(path=str(tmp_path / f"{n}.mp4"), video_id=n, label_name="x")
                       for n in names])
    outputs = {}
    for workers in (2, 1):
        out = tmp_path / f"out{workers}"
        job = BuildJob(source, out, workers=workers, progress=False, process_fn=fake_or_crash)
        if workers == 1:  # in-process, a crash would kill pytest: leave the crashing ones out
            job.source = ItemList([i for i in source.items() if not i.video_id.startswith("crash")])
        summary = job.run()
        assert summary.written == 5 and summary.succeeded
        outputs[workers] = read_records(out)
    rows = failure_rows(tmp_path / "out2")
    assert [(r["id"], r["kind"]) for r in rows] == [("crash1", "decode")]
    assert "worker process crashed" in rows[0]["cause"]
    assert outputs[2] == outputs[1]
