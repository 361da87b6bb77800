"""training_dataset: the planned clip comes out, padding/resize/stride, determinism."""

import numpy as np
import pytest
import tensorflow as tf

from kerasfer.data import ClipPlan, DatasetIndex, evaluation_dataset, training_dataset
from kerasfer.data.indexed_frames import frame_level, video_level, write_indexed_frames_dataset
from kerasfer.errors import ConfigError, SchemaError

LENGTHS = [20, 7, 30, 16, 12, 25]
F = 8


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("clips"))
    write_indexed_frames_dataset(directory, LENGTHS, crop_size=32, videos_per_shard=4)
    return DatasetIndex.load(directory)


def clips_of(dataset):
    """Flattens batches into a {video_index: element} dict (asserts one clip per video)."""
    clips = {}
    for batch in dataset:
        batch = {key: value.numpy() for key, value in batch.items()}
        for row, video in enumerate(batch["video_index"]):
            assert video not in clips
            clips[int(video)] = {key: value[row] for key, value in batch.items()}
    return clips


def make(index, plan=None, **kwargs):
    options = dict(clip_length=F, batch_size=4, plan=plan, image_size=16,
                   normalization="unit", seed=3)
    options.update(kwargs)
    return training_dataset(index, index.select(), **options)


def check_content(clip, video):
    """The clean frames' red level and blue level say which frames of which video they are."""
    red = clip["clean_clip"][..., 0].mean(axis=(1, 2)) * 255
    blue = clip["clean_clip"][..., 2].mean() * 255
    np.testing.assert_allclose(red, frame_level(clip["frame_index"]), atol=3)
    assert abs(blue - video_level(video)) < 4


@pytest.mark.slow
def test_shapes_and_dtypes(index):
    batch = next(iter(make(index, batch_size=4)))
    assert batch["clip"].shape == (4, F, 16, 16, 3) and batch["clip"].dtype == tf.float32
    assert batch["clean_clip"].shape == (4, F, 16, 16, 3)
    for key in ("label", "video_index", "start", "length"):
        assert batch[key].shape == (4,) and batch[key].dtype == tf.int32
    assert batch["frame_index"].shape == (4, F) and batch["timestamp"].shape == (4, F)
    grey = next(iter(make(index, grayscale=True, image_size=12, clean_copy=False,
                          normalization="minus_one_one")))
    assert grey["clip"].shape == (4, F, 12, 12, 1) and "clean_clip" not in grey
    assert -1.0 <= float(tf.reduce_min(grey["clip"])) and float(tf.reduce_max(grey["clip"])) <= 1.0


def test_planned_clip_is_returned_and_plan_read_each_epoch(index):
    plan = ClipPlan(len(LENGTHS))
    dataset = make(index, plan)
    plan.assign(np.array([3, 0, 100, 5, 2, 17]))
    clips = clips_of(dataset)
    assert sorted(clips) == list(range(len(LENGTHS)))
    # 100 is clipped to L - F; video 1 is shorter than F and loops.
    expected_starts = [3, 0, 30 - F, 5, 2, 17]
    for video, clip in clips.items():
        assert clip["start"] == expected_starts[video]
        assert clip["length"] == LENGTHS[video]
        expected = (expected_starts[video] + np.arange(F)) % LENGTHS[video]
        np.testing.assert_array_equal(clip["frame_index"], expected)
        np.testing.assert_allclose(clip["timestamp"], expected / 25.0, atol=1e-6)
        assert clip["label"] == video % 2
        check_content(clip, video)
    plan.assign(np.array([1, 0, 0, 8, 4, 0]))
    clips = clips_of(dataset)
    assert [clips[v]["start"] for v in range(len(LENGTHS))] == [1, 0, 0, 8, 4, 0]
    assert int(plan.epoch.numpy()) == 2


@pytest.mark.slow
def test_random_starts_are_uniform_in_range_and_change_per_epoch(index):
    dataset = make(index, augment=False, clean_copy=False)
    epochs = [clips_of(dataset) for _ in range(6)]
    for video, length in enumerate(LENGTHS):
        starts = {int(clips[video]["start"]) for clips in epochs}
        assert all(0 <= s <= max(length - F, 0) for s in starts)
        if length - F >= 10:
            assert len(starts) > 1


def test_short_video_modes(index):
    plan = ClipPlan(len(LENGTHS))
    plan.assign(np.zeros(len(LENGTHS), np.int32))
    loop = clips_of(make(index, plan, augment=False))[1]
    last = clips_of(make(index, plan, short_video="repeat_last", augment=False))[1]
    np.testing.assert_array_equal(loop["frame_index"], [0, 1, 2, 3, 4, 5, 6, 0])
    np.testing.assert_array_equal(last["frame_index"], [0, 1, 2, 3, 4, 5, 6, 6])
    check_content(loop, 1)
    check_content(last, 1)


def test_temporal_resize(index):
    clips = clips_of(make(index, duration="resize", augment=False))
    for video, length in enumerate(LENGTHS):
        expected = np.floor((np.arange(F) + 0.5) * length / F).astype(int)
        np.testing.assert_array_equal(clips[video]["frame_index"], expected)
        assert clips[video]["start"] == 0
        check_content(clips[video], video)


