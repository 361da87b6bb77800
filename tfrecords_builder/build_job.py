"""`BuildJob`: lists a source, processes its videos (optionally in parallel), writes shards."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time

from kerasfer import errors
from tfrecords_builder.build_summary import BuildSummary
from tfrecords_builder.class_list import resolve_classes
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.failure_log import FailureLog
from tfrecords_builder.writer import DatasetWriter

logger = logging.getLogger("tfrecords_builder")


def _ignore_interrupts():
    # Workers leave Ctrl-C to the main process, which stops the pool and drops the
    # unfinished shard; a worker dying on its own KeyboardInterrupt would hang `imap`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_one(payload):
    """Runs in a worker (no TensorFlow there): `(item, options, fn)` → ("ok", video) or error."""
    item, options, process_fn = payload
    try:
        if process_fn is None:
            from tfrecords_builder.process import process_video as process_fn
        return "ok", process_fn(item, options)
    except errors.KerasferError as error:
        # Exceptions with custom __init__ do not unpickle; send their fields instead.
        return "error", (type(error).__name__, error.path, error.cause, error.fix)
    except Exception as exc:  # noqa: BLE001 - one bad video must not stop the job
        return "error", ("KerasferError", item.path, f"unexpected {type(exc).__name__}: {exc}",
                         "please report this with the file")


def _rebuild_error(fields):
    name, path, cause, fix = fields
    return getattr(errors, name, errors.KerasferError)(path, cause, fix)


class BuildJob:
    """One builder run: source → faces → sharded TFRecords + manifest + failures report.

    Videos already in the manifest are skipped (resume) unless `overwrite`. Bad input never
    stops the job (unless `strict`): unreadable label rows, duplicate ids, unknown labels,
    missing, empty, corrupt or non-video files and videos with no face each give one log
    line (file, cause, fix) and one row in `failures.jsonl`. With `workers > 1`, videos are
    processed in a "spawn" process pool (TensorFlow stays in this process, which
    serialises); results are consumed in source order, so shards hold the same bytes as
    with one worker.

    Args:
        source: a source adapter (`tfrecords_builder.sources`): `items(on_error)` and
            `classes`.
        out: str. Dataset directory.
        options: `FaceOptions` or None. Decoding and face options. Defaults to None
            (`FaceOptions()`).
        workers: int. Processes for decoding and faces. Defaults to 1 (in-process).
        videos_per_shard: int. Videos per TFRecord shard. Defaults to 50.
        overwrite: bool. Rebuild from scratch. Defaults to False.
        strict: bool. Stop at the first error (finished shards are kept). Defaults to False.
        classes: list of str or None. Explicit class list (`--classes`); labels outside it
            are failures. Defaults to None.
        progress: bool. Show a tqdm progress bar with ETA on stderr. Defaults to True.
        process_fn: callable `(VideoItem, FaceOptions) -> ProcessedVideo` or None. Defaults
            to `tfrecords_builder.process.process_video`; must be importable by name when
            `workers > 1`.

    Example:

    >>> summary = BuildJob(make_source("folders:AFEW"), "afew_tfr", workers=2).run()
    >>> summary.succeeded
    True
    """

    def __init__(self, source, out, options=None, workers=1, videos_per_shard=50,
                 overwrite=False, strict=False, classes=None, progress=True, process_fn=None):
        if int(workers) < 1:
            raise ValueError(f"`workers` must be >= 1. Received: workers={workers}")
        self.source = source
        self.out = os.path.abspath(str(out))
        self.options = FaceOptions() if options is None else options
        self.workers = int(workers)
        self.videos_per_shard = int(videos_per_shard)
        self.overwrite = bool(overwrite)
        self.strict = bool(strict)
        self.classes = None if classes is None else list(classes)
        self.progress = bool(progress)
        self.process_fn = process_fn

    def _fail(self, failures, summary, video_id, error):
        failures.add(video_id, error)
        summary.failed += 1
        logger.warning("failed %s [%s]: %s", video_id, error.kind, error.message)
        if self.strict:
            summary.stopped_early = "strict"
            raise _StrictStop()

    def _check(self, items, writer, failures, summary, listing_errors):
        """Pre-processing checks; returns the items left to process, in source order."""
        for video_id, error in listing_errors:
            self._fail(failures, summary, video_id, error)
        labels = {item.label_name for item in items}
        classes = resolve_classes(self.out, labels, self.classes, getattr(self.source, "classes", None))
        first_by_id, pending = {}, []
        for item in items:
            first = first_by_id.setdefault(item.video_id, item)
            if first is not item:
                self._fail(failures, summary, item.video_id, errors.DuplicateVideoError(
                    item.path, f"video id {item.video_id!r} is already used by {first.path}",
                    "rename one of them (ids are paths without extension, so a.mp4 and a.avi "
                    "collide) or remove the duplicate entry"))
            elif item.video_id in writer.done_ids:
                summary.skipped += 1
            elif item.label_name and item.label_name not in classes:
                self._fail(failures, summary, item.video_id, errors.LabelError(
                    item.path, f"label {item.label_name!r} is not in the class list "
                    f"{classes}", "add it to --classes or fix the video's label"))
            elif not os.path.exists(item.path):
                self._fail(failures, summary, item.video_id, errors.VideoDecodeError(
                    item.path, "file not found",
                    f"check the path listed by the {getattr(self.source, 'kind', '')} source "
                    "or remove the entry"))
            else:
                pending.append(item)
        return pending, {name: index for index, name in enumerate(classes)}

    def _results(self, pending, pool):
        payloads = ((item, self.options, self.process_fn) for item in pending)
        if pool is None:
            return map(_process_one, payloads)
        return pool.imap(_process_one, payloads, chunksize=1)

    def run(self):
        """Runs the job; returns a `BuildSummary` (check `.succeeded`)."""
        from tqdm import tqdm

        start = time.monotonic()
        summary = BuildSummary(directory=self.out)
        listing_errors = []
        items = self.source.items(on_error=lambda i, e: listing_errors.append((i, e)))
        summary.listed = len(items) + len(listing_errors)
        writer = DatasetWriter(self.out, self.videos_per_shard, self.overwrite)
        failures = FailureLog(self.out)
        pool, commit = None, True
        try:
            pending, label_index = self._check(items, writer, failures, summary, listing_errors)
            logger.info("%d listed, %d already done, %d to process with %d worker(s)",
                        summary.listed, summary.skipped, len(pending), self.workers)
            if self.workers > 1 and len(pending) > 1:
                context = multiprocessing.get_context("spawn")
                pool = context.Pool(min(self.workers, len(pending)), initializer=_ignore_interrupts)
            bar = tqdm(total=len(pending), unit="video", file=sys.stderr, dynamic_ncols=True,
                       disable=not self.progress or not pending)
            with bar:
                for item, (status, payload) in zip(pending, self._results(pending, pool)):
                    bar.update(1)
                    if status == "error":
                        self._fail(failures, summary, item.video_id, _rebuild_error(payload))
                        continue
                    try:
                        writer.write(item, payload, label_index.get(item.label_name, -1))
                    except errors.KerasferError as error:
                        self._fail(failures, summary, item.video_id, error)
                        continue
                    summary.written += 1
                    summary.frames_kept += payload.frames_kept
                    summary.frames_total += payload.frames_total
                    bar.set_postfix(frames=f"{summary.frames_kept}/{summary.frames_total}",
                                    failed=summary.failed, refresh=False)
        except _StrictStop:
            logger.error("--strict: stopped at the first error; finished videos are kept")
        except KeyboardInterrupt:
            summary.stopped_early = "interrupted"
            commit = False
            logger.error("interrupted: the unfinished shard is dropped; rerun to resume")
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            writer.close(commit=commit)
            failures.finish()
        # Count only committed shards: an interrupted run's dropped shard wrote nothing.
        summary.shards = list(writer.shards_written)
        committed = [r for r in writer.records if r["shard"] in set(summary.shards)]
        summary.written = len(committed)
        summary.frames_kept = sum(r["frames_kept"] for r in committed)
        summary.frames_total = sum(r["frames_total"] for r in committed)
        summary.seconds = time.monotonic() - start
        return summary


class _StrictStop(Exception):
    pass
