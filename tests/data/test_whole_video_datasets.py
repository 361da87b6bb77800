"""DatasetIndex, evaluation, landmark and cached-feature datasets."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasfer.data import ClipPlan, DatasetIndex, evaluation_dataset
from kerasfer.data.clip_indices import clip_frame_indices, clip_seed
from kerasfer.data.feature_dataset import feature_dataset, write_frame_features
from kerasfer.data.indexed_frames import frame_level, video_level, write_indexed_frames_dataset
from kerasfer.data.landmark_dataset import landmark_dataset, normalize_landmarks
from kerasfer.errors import SchemaError

LENGTHS = [9, 4, 13, 6, 11]
SPLITS = ["train", "test", "train", "test", "train"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("videos"))
    write_indexed_frames_dataset(directory, LENGTHS, crop_size=24, splits=SPLITS,
                                 videos_per_shard=2)
    return DatasetIndex.load(directory)


def test_index_records_classes_shards_and_select(index):
    assert len(index) == 5 and index.classes == ["neutral", "happy"]
    assert [os.path.basename(p) for p in index.shard_paths] == [
        "part-00000.tfrecord", "part-00001.tfrecord", "part-00002.tfrecord"]
    train = index.select(split="train")
    assert [r["id"] for r in train] == ["video000", "video002", "video004"]
    picked = index.select(ids=["video004", "video001"])
    assert [r["id"] for r in picked] == ["video004", "video001"]
    assert index.select(ids=["video004", "video001"], split="train")[0]["id"] == "video004"
    assert len(index.shards_for(picked)) == 2
    with pytest.raises(SchemaError, match="twice"):
        index.select(ids=["video000", "video000"])


def test_index_rejects_missing_shard_and_bad_manifest(index, tmp_path):
    records = [dict(r) for r in index.records]
    records[0]["shard"] = "gone.tfrecord"
    with pytest.raises(SchemaError, match="gone.tfrecord: shard named in the manifest"):
        DatasetIndex(index.data_dir, records, index.classes)
    (tmp_path / "manifest.jsonl").write_text('{"id": 1}\nnot json\n')
    (tmp_path / "classes.json").write_text("[]")
    with pytest.raises(SchemaError, match="manifest.jsonl:2: invalid JSON"):
        DatasetIndex.load(str(tmp_path))


def test_clip_indices_eager_and_in_map():
    indices, start = clip_frame_indices(tf.constant(5), tf.constant(3), 4)
    assert start.numpy() == 1 and list(indices.numpy()) == [1, 2, 3, 4]
    mapped = tf.data.Dataset.from_tensors((tf.constant(10), tf.constant(-1))).map(
        lambda length, s: clip_frame_indices(length, s, 4, 2, seed=clip_seed(0, 0, 1)))
    indices, start = next(iter(mapped))
    assert 0 <= int(start) <= 3 and list(indices.numpy()) == list(int(start) + 2 * np.arange(4))
    indices, start = clip_frame_indices(tf.constant(40), tf.constant(7), 4,
                                        duration="random_segments", seed=clip_seed(0, 0, 1))
    assert int(start) == 0 and all(10 * k <= i < 10 * (k + 1) for k, i in enumerate(indices))
    centres, _ = clip_frame_indices(tf.constant(40), tf.constant(7), 4, duration="random_segments")
    assert list(centres.numpy()) == [5, 15, 25, 35]  # no seed: the segment centres
    with pytest.raises(ValueError, match="duration"):
        clip_frame_indices(tf.constant(5), tf.constant(0), 4, duration="stretch")


def test_evaluation_dataset_whole_videos_one_per_batch(index):
    records = index.select()
    seen = {}
    for batch in evaluation_dataset(index, records, image_size=8, normalization="unit"):
        video = int(batch["video_index"][0])
        length = LENGTHS[video]
        assert batch["video"].shape == (1, length, 8, 8, 3)
        assert batch["id"][0].numpy().decode() == records[video]["id"]
        assert int(batch["length"][0]) == length and float(tf.reduce_sum(batch["mask"])) == length
        red = batch["video"][0, ..., 0].numpy().mean(axis=(1, 2)) * 255
        np.testing.assert_allclose(red, frame_level(np.arange(length)), atol=3)
        assert abs(batch["video"][0, ..., 2].numpy().mean() * 255 - video_level(video)) < 4
        seen[video] = batch["video"].numpy()
    assert sorted(seen) == list(range(5))
    again = {int(b["video_index"][0]): b["video"].numpy()
             for b in evaluation_dataset(index, records, image_size=8, normalization="unit")}
    for video in seen:
        np.testing.assert_array_equal(seen[video], again[video])


def test_evaluation_dataset_padded_batches_stride_and_grey(index):
    records = index.select(split="train")
    batches = list(evaluation_dataset(index, records, image_size=6, batch_size=2, frame_stride=2,
                                      max_frames=6, grayscale=True))
    assert sum(int(b["video"].shape[0]) for b in batches) == 3
    for batch in batches:
        for row in range(batch["video"].shape[0]):
            length = LENGTHS[[0, 2, 4][int(batch["video_index"][row])]]
            kept = min((length + 1) // 2, 6)
            assert int(batch["length"][row]) == kept
            np.testing.assert_array_equal(batch["mask"][row].numpy(),
                                          np.arange(batch["mask"].shape[1]) < kept)
            np.testing.assert_array_equal(batch["frame_index"][row, :kept], 2 * np.arange(kept))
            assert np.abs(batch["video"][row, kept:].numpy()).sum() == 0.0
        assert batch["video"].shape[-1] == 1


def test_landmark_dataset(index):
    records = index.select()
    batch = next(iter(landmark_dataset(index, records, batch_size=5)))
    assert batch["landmarks"].shape == (5, 13, 68, 2) and batch["detected"].shape == (5, 13)
    for row in range(5):
        length = LENGTHS[int(batch["video_index"][row])]
        landmarks = batch["landmarks"][row, :length].numpy()
        assert landmarks.min() >= 0 and landmarks.max() <= 1.5
        # The fixture shifts the pattern one pixel right per frame: 1 / 24 in crop units.
        np.testing.assert_allclose(np.diff(landmarks[:, 0, 0]), 1 / 24, atol=1e-5)
        assert float(tf.reduce_sum(batch["mask"][row])) == length
    face = next(iter(landmark_dataset(index, records, normalization="face")))["landmarks"][0]
    np.testing.assert_allclose(face.numpy().mean(axis=1), 0, atol=1e-5)
    rms = np.sqrt((face.numpy() ** 2).sum(-1).mean(-1))
    np.testing.assert_allclose(rms, 1, atol=1e-5)
    with pytest.raises(ValueError, match="normalization"):
        normalize_landmarks(tf.zeros([1, 68, 2]), 24, "procrustes")


def test_feature_cache_round_trip_and_planned_clips(index, tmp_path):
    records = index.select()
    calls = []

    def mean_colour(frames):
        calls.append(int(frames.shape[0]))
        return tf.reduce_mean(frames, axis=[1, 2]) * 255

    directory = str(tmp_path / "features")
    paths = write_frame_features(index, records, mean_colour, directory, image_size=8,
                                 normalization="unit", chunk_frames=5)
    assert max(calls) == 5 and sum(calls) == sum(LENGTHS)
    meta = json.load(open(os.path.join(directory, "features.json")))
    assert meta["shape"] == [3] and len(meta["ids"]) == 5
    write_frame_features(index, records, mean_colour, directory)  # cached: no new calls
    assert sum(calls) == sum(LENGTHS) and all(os.path.exists(p) for p in paths.values())

    whole = list(feature_dataset(directory, records, batch_size=5))[0]
    assert whole["features"].shape == (5, 13, 3)
    np.testing.assert_allclose(whole["features"][2, :13, 0], frame_level(np.arange(13)), atol=3)
    np.testing.assert_array_equal(whole["mask"][1].numpy(), np.arange(13) < 4)

    plan = ClipPlan(5)
    plan.assign(np.array([2, 0, 100, 1, 0]))
    clips = list(feature_dataset(directory, records, batch_size=5, clip_length=5, plan=plan))[0]
    assert list(clips["start"].numpy()) == [2, 0, 8, 1, 0]
    np.testing.assert_allclose(clips["features"][2, :, 0], frame_level(8 + np.arange(5)), atol=3)
    np.testing.assert_array_equal(clips["frame_index"][1], [0, 1, 2, 3, 0])
    with pytest.raises(SchemaError, match="no feature cache"):
        feature_dataset(str(tmp_path), records)


def _mean_colour(frames):
    return tf.reduce_mean(frames, axis=[1, 2]) * 255


def test_feature_cache_never_overwrites_in_a_directory_kerasfer_did_not_create(index, tmp_path):
    from kerasfer.data.feature_dataset import feature_file_name
    from kerasfer.owned_directory import MARKER_FILENAME

    records = index.select()[:2]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    precious = foreign / feature_file_name(records[0]["id"])     # the user's own array
    np.save(precious, np.arange(3.0))
    (foreign / "notes.txt").write_text("keep")
    for overwrite in (True, False):
        with pytest.raises(SchemaError, match=r"mine: is not empty and kerasfer did not "
                           r"create it \(it holds notes.txt, .*new or empty feature_dir"):
            write_frame_features(index, records, _mean_colour, str(foreign), image_size=8,
                                 normalization="unit", overwrite=overwrite)
    np.testing.assert_array_equal(np.load(precious), np.arange(3.0))
    assert sorted(os.listdir(foreign)) == sorted([precious.name, "notes.txt"])

    owned = str(tmp_path / "features")                             # created: claimed
    paths = write_frame_features(index, records, _mean_colour, owned, image_size=8,
                                 normalization="unit")
    assert os.path.exists(os.path.join(owned, MARKER_FILENAME))
    before = np.load(paths[records[0]["id"]])
    write_frame_features(index, records, lambda x: _mean_colour(x) * 0, owned, image_size=8,
                         normalization="unit", overwrite=True)     # its own files: replaced
    assert before.any() and not np.load(paths[records[0]["id"]]).any()

    os.unlink(os.path.join(owned, MARKER_FILENAME))                # a cache written before
    write_frame_features(index, records, _mean_colour, owned, image_size=8,  # the marker
                         normalization="unit", overwrite=True)     # is adopted
    np.testing.assert_allclose(np.load(paths[records[0]["id"]]), before)
    assert sorted(os.listdir(owned)) == sorted(
        [MARKER_FILENAME, "features.json"] + [os.path.basename(p) for p in paths.values()])
