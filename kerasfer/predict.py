"""`python -m kerasfer.predict VIDEO_OR_DIR... --model EXPORT_OR_RUN [--out DIR] [--annotate]`.

Raw videos → the builder's face pipeline (with the settings recorded in the export) → the
SavedModel → per video, in `--out` (default `predictions/`):

* `<video>.csv`: one row per decoded frame: frame index, timestamp, face found, detected
  (False when tracked), face box, predicted class and one probability per class (empty
  cells when the frame has no face);
* `<video>.json`: whole-video prediction and probabilities (Ayral (2021) thesis, Eq. 3.3
  pooling with γ_p), frame counts, speed, the settings used;
* `<video>_timeline.png`: the class probabilities over time;
* `<video>_annotated.mp4` with `--annotate`: the video with the face box and the current
  emotion drawn.

A directory argument means every video file in it (recursively). A missing, corrupt or
faceless video prints one line (file, cause, fix) and the others are still processed; the
exit code is 1 when any video failed, 2 when the model cannot be used. The Python API is
`kerasfer.Predictor`.

Example:

    python -m kerasfer.predict clip.mp4 my_videos/ --model runs/cpu_tiny --annotate
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg",
                    ".wmv", ".flv", ".3gp", ".y4m", ".ts", ".mts", ".ogv")
OUT_MARKER = ".kerasfer_predictions"


def list_videos(arguments):
    """Expands files and directories into `(videos, errors)`; directories are walked."""
    videos, errors = [], []
    for argument in arguments:
        if not os.path.isdir(argument):
            videos.append(argument)
            continue
        found = []
        for root, dirs, files in os.walk(argument):
            dirs.sort()
            found += [os.path.join(root, name) for name in sorted(files)
                      if name.lower().endswith(VIDEO_EXTENSIONS)]
        if not found:
            errors.append(f"{argument}: no video files in the directory. pass video files "
                          f"or a directory holding {'/'.join(VIDEO_EXTENSIONS[:6])}... files")
        videos += found
    return videos, errors


def check_out_dir(out_dir):
    """Creates `out_dir`, refusing a non-empty directory that kerasfer.predict did not make."""
    marker = os.path.join(out_dir, OUT_MARKER)
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not os.path.exists(marker):
        raise FileExistsError(f"{out_dir}: the directory is not empty and was not written by "
                              "kerasfer.predict. pass another --out directory")
    os.makedirs(out_dir, exist_ok=True)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("written by python -m kerasfer.predict\n")


# TensorFlow 2.21 logs these through absl before `TF_CPP_MIN_LOG_LEVEL` is read.
_TF_NOISE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)")


@contextlib.contextmanager
def quiet_native_stderr():
    """Captures file descriptor 2 (native C++ logging), then replays all but TF's log lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not _TF_NOISE.match(line):
                    print(line, file=sys.stderr)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.predict",
        description="Predict facial expressions in raw videos with a kerasfer export: the "
                    "builder's face pipeline (detection, 68 landmarks, alignment, as recorded "
                    "in the export), then the SavedModel. Writes per video a CSV (one row per "
                    "frame), a JSON summary and a PNG timeline.")
    parser.add_argument("videos", nargs="+", metavar="VIDEO_OR_DIR",
                        help="video files, or directories of videos (walked recursively)")
    parser.add_argument("--model", required=True, help="kerasfer export directory, or a "
                        "training run directory (its export/, exported when missing)")
    parser.add_argument("--out", default="predictions", help="output directory "
                        "(default: predictions)")
    parser.add_argument("--annotate", action="store_true", help="also write "
                        "<video>_annotated.mp4 with the face box and the current emotion")
    parser.add_argument("--tracking", choices=("none", "landmarks", "correlation"),
                        default=None, help="how the face is found in every frame. none: the "
                        "detector on every frame, exactly the builder's crops (the default; "
                        "correlation when --detect-every > 1 is given or recorded in the "
                        "export, as the builder does). "
                        "landmarks: the box from the previous frame's 68 landmarks (as "
                        "OpenFace tracks), the detector every --detect-every frames (default "
                        "5) and when the aligned face stops matching; 2-3x less CPU, but the "
                        "per-frame crops move slightly, so per-frame predictions can differ "
                        "(98.3%% same argmax on carphone with the FER2013 model, same video "
                        "class; see BENCHMARKS.md). correlation: dlib's correlation tracker "
                        "between detections")
    parser.add_argument("--detect-every", type=int, default=None, help="with --tracking "
                        "landmarks or correlation: run the detector every k-th frame "
                        "(default 5, or as recorded in the export)")
    parser.add_argument("--chunk-frames", type=int, default=512, help="faces per model call "
                        "(default 512); a longer video is scored in overlapping chunks")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _unique_name(name, used):
    candidate, number = name, 1
    while candidate in used:
        number += 1
        candidate = f"{name}_{number}"
    used.add(candidate)
    return candidate


def main(argv=None):
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    # TensorFlow's C++ start-up lines (oneDNN, cuInit, XLA) are not errors: keep them out.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    videos, failures = list_videos(args.videos)
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    print(f"kerasfer.predict: {len(videos)} video(s) → {args.out}/ (CSV, JSON, PNG"
          f"{', annotated mp4' if args.annotate else ''}); loading {args.model} ...", flush=True)
    from kerasfer.errors import KerasferError

    if (os.path.isfile(os.path.join(args.model, "config.yaml"))
            and not os.path.isfile(os.path.join(args.model, "export", "saved_model.pb"))):
        print(f"{args.model} is a training run without export/: exporting its best model "
              f"into {os.path.join(args.model, 'export')} first", flush=True)
    try:
        check_out_dir(args.out)
        with quiet_native_stderr():
            from kerasfer.prediction import Predictor

            predictor = Predictor(args.model, chunk_frames=args.chunk_frames,
                                  progress=not args.no_progress, tracking=args.tracking,
                                  detect_every=args.detect_every)
    except (KerasferError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(predictor.describe(), flush=True)
    used, failed = set(), len(failures)
    for path in videos:
        try:
            prediction = predictor.predict(path)
            outputs = predictor.write(prediction, args.out, annotate=args.annotate,
                                      name=_unique_name(prediction.name, used))
        except KerasferError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        except Exception as error:  # One bad video never stops the batch.
            print(f"error: {path}: {type(error).__name__}: {error}. please report this with "
                  "the video's ffprobe output", file=sys.stderr, flush=True)
            failed += 1
            continue
        summary = prediction.summary()
        print(f"{path}: {prediction.label} "
              f"({max(summary['probabilities'].values()):.2f}); "
              f"{prediction.frames_with_face}/{prediction.frames} frames with a face, "
              f"{summary['frames_per_second']} frames/s → {outputs['summary']}", flush=True)
    done = len(videos) - (failed - len(failures))
    print(f"kerasfer.predict: {done} predicted, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
