"""Per-frame 2D features: cache them once (`.npy` per video), then train from the cache.

Two-stage models (VGG-Face fc6 + Bi-LSTM of Fan et al. (2017), conv5 grids + CBP of Ozkan & Akar (2017),
the frame-level backbones of the thesis' 2-step pooling) run a frozen 2D CNN on every
frame; `write_frame_features` runs it once over the aligned faces and `feature_dataset`
streams the cached `(frames, dim)` arrays, whole or as planned clips.

Directory layout: `<feature_dir>/<safe id>-<hash>.npy` (float32 or float16 `(frames,
dim…)`, one row per kept frame, in frame order) and `<feature_dir>/features.json`
(`{"shape": [dim…], "dtype": …, "ids": {video id: file name}}`), plus kerasfer's
ownership marker (`kerasfer.owned_directory`): files are written or replaced only in a
directory this module created, found empty, or wrote before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np

from kerasfer import schema
from kerasfer.atomic_write import atomic_writer
from kerasfer.data.clip_indices import clip_frame_indices, clip_seed
from kerasfer.data.clip_plan import ClipPlan
from kerasfer.data.evaluation_dataset import evaluation_dataset
from kerasfer.errors import SchemaError

FEATURES_FILENAME = "features.json"
TOOL = "kerasfer.data.feature_dataset"
# `feature_file_name` and the temporary names of its atomic writes.
_FEATURE_FILE = re.compile(
    r"[A-Za-z0-9._-]{1,80}-[0-9a-f]{10}\.npy(\.tmp-\d+(-[0-9a-f]+)?(\.npy)?)?")


def feature_file_name(video_id):
    """Returns the `.npy` file name of a video: a readable slug plus a hash (unique)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(video_id))[:80]
    digest = hashlib.sha1(str(video_id).encode()).hexdigest()[:10]
    return f"{slug}-{digest}.npy"


