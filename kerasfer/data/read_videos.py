"""`read_videos`: iterate over the decoded videos of TFRecord shards, for inspection."""

from __future__ import annotations

import glob
import os

from kerasfer import schema
from kerasfer.errors import SchemaError


def _shard_paths(pattern):
    if os.path.isdir(pattern):
        pattern = os.path.join(pattern, "*" + schema.SHARD_SUFFIX)
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise SchemaError(pattern, "no TFRecord shards match",
                          "pass a dataset directory or a glob such as 'out/*.tfrecord'")
    return paths


def read_videos(pattern, decode=True):
    """Yields every video of the shards matching `pattern` as a dict of NumPy values.

    Args:
        pattern: str. A dataset directory, or a glob of `.tfrecord` shards.
        decode: bool. Decode the JPEGs into `frames`. Defaults to True.

    Yields:
        dict with the keys of `kerasfer.schema.parse_video_example` as NumPy values (strings
        decoded to `str`), plus `frames`: uint8 `(frames, height, width, 3)` when `decode`.

    Example:

    >>> for video in read_videos("out/"):
    ...     print(video["id"], video["frames"].shape)
    """
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(_shard_paths(pattern))
    for serialized in dataset:
        parsed = schema.parse_video_example(serialized)
        video = {}
        for key, value in parsed.items():
            value = value.numpy()
            video[key] = value.decode() if isinstance(value, bytes) else value
        if decode:
            video["frames"] = schema.decode_frames(parsed["jpeg"]).numpy()
        yield video
