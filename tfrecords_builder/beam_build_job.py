"""`BeamBuildJob`: the builder's per-video work as an Apache Beam pipeline (`--runner beam`)."""

from __future__ import annotations

import json
import logging
import os
import shlex
import time

from kerasfer import errors
from tfrecords_builder.build_job import BuildJob
from tfrecords_builder.build_job import _process_one
from tfrecords_builder.build_job import _rebuild_error
from tfrecords_builder.writer import BEAM_RESULTS_FILENAME
from tfrecords_builder.writer import encode_processed_video
from tfrecords_builder.writer import video_record
from tfrecords_builder.writer import warn_if_no_audio

logger = logging.getLogger("tfrecords_builder")


def _process_element(element, options, process_fn):
    """Beam worker: `(index, item, label)` → `(index, status, payload, extra)`.

    The same work as the local runner (decode, detect, align, JPEG-encode in
    `_process_one`, then the deterministic `SequenceExample` encoding), so the bytes are
    the same; errors travel as `(type name, path, cause, fix)` like from a local worker.
    """
    index, item, label = element
    status, payload = _process_one((item, options, process_fn))
    if status != "ok":
        return index, "error", payload, None
    try:
        serialized = encode_processed_video(item, payload, label)
    except errors.KerasferError as error:
        return index, "error", (type(error).__name__, error.path, error.cause, error.fix), None
    return index, "ok", serialized, {"record": video_record(item, payload, label, shard=""),
                                     "audio_missing": bool(getattr(payload, "audio_missing", False))}


