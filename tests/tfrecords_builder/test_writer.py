"""DatasetWriter / FailureLog / class list: shards, manifest, crash recovery, resume."""

import glob
import json
import os

import cv2
import numpy as np
import pytest

from kerasfer import schema
from kerasfer.errors import LabelError, SchemaError, VideoDecodeError
from tfrecords_builder import ProcessedVideo, VideoItem
from tfrecords_builder.class_list import parse_classes_argument, resolve_classes
from tfrecords_builder.failure_log import FailureLog
from tfrecords_builder.writer import DatasetWriter, encode_processed_video


def make_video(seed, frames=3, crop_size=24, frame_labels=False):
    rng = np.random.default_rng(seed)
    jpegs = [cv2.imencode(".jpg", rng.integers(0, 255, (crop_size, crop_size, 3), np.uint8))[1]
             .tobytes() for _ in range(frames)]
    return ProcessedVideo(
        jpeg_frames=jpegs,
        landmarks=rng.uniform(0, crop_size, (frames, 68, 2)).astype(np.float32),
        boxes=rng.uniform(0, 100, (frames, 4)).astype(np.float32),
        timestamps=(np.arange(frames) / 25.0).astype(np.float32),
        detected=rng.random(frames) > 0.3,
        crop_size=crop_size, fps=25.0, frames_total=frames + 2,
        frame_labels=rng.uniform(0, 16, frames).astype(np.float32) if frame_labels else None,
    )


def make_item(index, label="happy"):
    return VideoItem(path=f"/data/v{index}.mp4", video_id=f"clips/v{index}", label_name=label,
                     subject=f"s{index % 2}", split="train")


def read_shard(path):
    import tensorflow as tf

    return [record.numpy() for record in tf.data.TFRecordDataset(path)]


def shard_names(directory):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(directory, "*.tfrecord")))


def test_shards_manifest_and_round_trip(tmp_path):
    videos = {i: make_video(i, frames=2 + i, frame_labels=i % 2 == 0) for i in range(5)}
    with DatasetWriter(tmp_path, videos_per_shard=2) as writer:
        for i, video in videos.items():
            writer.write(make_item(i), video, label=i % 3)
    assert shard_names(tmp_path) == ["part-00000.tfrecord", "part-00001.tfrecord",
                                     "part-00002.tfrecord"]
    records = schema.read_manifest(tmp_path)
    assert [r["id"] for r in records] == [f"clips/v{i}" for i in range(5)]
    assert [r["shard"] for r in records] == ["part-00000.tfrecord"] * 2 + \
        ["part-00001.tfrecord"] * 2 + ["part-00002.tfrecord"]
    by_id = {}
    for name in shard_names(tmp_path):
        for data in read_shard(os.path.join(tmp_path, name)):
            parsed = schema.parse_video_example(data)
            by_id[parsed["id"].numpy().decode()] = (name, parsed, data)
    for i, record in enumerate(records):
        name, parsed, data = by_id[record["id"]]
        video = videos[i]
        assert name == record["shard"]
        assert data == encode_processed_video(make_item(i), video, i % 3)
        assert int(parsed["num_frames"]) == record["frames_kept"] == video.frames_kept
        assert record["frames_total"] == video.frames_total
        assert record["has_frame_labels"] == (video.frame_labels is not None)
        frames = schema.decode_frames(parsed["jpeg"]).numpy()
        assert frames.shape == (video.frames_kept, 24, 24, 3) and frames.dtype == np.uint8
        np.testing.assert_allclose(parsed["landmarks"].numpy(), video.landmarks, atol=1e-5)
        np.testing.assert_allclose(parsed["box"].numpy(), video.boxes, atol=1e-4)
        np.testing.assert_array_equal(parsed["detected"].numpy(), video.detected)
        assert int(parsed["label"]) == i % 3 and parsed["subject"].numpy() == f"s{i % 2}".encode()
        if video.frame_labels is not None:
            np.testing.assert_allclose(parsed["frame_label"].numpy(), video.frame_labels)
        else:
            assert np.isnan(parsed["frame_label"].numpy()).all()