def _written_before_the_marker(feature_dir, names):
    """True for a cache an earlier kerasfer wrote: only its feature files and `features.json`."""
    listed = set()
    if FEATURES_FILENAME in names:
        try:
            with open(os.path.join(feature_dir, FEATURES_FILENAME), encoding="utf-8") as handle:
                listed = set(json.load(handle)["ids"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
    return all(name == FEATURES_FILENAME or name in listed or _FEATURE_FILE.fullmatch(name)
               for name in names)


def claim_feature_dir(feature_dir):
    """Creates `feature_dir` or checks that kerasfer's feature cache may write into it.

    Raises:
        SchemaError: the directory is not empty and kerasfer did not create it (no
            ownership marker, and not only the feature files and `features.json` an
            earlier kerasfer wrote), or another kerasfer tool owns it. Nothing is written or deleted then.
    """
    from kerasfer.owned_directory import OwnedDirectory

    OwnedDirectory(feature_dir, TOOL, flag="feature_dir").claim(
        adopt=lambda names: _written_before_the_marker(feature_dir, names))


def write_frame_features(index, records, extract_fn, feature_dir, image_size=112,
                         normalization="imagenet", grayscale=False, chunk_frames=64,
                         dtype="float32", overwrite=False):
    """Runs `extract_fn` on every frame of `records` and saves one `.npy` per video.

    Resumable: videos whose file exists are skipped unless `overwrite`; each file is
    written under a temporary name and renamed (`kerasfer.atomic_write`), so a killed run
    leaves no partial file. The directory is claimed first (`claim_feature_dir`): a
    non-empty directory kerasfer did not create is refused, so `overwrite` never replaces
    a file kerasfer did not write.

    Args:
        index: `DatasetIndex`.
        records: list of dict. Videos to process.
        extract_fn: callable. Maps float32 frames `(n, image_size, image_size, channels)`
            (normalised as `normalization`) to features `(n, dim…)`, e.g. a Keras model.
        feature_dir: str. Output directory (created; new, empty or written by this
            function).
        image_size, normalization, grayscale: frames as `evaluation_dataset` yields them.
        chunk_frames: int. Frames per `extract_fn` call. Defaults to 64.
        dtype: str. Stored dtype, `"float32"` or `"float16"`. Defaults to `"float32"`.
        overwrite: bool. Recompute existing files. Defaults to False.

    Returns:
        dict mapping video id → `.npy` path.

    Raises:
        SchemaError: `feature_dir` is not empty and kerasfer did not create it.

    Example:

    >>> backbone = keras.Sequential([keras.layers.Conv2D(8, 3), keras.layers.GlobalAveragePooling2D()])
    >>> write_frame_features(index, records, backbone.predict_on_batch, "features/")
    """
    claim_feature_dir(feature_dir)
    meta_path = os.path.join(feature_dir, FEATURES_FILENAME)
    meta = {"ids": {}}
    if os.path.exists(meta_path) and not overwrite:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
    todo = [r for r in records if overwrite or not os.path.exists(
        os.path.join(feature_dir, feature_file_name(r["id"])))]
    paths = {r["id"]: os.path.join(feature_dir, feature_file_name(r["id"])) for r in records}
    if todo:
        videos = evaluation_dataset(index, todo, normalization=normalization,
                                    image_size=image_size, grayscale=grayscale)
        for batch in videos:
            frames = batch["video"][0]
            features = [np.asarray(extract_fn(frames[start:start + chunk_frames]))
                        for start in range(0, int(frames.shape[0]), chunk_frames)]
            features = np.concatenate(features, axis=0).astype(dtype)
            video_id = batch["id"][0].numpy().decode()
            with atomic_writer(paths[video_id], binary=True) as handle:
                np.save(handle, features)
            meta["shape"] = list(features.shape[1:])
            meta["dtype"] = str(features.dtype)
    meta["ids"].update({video_id: os.path.basename(path) for video_id, path in paths.items()})
    schema.write_json_atomic(meta_path, meta)
    return paths


def feature_dataset(feature_dir, records, batch_size=1, clip_length=None, plan=None, seed=0,
                    short_video="loop", shuffle=False, max_frames=None):
    """Streams cached per-frame features: whole videos (padded) or one planned clip each.

    Args:
        feature_dir: str. Directory written by `write_frame_features`.
        records: list of dict. Selected records; `video_index` = position here.
        batch_size: int. Defaults to 1.
        clip_length: int or None. None = whole videos, zero-padded with a `mask`; F = one
            clip of F rows per video per iteration at the starts of `plan` (as
            `training_dataset`, thesis Algorithm 3.1). Defaults to None.
        plan: `ClipPlan` or None. Clip starts (clip mode); None = uniform random starts.
        seed: int. Random starts and shuffling. Defaults to 0.
        short_video: str. `"loop"` or `"repeat_last"` (clip mode). Defaults to `"loop"`.
        shuffle: bool. Shuffle videos each iteration. Defaults to False.
        max_frames: int or None. Whole-video mode: keep at most this many frames.

    Returns:
        `tf.data.Dataset` of dicts: `features` float32 `(batch, frames, dim…)`; `mask`
        float32 `(batch, frames)`; `label`, `video_index`, `length`, `start` int32
        `(batch,)` (`length` = frames of the video); `frame_index` int32 `(batch, frames)`.

    Example:

    >>> dataset = feature_dataset("features/", records, batch_size=8, clip_length=16)
    """
    import tensorflow as tf

    meta_path = os.path.join(feature_dir, FEATURES_FILENAME)
    if not os.path.exists(meta_path):
        raise SchemaError(meta_path, "no feature cache found",
                          "run kerasfer.data.write_frame_features first")
    with open(meta_path, encoding="utf-8") as handle:
        meta = json.load(handle)
    records = list(records)
    missing = [r["id"] for r in records if r["id"] not in meta["ids"]]
    if missing:
        raise SchemaError(meta_path, f"{len(missing)} videos have no cached features "
                          f"(first: {missing[0]!r})", "rerun write_frame_features on them")
    paths = [os.path.join(feature_dir, meta["ids"][r["id"]]) for r in records]
    feature_shape = [None] + list(meta["shape"])
    if clip_length is not None and plan is None:
        plan = ClipPlan(len(records))
    if plan is not None and plan.num_videos != len(records):
        raise SchemaError(meta_path, f"the clip plan has {plan.num_videos} videos, not "
                          f"{len(records)}", "build ClipPlan(num_videos=len(records))")

    def load(path, video_index, label):
        features = tf.numpy_function(lambda p: np.load(p.decode()).astype(np.float32),
                                     [path], tf.float32)
        features = tf.ensure_shape(features, feature_shape)
        return {"features": features, "video_index": video_index, "label": label,
                "length": tf.shape(features)[0]}

    def cut(example, epoch):
        length = example["length"]
        if clip_length is None:
            indices = tf.range(length)[:max_frames] if max_frames else tf.range(length)
            start = tf.constant(0, tf.int32)
        else:
            indices, start = clip_frame_indices(
                length, tf.gather(plan.starts, example["video_index"]), clip_length,
                short_video=short_video, seed=clip_seed(seed, epoch, example["video_index"]))
        return {"features": tf.gather(example["features"], indices),
                "mask": tf.ones([tf.shape(indices)[0]], tf.float32),
                "label": example["label"], "video_index": example["video_index"],
                "length": length, "start": start, "frame_index": indices}

    videos = tf.data.Dataset.from_tensor_slices((
        tf.constant(paths), tf.range(len(records), dtype=tf.int32),
        tf.constant([int(r["label"]) for r in records], tf.int32)))

    def epoch_videos(epoch):
        ordered = videos.shuffle(len(records), seed=seed * 1_000_003 + epoch) if shuffle else videos
        return ordered.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).map(
            lambda example: cut(example, epoch))

    epoch = (tf.data.Dataset.range(1).map(lambda _: plan.next_epoch()) if plan is not None
             else tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)))
    dataset = epoch.flat_map(epoch_videos)
    dataset = dataset.padded_batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)
    dataset.clip_plan = plan
    return dataset
