"""Round trips of kerasfer.schema: encode → parse → decode, eagerly and in Dataset.map."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kerasfer import schema
from kerasfer.errors import SchemaError


def _video(num_frames=5, size=32, frame_labels=None):
    rng = np.random.default_rng(0)
    # Smooth images: JPEG's chroma subsampling would blur per-pixel noise.
    ramp = np.linspace(0, 200, size)
    frames = np.stack([np.stack([ramp[:, None] + 0 * ramp, ramp[None, :] + 0 * ramp[:, None],
                                 np.full((size, size), 40.0 * t)], -1) for t in range(num_frames)])
    frames = frames.astype(np.uint8)
    jpegs = [tf.io.encode_jpeg(f, quality=100).numpy() for f in frames]
    landmarks = rng.uniform(0, size, (num_frames, 68, 2)).astype(np.float32)
    return dict(
        video_id="subject1/clip_a", label=3, label_name="happy", subject="subject1",
        split="train", fps=25.0, num_source_frames=num_frames + 2, source_path="/x/a.mp4",
        jpeg_frames=jpegs, landmarks=landmarks,
        boxes=np.tile([10, 20, 110, 120], (num_frames, 1)),
        timestamps=np.arange(num_frames) / 25.0, detected=[True] * (num_frames - 1) + [False],
        frame_labels=frame_labels,
    ), frames


def test_round_trip_eager():
    video, frames = _video()
    parsed = schema.parse_video_example(schema.encode_video_example(**video))
    assert parsed["id"].numpy() == b"subject1/clip_a"
    assert parsed["label"].numpy() == 3 and parsed["label_name"].numpy() == b"happy"
    assert parsed["num_frames"].numpy() == 5 and parsed["num_source_frames"].numpy() == 7
    assert parsed["crop_size"].numpy() == 32
    assert parsed["schema_version"].numpy() == schema.SCHEMA_VERSION
    np.testing.assert_allclose(parsed["landmarks"].numpy(), video["landmarks"])
    np.testing.assert_allclose(parsed["timestamp"].numpy(), np.arange(5) / 25.0, rtol=1e-6)
    assert parsed["detected"].numpy().tolist() == [True] * 4 + [False]
    assert np.isnan(parsed["frame_label"].numpy()).all()
    decoded = schema.decode_frames(parsed["jpeg"]).numpy()
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    # JPEG at quality 100 is near-lossless on smooth images.
    assert np.abs(decoded.astype(int) - frames).mean() < 3


def test_round_trip_in_dataset_map_with_frame_labels():
    video, _ = _video(frame_labels=[0, 1, 2, 3, 4])
    data = schema.encode_video_example(**video)
    dataset = tf.data.Dataset.from_tensors(data).map(schema.parse_video_example)
    parsed = next(iter(dataset))
    np.testing.assert_array_equal(parsed["frame_label"].numpy(), [0, 1, 2, 3, 4])
    assert parsed["landmarks"].shape == (5, 68, 2)


def test_empty_video_is_refused():
    video, _ = _video()
    video.update(jpeg_frames=[], landmarks=np.zeros((0, 68, 2)), boxes=np.zeros((0, 4)),
                 timestamps=[], detected=[], frame_labels=None)
    with pytest.raises(SchemaError, match="at least one kept frame"):
        schema.encode_video_example(**video)


def test_manifest_errors_name_the_file(tmp_path):
    with pytest.raises(SchemaError, match="manifest.jsonl: no manifest found"):
        schema.read_manifest(tmp_path)
    (tmp_path / schema.MANIFEST_FILENAME).write_text('{"id": "a"}\n{broken\n')
    with pytest.raises(SchemaError, match=r"manifest.jsonl:2: invalid JSON"):
        schema.read_manifest(tmp_path)


def test_manifest_and_classes_round_trip(tmp_path):
    record = schema.manifest_record(video_id="a", label=1, label_name="b", subject="s",
                                    split="", frames_kept=3, frames_total=4, shard="x.tfrecord")
    (tmp_path / schema.MANIFEST_FILENAME).write_text(json.dumps(record) + "\n")
    schema.write_json_atomic(str(tmp_path / schema.CLASSES_FILENAME), ["a", "b"])
    assert schema.read_manifest(tmp_path) == [record]
    assert schema.read_classes(tmp_path) == ["a", "b"]


def test_read_videos(tmp_path):
    from kerasfer.data import read_videos

    video, frames = _video()
    with tf.io.TFRecordWriter(str(tmp_path / "a.tfrecord")) as writer:
        writer.write(schema.encode_video_example(**video))
    videos = list(read_videos(str(tmp_path)))
    assert len(videos) == 1 and videos[0]["id"] == "subject1/clip_a"
    assert videos[0]["frames"].shape == frames.shape
    with pytest.raises(SchemaError, match="no TFRecord shards match"):
        list(read_videos(str(tmp_path / "nothing")))


def test_write_json_atomic_never_writes_through_a_symlink(tmp_path):
    import os

    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    target = tmp_path / "classes.json"
    os.symlink(precious, f"{target}.tmp-{os.getpid()}")   # not followed: another name taken
    schema.write_json_atomic(str(target), ["b"])
    assert precious.read_text() == "keep" and json.loads(target.read_text()) == ["b"]
    os.unlink(f"{target}.tmp-{os.getpid()}")
    target.unlink()
    os.symlink(precious, target)  # the destination itself a link: replaced, target kept
    schema.write_json_atomic(str(target), ["a"])
    assert precious.read_text() == "keep" and not target.is_symlink()
    assert schema.read_classes(str(tmp_path)) == ["a"]