def test_unfinished_shard_is_invisible_and_dropped_on_reopen(tmp_path):
    writer = DatasetWriter(tmp_path, videos_per_shard=2)
    for i in range(3):
        writer.write(make_item(i), make_video(i), label=0)
    # Simulate kill -9: the third video sits in a temporary shard, nothing is closed.
    writer._writer.flush()
    os.close(writer._lock_fd)
    assert shard_names(tmp_path) == ["part-00000.tfrecord"]
    assert os.path.exists(tmp_path / "part-00001.tfrecord.tmp")
    reopened = DatasetWriter(tmp_path, videos_per_shard=2)
    assert not os.path.exists(tmp_path / "part-00001.tfrecord.tmp")
    assert reopened.done_ids == {"clips/v0", "clips/v1"}
    reopened.write(make_item(2), make_video(2), label=0)
    reopened.close()
    assert shard_names(tmp_path) == ["part-00000.tfrecord", "part-00001.tfrecord"]
    assert [r["id"] for r in schema.read_manifest(tmp_path)] == ["clips/v0", "clips/v1", "clips/v2"]


@pytest.mark.parametrize("torn", [False, True])
def test_commit_interrupted_after_the_rename_is_completed_on_reopen(tmp_path, monkeypatch, torn):
    with DatasetWriter(tmp_path, videos_per_shard=1) as writer:
        for i in range(2):
            writer.write(make_item(i), make_video(i), label=0)
    finished = (tmp_path / "part-00000.tfrecord").read_bytes()
    manifest = (tmp_path / "manifest.jsonl").read_bytes()
    # kill -9 after renaming shard 2 and before (or in the middle of) its manifest append.
    writer = DatasetWriter(tmp_path, videos_per_shard=1)

    def killed(records):
        if torn:
            with open(tmp_path / "manifest.jsonl", "ab") as handle:
                handle.write(json.dumps(records[0]).encode()[:40])
        raise KeyboardInterrupt("kill -9")

    monkeypatch.setattr(writer, "_append_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        writer.write(make_item(2), make_video(2), label=0)
    os.close(writer._lock_fd)
    assert shard_names(tmp_path) == ["part-00000.tfrecord", "part-00001.tfrecord",
                                     "part-00002.tfrecord"]
    reopened = DatasetWriter(tmp_path, videos_per_shard=1)
    # The journal proves kerasfer wrote part-00002: the commit is completed, nothing redone.
    assert reopened.done_ids == {"clips/v0", "clips/v1", "clips/v2"}
    reopened.close()
    lines = (tmp_path / "manifest.jsonl").read_bytes()
    assert lines.startswith(manifest) and lines.count(b"\n") == 3
    assert (tmp_path / "part-00000.tfrecord").read_bytes() == finished
    assert not os.path.exists(tmp_path / ".builder-journal.jsonl")
    ids = [schema.parse_video_example(d)["id"].numpy() for n in shard_names(tmp_path)
           for d in read_shard(os.path.join(tmp_path, n))]
    assert sorted(ids) == [b"clips/v0", b"clips/v1", b"clips/v2"]


def test_a_foreign_shard_is_never_deleted(tmp_path):
    """Issue 13: a `part-00000.tfrecord` that no kerasfer record lists survives, and the
    writer refuses with one line naming the directory's files and the fix."""
    foreign = tmp_path / "b"
    foreign.mkdir()
    (foreign / "part-00000.tfrecord").write_text("foreign\n")
    for overwrite in (False, True):
        with pytest.raises(SchemaError) as info:
            DatasetWriter(foreign, overwrite=overwrite)
        assert "is not empty and kerasfer did not create it (it holds part-00000.tfrecord)" \
            in info.value.message
        assert "pass a new or empty --out directory; nothing was deleted" in info.value.message
        assert sorted(os.listdir(foreign)) == ["part-00000.tfrecord"]
        assert (foreign / "part-00000.tfrecord").read_text() == "foreign\n"
    # In a directory kerasfer created, an unlisted shard is refused too (never deleted).
    owned = tmp_path / "owned"
    with DatasetWriter(owned) as writer:
        writer.write(make_item(0), make_video(0), label=0)
    (owned / "part-00007.tfrecord").write_bytes(b"someone else's")
    for overwrite in (False, True):
        with pytest.raises(SchemaError, match=r"part-00007.tfrecord: is not listed in "
                                              r"manifest.jsonl.*move it out of"):
            DatasetWriter(owned, overwrite=overwrite)
        assert (owned / "part-00007.tfrecord").read_bytes() == b"someone else's"


def test_overwrite_never_follows_a_symlink(tmp_path):
    precious = tmp_path / "precious.tfrecord"
    precious.write_bytes(b"keep me")
    out = tmp_path / "out"
    with DatasetWriter(out) as writer:
        writer.write(make_item(0), make_video(0), label=0)
    os.remove(out / "part-00000.tfrecord")
    os.symlink(precious, out / "part-00000.tfrecord")  # the listed shard is now a link
    with DatasetWriter(out, overwrite=True):
        pass
    assert precious.read_bytes() == b"keep me"
    assert not os.path.lexists(out / "part-00000.tfrecord")


def test_a_dataset_written_before_the_marker_is_adopted(tmp_path):
    with DatasetWriter(tmp_path, videos_per_shard=1) as writer:
        writer.write(make_item(0), make_video(0), label=0)
    os.remove(tmp_path / ".kerasfer-directory.json")
    with DatasetWriter(tmp_path) as writer:  # only builder files, all listed: resumes
        assert writer.done_ids == {"clips/v0"}
    os.remove(tmp_path / ".kerasfer-directory.json")
    (tmp_path / "holiday.mp4").write_bytes(b"x")
    with pytest.raises(SchemaError, match="it holds .*holiday.mp4"):
        DatasetWriter(tmp_path)


def test_lock_overwrite_and_bad_arguments(tmp_path):
    writer = DatasetWriter(tmp_path)
    with pytest.raises(SchemaError, match="another tfrecords_builder"):
        DatasetWriter(tmp_path)
    writer.write(make_item(0), make_video(0), label=0)
    writer.close()
    (tmp_path / "notes.tfrecord").write_bytes(b"not ours")
    with DatasetWriter(tmp_path, overwrite=True) as writer:
        assert writer.done_ids == set()
    assert not os.path.exists(tmp_path / "manifest.jsonl")
    assert shard_names(tmp_path) == ["notes.tfrecord"]  # only the builder's own files go
    with pytest.raises(ValueError, match="videos_per_shard=0"):
        DatasetWriter(tmp_path, videos_per_shard=0)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SchemaError, match="cannot create the directory"):
        DatasetWriter(tmp_path / "a_file" / "out")
    with pytest.raises(SchemaError, match="a_file: is a file, not a directory"):
        DatasetWriter(tmp_path / "a_file")


