"""`DatasetWriter`: sharded, crash-safe TFRecord writing with an append-only manifest."""

from __future__ import annotations

import fcntl
import logging
import os
import re

from kerasfer import schema
from kerasfer.errors import SchemaError

logger = logging.getLogger("tfrecords_builder")

SHARD_PATTERN = re.compile(r"^part-(\d{5,})" + re.escape(schema.SHARD_SUFFIX) + r"$")
TEMPORARY_PATTERN = re.compile(
    r"^(part-\d{5,}" + re.escape(schema.SHARD_SUFFIX) + r"\.tmp"
    r"|(" + "|".join(re.escape(name) for name in (
        schema.MANIFEST_FILENAME, schema.CLASSES_FILENAME, schema.FAILURES_FILENAME)) +
    r")\.tmp-\d+)$"
)
LOCK_FILENAME = ".builder.lock"


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_processed_video(item, processed, label):
    """Serialises one `ProcessedVideo` of a `VideoItem` with `kerasfer.schema`.

    Args:
        item: `VideoItem`. Gives the id, label name, subject, split and source path.
        processed: `ProcessedVideo`. The aligned faces.
        label: int. Class index into `classes.json` (-1 when unlabelled).

    Returns:
        bytes, one `tf.train.SequenceExample`.
    """
    return schema.encode_video_example(
        video_id=item.video_id,
        label=label,
        label_name=item.label_name,
        jpeg_frames=processed.jpeg_frames,
        landmarks=processed.landmarks,
        boxes=processed.boxes,
        timestamps=processed.timestamps,
        detected=processed.detected,
        crop_size=processed.crop_size,
        subject=item.subject,
        split=item.split,
        fps=processed.fps,
        num_source_frames=processed.frames_total,
        source_path=item.path,
        frame_labels=processed.frame_labels,
        audio_egemaps=getattr(processed, "audio_egemaps", None),
    )


