"""`selected_videos`: the parsed videos of a list of manifest records, with their index."""

from __future__ import annotations

from kerasfer import schema
from kerasfer.errors import SchemaError


def check_records(index, records):
    """Raises a SchemaError unless `records` is a non-empty list of records of `index`."""
    records = list(records)
    if not records:
        raise SchemaError(index.data_dir, "no videos selected",
                          "check the ids or split passed to DatasetIndex.select")
    ids = [record["id"] for record in records]
    if len(set(ids)) != len(ids):
        raise SchemaError(index.data_dir, "the same video is selected twice",
                          "deduplicate the records list")
    for record in records:
        index.record(record["id"])
    return records


def selected_videos(index, records, cache=None, num_parallel_calls=None):
    """Reads the shards holding `records` and yields each of those videos once, parsed.

    Videos come in shard order (deterministic); shards without a selected video are not
    opened. JPEGs stay encoded so a clip decodes only its own frames.

    Args:
        index: `DatasetIndex`.
        records: list of dict. Selected manifest records; `video_index` = position here.
        cache: None, `"memory"`, `"snapshot:<dir>"` or a file prefix. Cache the parsed
            videos (all frames' JPEG bytes) after the first pass: in memory, as a
            `tf.data` snapshot, or in cache files. Defaults to None.
        num_parallel_calls: int or None. Parallel parsing; AUTOTUNE when None.

    Returns:
        `tf.data.Dataset` of dicts: the keys of `kerasfer.schema.parse_video_example` plus
        `video_index` (int32 scalar, position in `records`).

    Example:

    >>> videos = selected_videos(index, index.select(split="train"))
    """
    import tensorflow as tf

    records = check_records(index, records)
    parallel = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
    selected_ids = tf.constant([record["id"] for record in records])
    shards = index.shards_for(records)

    def find_index(example):
        # A linear scan of the selected ids: a few thousand string compares per video is
        # far cheaper than decoding one frame, and needs no lookup-table resource.
        matches = tf.where(tf.equal(selected_ids, example["id"]))[:, 0]
        example["video_index"] = tf.cond(
            tf.size(matches) > 0,
            lambda: tf.cast(matches[0], tf.int32),
            lambda: tf.constant(-1, tf.int32))
        return example

    dataset = tf.data.Dataset.from_tensor_slices(shards)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset, cycle_length=max(1, min(len(shards), 4)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.map(lambda data: find_index(schema.parse_video_example(data)),
                          num_parallel_calls=parallel, deterministic=True)
    dataset = dataset.filter(lambda example: example["video_index"] >= 0)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(records)))
    if cache == "memory":
        dataset = dataset.cache()
    elif cache and str(cache).startswith("snapshot:"):
        dataset = dataset.snapshot(str(cache)[len("snapshot:"):])
    elif cache:
        dataset = dataset.cache(str(cache))
    return dataset