def test_video_without_frames_writes_nothing(tmp_path):
    empty = make_video(0, frames=0)
    with DatasetWriter(tmp_path) as writer:
        with pytest.raises(SchemaError):
            writer.write(make_item(0), empty, label=0)
    assert shard_names(tmp_path) == [] and not os.path.exists(tmp_path / "manifest.jsonl")


def test_failure_log_rows_and_unchanged_file(tmp_path):
    error = VideoDecodeError("/data/bad.mp4", "empty file (0 bytes)", "re-copy it")
    log = FailureLog(tmp_path)
    log.add("bad", error)
    log.finish()
    rows = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    assert rows == [{"id": "bad", "path": "/data/bad.mp4", "kind": "decode",
                     "cause": "empty file (0 bytes)", "fix": "re-copy it"}]
    before = os.stat(tmp_path / "failures.jsonl").st_mtime_ns
    again = FailureLog(tmp_path)  # a rerun failing on the same video leaves the file alone
    again.add("bad", error)
    again.finish()
    assert os.stat(tmp_path / "failures.jsonl").st_mtime_ns == before
    fixed = FailureLog(tmp_path)  # a rerun with no failure empties it
    fixed.finish()
    assert (tmp_path / "failures.jsonl").read_text() == ""


def test_classes_are_stable_across_runs(tmp_path):
    assert resolve_classes(tmp_path, {"sad", "happy", ""}) == ["happy", "sad"]
    # A rerun with a new label appends it; existing indices never move.
    assert resolve_classes(tmp_path, {"angry", "sad"}) == ["happy", "sad", "angry"]
    assert schema.read_classes(tmp_path) == ["happy", "sad", "angry"]
    assert resolve_classes(tmp_path, set(), explicit=["happy", "sad", "angry", "fear"]) == \
        ["happy", "sad", "angry", "fear"]
    with pytest.raises(LabelError, match="--overwrite"):
        resolve_classes(tmp_path, set(), explicit=["sad", "happy"])
    other = tmp_path / "biovid"
    other.mkdir()
    assert resolve_classes(other, {"PA4", "BL1"}, source_default=("BL1", "PA1", "PA2")) == \
        ["BL1", "PA1", "PA2", "PA4"]


def test_parse_classes_argument(tmp_path):
    assert parse_classes_argument("neutral, happy,sad") == ["neutral", "happy", "sad"]
    (tmp_path / "c.json").write_text('["a", "b"]')
    (tmp_path / "c.txt").write_text("x\ny\n\n")
    assert parse_classes_argument(str(tmp_path / "c.json")) == ["a", "b"]
    assert parse_classes_argument(str(tmp_path / "c.txt")) == ["x", "y"]
    with pytest.raises(LabelError, match="repeats"):
        parse_classes_argument("a,b,a")
