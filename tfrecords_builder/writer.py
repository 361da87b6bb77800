"""`DatasetWriter`: sharded, crash-safe TFRecord writing with an append-only manifest."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re

from kerasfer import schema
from kerasfer.errors import SchemaError
from kerasfer.owned_directory import OwnedDirectory

logger = logging.getLogger("tfrecords_builder")

SHARD_PATTERN = re.compile(r"^part-(\d{5,})" + re.escape(schema.SHARD_SUFFIX) + r"$")
LOCK_FILENAME = ".builder.lock"
# Write-ahead journal: the temporary shard being written and the shard being committed
# (with its manifest lines), so a rerun after kill -9 deletes only the temporary file this
# builder recorded and completes an interrupted commit instead of guessing from file names.
JOURNAL_FILENAME = ".builder-journal.jsonl"
TOOL = "tfrecords_builder"
# Where the Beam runner's workers leave their per-video results for the driver.
BEAM_RESULTS_FILENAME = ".beam-results.jsonl"


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


def video_record(item, processed, label, shard):
    """Returns the manifest record of one written video (`kerasfer.schema.manifest_record`)."""
    return schema.manifest_record(
        video_id=item.video_id, label=label, label_name=item.label_name,
        subject=item.subject, split=item.split, frames_kept=processed.frames_kept,
        frames_total=processed.frames_total, shard=shard, fps=processed.fps,
        crop_size=processed.crop_size, source_path=item.path,
        has_frame_labels=processed.frame_labels is not None,
    )


def warn_if_no_audio(item, processed):
    """Logs the one-line warning for a video written without its (asked for) audio."""
    if getattr(processed, "audio_missing", False):
        logger.warning("%s: no audio track, so video %s is written with audio/present = 0. "
                       "give a file with sound to use its audio", item.path, item.video_id)


class DatasetWriter:
    """Writes videos into `part-NNNNN.tfrecord` shards of a dataset directory.

    Crash safety: a shard is written as `part-NNNNN.tfrecord.tmp`, fsynced and renamed
    when it holds `videos_per_shard` videos (or the job ends); only then are its lines
    appended to `manifest.jsonl` (one `write` + fsync). So the manifest never names a
    missing or partial shard, and a `*.tfrecord` glob never sees a partial shard. Before
    creating a temporary shard and before renaming it, the writer appends what it is doing
    to a journal (`.builder-journal.jsonl`). On opening, the writer claims the directory
    (`kerasfer.owned_directory.OwnedDirectory`: a non-empty directory that kerasfer did not
    create is refused, naming its files), takes a lock (one builder per directory), cuts a
    torn last manifest line, deletes the temporary shard the journal names and completes a
    commit the journal names whose shard was renamed but not yet listed. A `part-*` shard
    that no record lists is never deleted: the writer stops and names it. Finished shards
    are never rewritten; new shards continue the numbering; nothing is deleted through a
    symbolic link.

    Args:
        directory: str. Output dataset directory (created if missing).
        videos_per_shard: int. Videos per shard file. Defaults to 50.
        overwrite: bool. Delete the shards listed in the manifest, the manifest, class
            list, failures report and face options first (nothing else). Defaults to
            False (resume).

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
        self.owned = OwnedDirectory(self.directory, TOOL)
        self.owned.claim(ignore=(LOCK_FILENAME,), adopt=self._is_earlier_build)
        try:
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
        try:
            self._cut_torn_manifest_line()
            self._recover_journal()
            if self.overwrite:
                self._remove_outputs()
            self.records = self._read_manifest()
            self._check_listed_shards()
        except BaseException:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self.done_ids = {record["id"] for record in self.records}
        indices = [int(SHARD_PATTERN.match(name).group(1)) for name in self._shard_files()]
        self._next_index = max(indices, default=-1) + 1
        self._writer = None
        self._shard_name = None
        self._pending = []
        self._reserved = []
        self.shards_written = []

    @property
    def manifest_path(self):
        return os.path.join(self.directory, schema.MANIFEST_FILENAME)

    def _shard_files(self):
        return sorted(name for name in os.listdir(self.directory) if SHARD_PATTERN.match(name))

    def _is_earlier_build(self, names):
        # A directory written before the marker existed: adopted only when its own manifest
        # lists every shard in it and nothing else is there but the builder's files.
        if schema.MANIFEST_FILENAME not in names:
            return False
        try:
            listed = {record["shard"] for record in schema.read_manifest(self.directory)}
        except (SchemaError, KeyError, TypeError):
            return False
        own = {schema.MANIFEST_FILENAME, schema.CLASSES_FILENAME, schema.FAILURES_FILENAME,
               schema.FACE_OPTIONS_FILENAME, JOURNAL_FILENAME, LOCK_FILENAME}
        return all(name in own or name in listed for name in names)

    def _remove_outputs(self):
        listed = sorted({record["shard"] for record in self._read_manifest()})
        names = [name for name in listed if SHARD_PATTERN.match(name)] + [
            schema.MANIFEST_FILENAME, schema.CLASSES_FILENAME, schema.FAILURES_FILENAME,
            schema.FACE_OPTIONS_FILENAME]
        removed = [name for name in names if self.owned.remove(name)]
        logger.info("--overwrite: removed %d files the previous build wrote in %s (%s)",
                    len(removed), self.directory, ", ".join(removed) or "none")

    def _journal(self, entry):
        fd = os.open(os.path.join(self.directory, JOURNAL_FILENAME),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def _clear_journal(self):
        self.owned.remove(JOURNAL_FILENAME)

    def _recover_journal(self):
        """Deletes the temporary shard and completes the commit an interrupted run recorded."""
        path = os.path.join(self.directory, JOURNAL_FILENAME)
        if not os.path.isfile(path) or os.path.islink(path):
            return
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")[:-1]  # a torn last line was never acted on
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        done = {record["id"] for record in self._read_manifest()}
        for entry in entries:
            temporary = str(entry.get("writing", ""))
            if temporary == BEAM_RESULTS_FILENAME:
                self.owned.remove(temporary)
            elif temporary.endswith(".tmp") and SHARD_PATTERN.match(temporary[:-4]):
                if self.owned.remove(temporary):
                    logger.info("removed %s: the temporary shard of an interrupted run (its "
                                "videos are written again)", temporary)
            shard = str(entry.get("committing", ""))
            if SHARD_PATTERN.match(shard) and os.path.isfile(os.path.join(self.directory, shard)):
                missing = [r for r in entry.get("records", []) if r.get("id") not in done]
                if missing:
                    self._append_manifest(missing)
                    done.update(record["id"] for record in missing)
                    logger.info("completed the commit of %s that an interrupted run renamed "
                                "but did not list: %d videos added to the manifest",
                                shard, len(missing))
        self._clear_journal()

    def _read_manifest(self):
        return schema.read_manifest(self.directory) if os.path.isfile(self.manifest_path) else []

    def _cut_torn_manifest_line(self):
        path = self.manifest_path
        if not os.path.isfile(path):
            return
        with open(path, "rb") as handle:
            data = handle.read()
        if data and not data.endswith(b"\n"):
            # A crash during the append: the journal still holds the full lines.
            with open(path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
            logger.warning("%s: cut a torn last line left by an interrupted run", path)

    def _check_listed_shards(self):
        named = {record["shard"] for record in self.records}
        unlisted = [name for name in self._shard_files() if name not in named]
        if unlisted:
            raise SchemaError(
                os.path.join(self.directory, unlisted[0]),
                f"is not listed in {schema.MANIFEST_FILENAME}, so kerasfer cannot tell that it "
                f"wrote it ({len(unlisted)} such shard(s): {', '.join(unlisted[:5])})",
                f"move it out of {self.directory} (readers would take it for data), then rerun; "
                "nothing was deleted")
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
        warn_if_no_audio(item, processed)
        if self._writer is None:
            import tensorflow as tf

            self._shard_name = f"part-{self._next_index:05d}{schema.SHARD_SUFFIX}"
            self._next_index += 1
            self._journal({"writing": os.path.basename(self._temporary_path())})
            self._writer = tf.io.TFRecordWriter(self._temporary_path())
        self._writer.write(serialized)
        record = video_record(item, processed, label, self._shard_name)
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
        self._writer.close()
        self._writer = None
        self._finish(self._shard_name, self._pending)
        self._clear_journal()
        self._pending = []

    def _finish(self, shard, records):
        temporary = os.path.join(self.directory, f"{shard}.tmp")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        self._journal({"committing": shard, "records": records})
        # The final name is free: `_check_listed_shards` refused unlisted shards and the
        # numbering continues after every existing one.
        os.replace(temporary, os.path.join(self.directory, shard))
        _fsync_directory(self.directory)
        self._append_manifest(records)
        self.records.extend(records)
        self.done_ids.update(record["id"] for record in records)
        self.shards_written.append(shard)
        logger.info("wrote %s (%d videos)", shard, len(records))

    def reserve_shards(self, count):
        """Names the next `count` shards for writers in other processes (the Beam runner).

        Their temporary files (`<name>.tmp`) and the Beam results file are journaled first,
        so an interrupted run's leftovers are deleted by the next one. Returns the names.
        """
        names = [f"part-{self._next_index + k:05d}{schema.SHARD_SUFFIX}" for k in range(count)]
        self._next_index += count
        for name in names + [BEAM_RESULTS_FILENAME]:
            self._journal({"writing": name if name == BEAM_RESULTS_FILENAME else f"{name}.tmp"})
        self._reserved.extend(names)
        return names

    def commit_shard(self, shard, records):
        """Commits a reserved shard that another process wrote as `<shard>.tmp`.

        Args:
            shard: str. A name returned by `reserve_shards`.
            records: list of dict. Its manifest records, in the shard's order.
        """
        if shard not in self._reserved:
            raise ValueError(f"`shard` was not reserved by this writer. Received: shard={shard}")
        self._finish(shard, list(records))

    def _release_reserved(self):
        for name in self._reserved:  # committed ones were renamed: nothing to remove
            self.owned.remove(f"{name}.tmp")
        if self._reserved:
            self.owned.remove(BEAM_RESULTS_FILENAME)
            self._clear_journal()
        self._reserved = []

    def _append_manifest(self, records):
        data = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def abort(self):
        """Drops the unfinished shard (its videos are written again by the next run)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self.owned.remove(os.path.basename(self._temporary_path()))
            self._clear_journal()
        self._pending = []

    def close(self, commit=True):
        """Commits (or aborts) the current shard and releases the directory lock."""
        try:
            self.commit() if commit else self.abort()
            self._release_reserved()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.close(commit=exc_type is None)
        return False
