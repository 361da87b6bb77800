"""`BuildJob`: lists a source, processes its videos (optionally in parallel), writes shards."""

from __future__ import annotations

import collections
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

from kerasfer import errors
from kerasfer import schema
from tfrecords_builder.build_summary import BuildSummary
from tfrecords_builder.class_list import resolve_classes
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.face_options import settings_record
from tfrecords_builder.failure_log import FailureLog
from tfrecords_builder.writer import DatasetWriter

logger = logging.getLogger("tfrecords_builder")


def _watch_parent(parent_pid):
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(1)


def _init_worker(parent_pid):
    # Workers leave Ctrl-C to the main process, which stops them and drops the unfinished
    # shard; and they exit when the main process dies (kill -9), instead of waiting forever
    # on their task queue.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


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


def _new_executor(workers):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))


def _stop_executor(executor):
    # Running tasks are not cancellable: terminate the workers so Ctrl-C / the end of a
    # --strict run does not wait for a long video to finish.
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def _ordered_parallel(items, options, process_fn, workers):
    """Processes `items` in spawned workers; yields results in item order.

    At most `2 * workers` videos are in flight, so memory stays bounded. A worker that dies
    (e.g. a native crash in a decoder) breaks the pool: the pool is restarted and the video
    at the head is retried alone; if it breaks the pool again it is reported as a failure
    and the job carries on (a plain `multiprocessing.Pool` would hang forever instead).
    """
    from concurrent.futures.process import BrokenProcessPool

    executor, in_flight, next_index, alone = _new_executor(workers), collections.deque(), 0, False
    try:
        while next_index < len(items) or in_flight:
            try:
                while next_index < len(items) and len(in_flight) < (1 if alone else 2 * workers):
                    payload = (items[next_index], options, process_fn)
                    in_flight.append((next_index, executor.submit(_process_one, payload)))
                    next_index += 1
                result = in_flight[0][1].result()
            except BrokenProcessPool:  # from `result`, or from `submit` after a crash
                head = in_flight[0][0] if in_flight else next_index
                _stop_executor(executor)
                executor, in_flight = _new_executor(workers), collections.deque()
                if alone:
                    alone, next_index = False, head + 1
                    yield "error", ("VideoDecodeError", items[head].path,
                                    "the worker process crashed while processing this video",
                                    "check that the file plays in ffplay/VLC; re-encode or remove it")
                else:
                    alone, next_index = True, head
                continue
            in_flight.popleft()
            alone = False
            yield result
    finally:
        _stop_executor(executor)


def _rebuild_error(fields):
    name, path, cause, fix = fields
    return getattr(errors, name, errors.KerasferError)(path, cause, fix)


class BuildJob:
    """One builder run: source → faces → sharded TFRecords + manifest + failures report.

    Videos already in the manifest are skipped (resume) unless `overwrite`. Bad input never
    stops the job (unless `strict`): unreadable label rows, duplicate ids, unknown labels,
    missing, empty, corrupt or non-video files and videos with no face each give one log
    line (file, cause, fix) and one row in `failures.jsonl`. With `workers > 1`, videos are
    processed in "spawn" worker processes (TensorFlow stays in this process, which
    serialises); results are consumed in source order, so shards hold the same bytes as
    with one worker. A video that crashes its worker process is reported, not retried forever.

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
        sizes = sorted({record["crop_size"] for record in writer.records})
        if sizes and sizes != [self.options.crop_size]:
            raise errors.ConfigError(self.out, f"the directory holds {sizes} px crops, this run "
                                     f"makes {self.options.crop_size} px ones",
                                     f"pass --crop-size {sizes[0]} to resume, or --overwrite")
        self._record_face_options(writer)
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

    def _record_face_options(self, writer):
        """Writes `face_options.json` (what export/predict need), refusing to mix settings."""
        import json

        path = os.path.join(self.out, schema.FACE_OPTIONS_FILENAME)
        record = settings_record(self.options)
        existing = None
        if os.path.isfile(path) and not os.path.islink(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    existing = json.load(handle)
            except (OSError, ValueError):
                existing = None
        if existing == record:
            return
        if writer.records and isinstance(existing, dict):
            before = existing.get("face_options", {})
            changed = [f"{field.name} {before.get(field.name)!r} -> "
                       f"{getattr(self.options, field.name)!r}"
                       for field in dataclasses.fields(FaceOptions)
                       if before.get(field.name) != getattr(self.options, field.name)]
            if changed:
                raise errors.ConfigError(
                    path, f"the directory's videos were built with other face options "
                    f"({'; '.join(changed)})", "pass the recorded options to resume, or "
                    "--overwrite to rebuild everything")
        schema.write_json_atomic(path, record)

    def _open(self):
        """Lists the source and opens the output: the start of every `run`.

        Returns:
            `(summary, items, listing_errors, writer, failures)`: a `BuildSummary` counting
            the listed videos, the listed `SourceItem`s, the `(item, error)` pairs the
            source could not list, the `DatasetWriter` and the `FailureLog`.
        """
        summary = BuildSummary(directory=self.out)
        listing_errors = []
        items = self.source.items(on_error=lambda i, e: listing_errors.append((i, e)))
        summary.listed = len(items) + len(listing_errors)
        return (summary, items, listing_errors,
                DatasetWriter(self.out, self.videos_per_shard, self.overwrite),
                FailureLog(self.out))

    @staticmethod
    def _committed_summary(summary, writer, start):
        """Fills `summary` from the committed shards (after `writer.close`) and returns it.

        Only committed shards count: an interrupted run's dropped shard wrote nothing.
        """
        summary.shards = list(writer.shards_written)
        committed = [r for r in writer.records if r["shard"] in set(summary.shards)]
        summary.written = len(committed)
        summary.frames_kept = sum(r["frames_kept"] for r in committed)
        summary.frames_total = sum(r["frames_total"] for r in committed)
        summary.seconds = time.monotonic() - start
        return summary

    def _results(self, pending):
        """Yields one `_process_one` result per pending item, in order."""
        if self.workers == 1 or len(pending) < 2:
            for item in pending:
                yield _process_one((item, self.options, self.process_fn))
            return
        yield from _ordered_parallel(pending, self.options, self.process_fn,
                                     min(self.workers, len(pending)))

    def run(self):
        """Runs the job; returns a `BuildSummary` (check `.succeeded`)."""
        from tqdm import tqdm

        start = time.monotonic()
        summary, items, listing_errors, writer, failures = self._open()
        commit, results = True, None
        try:
            pending, label_index = self._check(items, writer, failures, summary, listing_errors)
            logger.info("%d listed, %d already done, %d to process with %d worker(s)",
                        summary.listed, summary.skipped, len(pending), self.workers)
            bar = tqdm(total=len(pending), unit="video", file=sys.stderr, dynamic_ncols=True,
                       disable=not self.progress or not pending)
            results = self._results(pending)
            with bar:
                for item, (status, payload) in zip(pending, results):
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
        except Exception:
            commit = False  # an unexpected error: keep only shards known to be complete
            raise
        finally:
            if results is not None:
                results.close()  # stops the worker processes, if any
            writer.close(commit=commit)
            failures.finish()
        return self._committed_summary(summary, writer, start)


class _StrictStop(Exception):
    pass