def test_random_segments_one_random_frame_per_segment_new_each_epoch(index):
    dataset = make(index, duration="random_segments", augment=False, shuffle=False)
    epochs = [clips_of(dataset) for _ in range(2)]
    changed = 0
    for video, length in enumerate(LENGTHS):
        lower = np.floor(np.arange(F) * length / F).astype(int)
        upper = np.minimum(np.floor((np.arange(F) + 1) * length / F).astype(int), length - 1)
        for clips in epochs:
            indices = clips[video]["frame_index"]
            # Segment k = [k·L/F, (k+1)·L/F): every frame inside its own segment, in order.
            assert np.all(indices >= lower) and np.all(indices <= upper), (video, indices)
            assert np.all(np.diff(indices) >= 0) and clips[video]["start"] == 0
            check_content(clips[video], video)
        changed += not np.array_equal(epochs[0][video]["frame_index"],
                                      epochs[1][video]["frame_index"])
    assert changed >= 4  # a new draw every epoch (videos shorter than F may repeat frames)
    again = clips_of(make(index, duration="random_segments", augment=False, shuffle=False))
    for video in range(len(LENGTHS)):  # same seed, same epoch → same frames
        np.testing.assert_array_equal(again[video]["frame_index"],
                                      epochs[0][video]["frame_index"])


def test_frame_stride(index):
    plan = ClipPlan(len(LENGTHS))
    plan.assign(np.array([2, 0, 29, 0, 0, 1]))
    clips = clips_of(make(index, plan, frame_stride=2, augment=False))
    # Span of a stride-2 clip of 8 frames: 15 frames; start clipped to L - 15.
    assert clips[0]["start"] == 2 and clips[2]["start"] == 30 - 15
    np.testing.assert_array_equal(clips[2]["frame_index"], 15 + 2 * np.arange(F))
    np.testing.assert_array_equal(clips[3]["frame_index"], (2 * np.arange(F)) % 16)
    check_content(clips[2], 2)


@pytest.mark.slow
def test_same_seed_same_batches_and_other_seed_differs(index):
    def run(seed):
        dataset = make(index, seed=seed, batch_size=4)
        return [[batch["clip"].numpy() for batch in dataset] for _ in range(2)]

    first, second = run(5), run(5)
    for epoch_a, epoch_b in zip(first, second):
        for batch_a, batch_b in zip(epoch_a, epoch_b):
            np.testing.assert_array_equal(batch_a, batch_b)
    assert not np.array_equal(first[0][0], first[1][0])  # epochs differ
    other = next(iter(make(index, seed=6, batch_size=4)))["clip"].numpy()
    assert not np.array_equal(first[0][0], other)


def test_clean_copy_is_the_unaugmented_clip(index):
    plan = ClipPlan(len(LENGTHS))
    plan.assign(np.array([3, 0, 9, 5, 2, 17]))
    augmented = clips_of(make(index, plan, normalization="imagenet"))
    plain = clips_of(make(index, plan, normalization="imagenet", augment=False))
    for video in range(len(LENGTHS)):
        np.testing.assert_array_equal(plain[video]["clip"], plain[video]["clean_clip"])
        np.testing.assert_allclose(augmented[video]["clean_clip"], plain[video]["clean_clip"],
                                   atol=1e-6)
        assert np.abs(augmented[video]["clip"] - augmented[video]["clean_clip"]).max() > 0.05
    # The clean copy is exactly what evaluation sees for those frames.
    for batch in evaluation_dataset(index, index.select(), normalization="imagenet",
                                    image_size=16):
        video = int(batch["video_index"][0])
        expected = batch["video"][0].numpy()[augmented[video]["frame_index"]]
        np.testing.assert_allclose(augmented[video]["clean_clip"], expected, atol=1e-4)


@pytest.mark.parametrize("cache", ["memory", "snapshot"])
def test_cache_and_no_shuffle_order(index, cache, tmp_path):
    cache = "memory" if cache == "memory" else f"snapshot:{tmp_path}"
    dataset = make(index, cache=cache, shuffle=False, batch_size=6, augment=False)
    first = next(iter(dataset))
    second = next(iter(dataset))
    for key in ("video_index", "start", "clip"):
        assert first[key].shape[0] == len(LENGTHS)
    np.testing.assert_array_equal(first["video_index"], second["video_index"])
    assert sorted(first["video_index"].numpy()) == list(range(len(LENGTHS)))
    for row, video in enumerate(first["video_index"].numpy()):
        check_content({key: value[row].numpy() for key, value in second.items()}, video)


def test_bad_arguments(index, tmp_path):
    with pytest.raises(ConfigError, match="6 records"):
        make(index, ClipPlan(3))
    with pytest.raises(ValueError, match="short_video"):
        make(index, short_video="pad")
    with pytest.raises(ValueError, match="normalization"):
        make(index, normalization="zscore")
    with pytest.raises(SchemaError, match="no manifest"):
        DatasetIndex.load(str(tmp_path))
    with pytest.raises(SchemaError, match="no video with id"):
        index.select(ids=["video000", "nope"])
    with pytest.raises(ConfigError, match="integers >= -1"):
        ClipPlan(2).assign([0, -3])
