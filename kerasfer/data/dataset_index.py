"""`DatasetIndex`: the manifest, class list and shards of a dataset directory."""

from __future__ import annotations

import glob
import os

from kerasfer import schema
from kerasfer.errors import SchemaError


class DatasetIndex:
    """What a pipeline needs to plan epochs without opening a shard.

    A dataset directory (written by `tfrecords_builder` or `kerasfer.data.synthetic`) holds
    `*.tfrecord` shards, `manifest.jsonl` (one JSON object per video, see
    `kerasfer.schema.manifest_record`) and `classes.json`. The pipelines of `kerasfer.data`
    take an index plus a list of its records; the position of a record in that list is its
    `video_index`, the row of the clip plan and of the sampler's score table.

    Args:
        data_dir: str. The dataset directory.
        records: list of dict. Manifest records in file order.
        classes: list of str. Class names; index = label.

    Example:

    >>> index = DatasetIndex.load("out/")
    >>> train = index.select(split="train")
    >>> len(index.classes), len(train), index.shards_for(train)[:1]
    """

    def __init__(self, data_dir, records, classes):
        self.data_dir = str(data_dir)
        self.records = list(records)
        self.classes = list(classes)
        manifest_path = os.path.join(self.data_dir, schema.MANIFEST_FILENAME)
        self._by_id = {}
        for record in self.records:
            video_id = record.get("id")
            if video_id in self._by_id:
                raise SchemaError(manifest_path, f"video id {video_id!r} appears twice",
                                  "rebuild the dataset; ids must be unique")
            self._by_id[video_id] = record
        self.shard_paths = sorted({self.shard_path(record) for record in self.records})
        for path in self.shard_paths:
            if not os.path.exists(path):
                raise SchemaError(path, "shard named in the manifest is missing",
                                  "rerun the builder on this directory to rewrite it")

    @classmethod
    def load(cls, data_dir):
        """Reads `manifest.jsonl` and `classes.json` of `data_dir`."""
        if not os.path.isdir(data_dir):
            raise SchemaError(data_dir, "dataset directory does not exist",
                              "pass a directory written by `python -m tfrecords_builder`")
        records = schema.read_manifest(data_dir)
        classes = schema.read_classes(data_dir)
        if not records and glob.glob(os.path.join(data_dir, "*" + schema.SHARD_SUFFIX)):
            raise SchemaError(os.path.join(data_dir, schema.MANIFEST_FILENAME),
                              "manifest is empty but shards exist",
                              "rerun the builder on this directory to rewrite the manifest")
        return cls(data_dir, records, classes)

    @property
    def num_classes(self):
        return len(self.classes)

    def shard_path(self, record):
        """Returns the path of the shard that holds `record`."""
        shard = record["shard"]
        return shard if os.path.isabs(shard) else os.path.join(self.data_dir, shard)

    def record(self, video_id):
        """Returns the manifest record of `video_id`."""
        if video_id not in self._by_id:
            raise SchemaError(os.path.join(self.data_dir, schema.MANIFEST_FILENAME),
                              f"no video with id {video_id!r}",
                              "check the ids of the split file against the manifest")
        return self._by_id[video_id]

    def select(self, ids=None, split=None):
        """Returns the records with the given ids and/or split.

        Args:
            ids: iterable of str or None. Video ids; the result follows their order.
                Defaults to None (all records, in manifest order).
            split: str or None. Keep only records whose `split` equals this. Defaults to
                None.

        Returns:
            list of dict. The `video_index` of a video in any pipeline is its position here.
        """
        if ids is None:
            selected = list(self.records)
        else:
            ids = list(ids)
            if len(set(ids)) != len(ids):
                raise SchemaError(None, "the same video id is selected twice",
                                  "deduplicate the ids passed to DatasetIndex.select")
            selected = [self.record(video_id) for video_id in ids]
        if split is not None:
            selected = [record for record in selected if record.get("split", "") == split]
        return selected

    def shards_for(self, records):
        """Returns the sorted shard paths that hold `records`."""
        return sorted({self.shard_path(record) for record in records})

    def __len__(self):
        return len(self.records)

    def __repr__(self):
        return (f"DatasetIndex({self.data_dir!r}, videos={len(self.records)}, "
                f"classes={len(self.classes)}, shards={len(self.shard_paths)})")