def shard_plan(statuses, shard_names, videos_per_shard):
    """Assigns the successful videos, in source order, to shards as the local writer does.

    Args:
        statuses: iterable of `(index, ok)`.
        shard_names: list of str. Names reserved for this run, in order.
        videos_per_shard: int.

    Returns:
        dict index → `(shard name, position in the shard)`.
    """
    good = sorted(index for index, ok in statuses if ok)
    return {index: (shard_names[rank // videos_per_shard], rank % videos_per_shard)
            for rank, index in enumerate(good)}


def _key_by_shard(result, plan):
    index, _, serialized, _ = result
    shard, position = plan[index]
    return shard, (position, serialized)


def _write_temporary_shard(keyed, directory):
    """Beam worker: writes one shard's records, in plan order, to `<shard>.tmp`."""
    import tensorflow as tf

    shard, records = keyed
    with tf.io.TFRecordWriter(os.path.join(directory, f"{shard}.tmp")) as writer:
        for _, serialized in sorted(records, key=lambda pair: pair[0]):
            writer.write(serialized)
    return shard


def _result_row(result):
    index, status, payload, extra = result
    if status == "ok":
        return {"index": index, "status": status, **extra}
    return {"index": index, "status": status, "error": list(payload)}


def _write_results(rows, path):
    with open(path, "w", encoding="utf-8") as handle:
        for row in sorted(rows, key=lambda r: r["index"]):
            handle.write(json.dumps(row, sort_keys=True) + "\n")


def _pipeline_options(beam_options, workers):
    from apache_beam.options.pipeline_options import PipelineOptions

    argv = shlex.split(beam_options or "")
    if not any(arg.startswith("--runner") for arg in argv) and workers > 1 and \
            not any(arg.startswith("--direct_num_workers") for arg in argv):
        # DirectRunner on this machine: --workers N processes, as with the local runner.
        argv += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return PipelineOptions(argv)


class BeamBuildJob(BuildJob):
    """A `BuildJob` whose per-video work runs as an Apache Beam pipeline.

    The driver (this process) lists the source, checks labels, duplicates and resume
    exactly as `BuildJob` does, and reserves shard names; the pipeline processes each
    pending video (decode, detect, align, crop, JPEG, `SequenceExample`), assigns the
    successful ones to shards in source order (`shard_plan`, the local writer's order) and
    writes each shard as a temporary file; the driver then commits the shards (journal,
    rename, manifest) and reports the failures in source order. So the shards, manifest,
    `classes.json` and `failures.jsonl` are byte for byte those of the local runner, and a
    rerun skips finished videos. The DirectRunner runs here (`--workers N` → N worker
    processes); the same code runs on Dataflow, Flink or Spark with their `--runner`
    options in `beam_options`, given an output directory the workers and the driver share.

    Args:
        source, out, options, videos_per_shard, overwrite, classes, process_fn: as
            `BuildJob`.
        workers: int. DirectRunner worker processes when `beam_options` names no runner.
            Defaults to 1.
        beam_options: str. Beam pipeline options, e.g.
            `"--runner=FlinkRunner --flink_master=host:8081"`. Defaults to "".

    Example:

    >>> summary = BeamBuildJob(make_source("folders:AFEW"), "afew_tfr", workers=2).run()
    >>> summary.succeeded
    True
    """

    def __init__(self, source, out, options=None, workers=1, videos_per_shard=50,
                 overwrite=False, strict=False, classes=None, progress=True, process_fn=None,
                 beam_options=""):
        if strict:
            raise ValueError("--strict needs the local runner (a Beam pipeline does not stop "
                             "at the first video). Received: strict=True")
        super().__init__(source, out, options, workers=workers,
                         videos_per_shard=videos_per_shard, overwrite=overwrite, strict=False,
                         classes=classes, progress=progress, process_fn=process_fn)
        self.beam_options = str(beam_options or "")

    def _run_pipeline(self, pending, label_index, shard_names):
        import apache_beam as beam

        elements = [(index, item, label_index.get(item.label_name, -1))
                    for index, item in enumerate(pending)]
        results_path = os.path.join(self.out, BEAM_RESULTS_FILENAME)
        # The DirectRunner relays its workers' harmless start-up warnings; errors still show.
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        with beam.Pipeline(options=_pipeline_options(self.beam_options, self.workers)) as p:
            results = (p | "ListVideos" >> beam.Create(elements)
                       | "Spread" >> beam.Reshuffle()
                       | "DecodeDetectAlignEncode" >> beam.Map(_process_element, self.options,
                                                               self.process_fn))
            plan = (results | "Status" >> beam.Map(lambda r: (r[0], r[1] == "ok"))
                    | "AllStatuses" >> beam.combiners.ToList()
                    | "PlanShards" >> beam.Map(shard_plan, shard_names, self.videos_per_shard))
            _ = (results | "Good" >> beam.Filter(lambda r: r[1] == "ok")
                 | "KeyByShard" >> beam.Map(_key_by_shard, beam.pvalue.AsSingleton(plan))
                 | "GroupShards" >> beam.GroupByKey()
                 | "WriteShards" >> beam.Map(_write_temporary_shard, self.out))
            _ = (results | "Rows" >> beam.Map(_result_row)
                 | "AllRows" >> beam.combiners.ToList()
                 | "WriteResults" >> beam.Map(_write_results, results_path))
        with open(results_path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def run(self):
        """Runs the pipeline; returns a `BuildSummary` (check `.succeeded`)."""
        start = time.monotonic()
        summary, items, listing_errors, writer, failures = self._open()
        commit = True
        try:
            pending, label_index = self._check(items, writer, failures, summary, listing_errors)
            logger.info("%d listed, %d already done, %d to process with the Beam runner",
                        summary.listed, summary.skipped, len(pending))
            if pending:
                count = -(-len(pending) // self.videos_per_shard)
                names = writer.reserve_shards(count)
                rows = self._run_pipeline(pending, label_index, names)
                plan = shard_plan(((r["index"], r["status"] == "ok") for r in rows), names,
                                  self.videos_per_shard)
                by_shard = {}
                for row in rows:
                    item = pending[row["index"]]
                    if row["status"] != "ok":
                        self._fail(failures, summary, item.video_id, _rebuild_error(row["error"]))
                        continue
                    warn_if_no_audio(item, _AudioFlag(row["audio_missing"]))
                    shard, _ = plan[row["index"]]
                    by_shard.setdefault(shard, []).append({**row["record"], "shard": shard})
                for shard in names:
                    if shard in by_shard:
                        writer.commit_shard(shard, by_shard[shard])
        except KeyboardInterrupt:
            summary.stopped_early = "interrupted"
            commit = False
            logger.error("interrupted: the unfinished shards are dropped; rerun to resume")
        except Exception:
            commit = False
            raise
        finally:
            writer.close(commit=commit)
            failures.finish()
        return self._committed_summary(summary, writer, start)


class _AudioFlag:
    def __init__(self, missing):
        self.audio_missing = missing