class DatasetWriter:
    """Writes videos into `part-NNNNN.tfrecord` shards of a dataset directory.

    Crash safety: a shard is written as `part-NNNNN.tfrecord.tmp`, fsynced and renamed
    when it holds `videos_per_shard` videos (or the job ends); only then are its lines
    appended to `manifest.jsonl` (one `write` + fsync). So the manifest never names a
    missing or partial shard, and a `*.tfrecord` glob never sees a partial shard. On
    opening, the writer takes a lock (one builder per directory), deletes leftover
    temporary files, cuts a torn last manifest line and deletes shards that a crash left
    renamed but not yet in the manifest (their videos are written again). Finished shards
    are never rewritten; new shards continue the numbering.

    Args:
        directory: str. Output dataset directory (created if missing).
        videos_per_shard: int. Videos per shard file. Defaults to 50.
        overwrite: bool. Delete the directory's shards, manifest, class list and failures
            report first. Defaults to False (resume).

    Example:

    >>> with DatasetWriter("out") as writer:
    ...     if item.video_id not in writer.done_ids:
    ...         writer.write(item, processed, label=0)
    """

    def __init__(self, directory, videos_per_shard=50, overwrite=False):
        if int(videos_per_shard) < 1:
            raise ValueError(f"`videos_per_shard` must be >= 1. Received: "
                             f"videos_per_shard={videos_per_shard}")
        self.directory = os.path.abspath(str(directory))
        self.videos_per_shard = int(videos_per_shard)
        self.overwrite = bool(overwrite)
        try:
            os.makedirs(self.directory, exist_ok=True)
            self._lock_fd = os.open(os.path.join(self.directory, LOCK_FILENAME),
                                    os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SchemaError(self.directory, f"cannot write the output directory "
                              f"({exc.strerror or exc})", "pass a writable --out directory") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SchemaError(self.directory, "another tfrecords_builder is writing to this "
                              "directory", "wait for it to finish or use another --out") from None
        if self.overwrite:
            self._remove_outputs()
        self._remove_temporaries()
        self.records = self._read_manifest()
        self._remove_orphan_shards()
        self.done_ids = {record["id"] for record in self.records}
        indices = [int(SHARD_PATTERN.match(name).group(1)) for name in self._shard_files()]
        self._next_index = max(indices, default=-1) + 1
        self._writer = None
        self._shard_name = None
        self._pending = []
        self.shards_written = []

    @property
    def manifest_path(self):
        return os.path.join(self.directory, schema.MANIFEST_FILENAME)

    def _shard_files(self):
        return sorted(name for name in os.listdir(self.directory) if SHARD_PATTERN.match(name))

    def _remove_outputs(self):
        names = self._shard_files() + [schema.MANIFEST_FILENAME, schema.CLASSES_FILENAME,
                                       schema.FAILURES_FILENAME]
        for name in names:
            path = os.path.join(self.directory, name)
            if os.path.exists(path):
                os.remove(path)
        logger.info("--overwrite: removed the previous outputs of %s", self.directory)

    def _remove_temporaries(self):
        for name in os.listdir(self.directory):
            if TEMPORARY_PATTERN.match(name):
                os.remove(os.path.join(self.directory, name))
                logger.info("removed leftover temporary file %s (from an interrupted run)", name)

    def _read_manifest(self):
        path = self.manifest_path
        if not os.path.exists(path):
            return []
        with open(path, "rb") as handle:
            data = handle.read()
        if data and not data.endswith(b"\n"):
            # A crash during the append: the torn line's shard is then an orphan (below).
            with open(path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
            logger.warning("%s: cut a torn last line left by an interrupted run", path)
        return schema.read_manifest(self.directory)

    def _remove_orphan_shards(self):
        named = {record["shard"] for record in self.records}
        for name in self._shard_files():
            if name not in named:
                os.remove(os.path.join(self.directory, name))
                logger.warning("removed shard %s: an interrupted run renamed it but did not "
                               "list it in the manifest; its videos are written again", name)
        for name in sorted(named - set(self._shard_files())):
            logger.warning("%s: the manifest names shard %s but it is missing; its videos "
                           "count as done. Rebuild with --overwrite to restore them",
                           self.directory, name)

    def write(self, item, processed, label):
        """Appends one video to the current shard; returns its manifest record.

        Args:
            item: `VideoItem`.
            processed: `ProcessedVideo`.
            label: int. Class index (-1 when unlabelled).
        """
        serialized = encode_processed_video(item, processed, label)
        if getattr(processed, "audio_missing", False):
            logger.warning("%s: no audio track, so video %s is written with audio/present = 0. "
                           "give a file with sound to use its audio", item.path, item.video_id)
        if self._writer is None:
            import tensorflow as tf

            self._shard_name = f"part-{self._next_index:05d}{schema.SHARD_SUFFIX}"
            self._next_index += 1
            self._writer = tf.io.TFRecordWriter(self._temporary_path())
        self._writer.write(serialized)
        record = schema.manifest_record(
            video_id=item.video_id, label=label, label_name=item.label_name,
            subject=item.subject, split=item.split, frames_kept=processed.frames_kept,
            frames_total=processed.frames_total, shard=self._shard_name, fps=processed.fps,
            crop_size=processed.crop_size, source_path=item.path,
            has_frame_labels=processed.frame_labels is not None,
        )
        self._pending.append(record)
        if len(self._pending) >= self.videos_per_shard:
            self.commit()
        return record

    def _temporary_path(self):
        return os.path.join(self.directory, f"{self._shard_name}.tmp")

    def commit(self):
        """Finishes the current shard: fsync, rename, then append its manifest lines."""
        if self._writer is None:
            return
        import json

        self._writer.close()
        self._writer = None
        temporary = self._temporary_path()
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, os.path.join(self.directory, self._shard_name))
        _fsync_directory(self.directory)
        data = "".join(json.dumps(record, sort_keys=True) + "\n" for record in self._pending)
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self.records.extend(self._pending)
        self.done_ids.update(record["id"] for record in self._pending)
        self.shards_written.append(self._shard_name)
        logger.info("wrote %s (%d videos)", self._shard_name, len(self._pending))
        self._pending = []

    def abort(self):
        """Drops the unfinished shard (its videos are written again by the next run)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            os.remove(self._temporary_path())
        self._pending = []

    def close(self, commit=True):
        """Commits (or aborts) the current shard and releases the directory lock."""
        try:
            self.commit() if commit else self.abort()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.close(commit=exc_type is None)
        return False
