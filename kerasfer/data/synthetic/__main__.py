"""`python -m kerasfer.data.synthetic --out DIR`: write a synthetic FER dataset."""

from __future__ import annotations

import argparse
import sys

from kerasfer.data.synthetic.dataset_writer import write_synthetic_dataset
from kerasfer.data.synthetic.expressions import AFEW_CLASSES
from kerasfer.errors import KerasferError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.data.synthetic",
        description="Render procedural facial-expression videos (mostly neutral, one "
                    "onset-apex-offset expression per video, distractors) and write them as "
                    "kerasfer TFRecords: shards, manifest.jsonl, classes.json.")
    parser.add_argument("--out", required=True, help="output dataset directory")
    parser.add_argument("--videos", type=int, default=140, help="number of videos (140)")
    parser.add_argument("--subjects", type=int, default=20, help="number of subjects (20)")
    parser.add_argument("--classes", default=",".join(AFEW_CLASSES),
                        help="comma-separated class names (the 7 AFEW classes)")
    parser.add_argument("--size", type=int, default=112, help="face crop side in pixels (112)")
    parser.add_argument("--min-frames", type=int, default=24, help="shortest video (24)")
    parser.add_argument("--max-frames", type=int, default=128, help="longest video (128)")
    parser.add_argument("--apex-fraction", type=float, default=0.2,
                        help="fraction of each video in the apex window (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--genuine-posed", action="store_true",
                        help="per-emotion <Name>_genuine / <Name>_posed classes (no Neutral)")
    parser.add_argument("--mp4", action="store_true",
                        help="also write videos/*.mp4 (with a class-dependent audio track) and "
                             "videos.csv for tfrecords_builder")
    parser.add_argument("--videos-per-shard", type=int, default=32,
                        help="videos per TFRecord shard (32)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (25)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    classes = [name.strip() for name in args.classes.split(",") if name.strip()]
    try:
        path = write_synthetic_dataset(
            args.out, num_videos=args.videos, num_subjects=args.subjects, class_names=classes,
            image_size=args.size, min_frames=args.min_frames, max_frames=args.max_frames,
            apex_fraction=args.apex_fraction, seed=args.seed,
            genuine_posed=args.genuine_posed, write_mp4=args.mp4,
            videos_per_shard=args.videos_per_shard, fps=args.fps,
            progress=not args.no_progress)
    except (KerasferError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
