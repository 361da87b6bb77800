"""Finds the corrupt shard behind a TensorFlow `DataLossError` and says how to rebuild it.

TensorFlow reports a truncated or corrupt TFRecord as `DataLossError: truncated record at
90350` (or `corrupted record at ...`) without naming the file. `corrupt_shard_error` reads
every shard of the dataset once to find the culprit(s) and returns a `SchemaError` whose one
line names the shard and the fix, so the CLIs print that instead of a traceback.

Example:

>>> try:
...     model.fit(dataset)
... except tf.errors.DataLossError as exc:
...     raise corrupt_shard_error(index.shard_paths, exc) from None
"""

from __future__ import annotations

import re

from kerasfer.errors import SchemaError

_CAUSE = re.compile(r"(truncated|corrupted) record at \d+|Read less bytes than requested")


def _cause(error):
    message = getattr(error, "message", str(error))
    match = _CAUSE.search(message)
    return match.group(0) if match else message.strip().splitlines()[0]


def find_corrupt_shards(shard_paths):
    """Returns `[(path, cause), ...]` for the shards that cannot be read to the end.

    Args:
        shard_paths: iterable of str. TFRecord files.
    """
    import tensorflow as tf

    corrupt = []
    for path in shard_paths:
        try:
            for _ in tf.data.TFRecordDataset(path):
                pass
        except (tf.errors.DataLossError, tf.errors.NotFoundError) as exc:
            corrupt.append((str(path), _cause(exc)))
    return corrupt


def corrupt_shard_error(shard_paths, error):
    """Returns the `SchemaError` to raise for a `DataLossError` met while reading shards.

    Args:
        shard_paths: list of str. The dataset's shards (`DatasetIndex.shard_paths`).
        error: `tf.errors.OpError`. The error TensorFlow raised.
    """
    corrupt = find_corrupt_shards(shard_paths)
    # The builder's resume counts a manifest-listed shard as done even when it is gone, so
    # the rebuild is `--overwrite` (which deletes only what the manifest lists).
    fix = ("restore the shard from a copy, or rebuild the dataset: rerun `python -m "
           "tfrecords_builder` with the same --source and --out and --overwrite (it deletes "
           "only the files its manifest lists)")
    if not corrupt:
        return SchemaError(None, f"a shard could not be read ({_cause(error)}) but every shard "
                           "reads to the end now", "check the disk, then rerun")
    path, cause = corrupt[0]
    others = f" (and {len(corrupt) - 1} more: {', '.join(p for p, _ in corrupt[1:])})" \
        if len(corrupt) > 1 else ""
    return SchemaError(path, f"corrupt shard: {cause}{others}", fix)
