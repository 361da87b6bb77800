"""`python -m kerasfer.export`: a training run's best model → SavedModel (`export_run`).

Example:

    python -m kerasfer.export --run runs/cpu_tiny --out exported/
"""

from __future__ import annotations

import argparse
import sys

from kerasfer.errors import KerasferError
from kerasfer.export.run_export import export_run


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.export",
        description="Export a training run's best model as a TensorFlow SavedModel whose "
                    "serving_default signature takes uint8 aligned-face videos "
                    "[batch, frames, height, width, 3] of any length and returns "
                    "`probabilities` (batch, classes), `logits`, `frame_scores` "
                    "(batch, frames, classes) and `window_scores`; every setting a "
                    "predictor needs is in assets/kerasfer_export.json.")
    parser.add_argument("--run", required=True, help="run directory written by kerasfer.fit "
                        "(config.yaml, best_model.keras, and the dataset for class names)")
    parser.add_argument("--out", default=None, help="export directory (default RUN/export): "
                        "new, empty, or an earlier export (only the files its "
                        "kerasfer_export_marker.json lists are replaced)")
    parser.add_argument("--data-dir", default=None, help="dataset directory overriding the "
                        "config's data.dir (read for the class names and face options)")
    parser.add_argument("--pooling-temperature", type=float, default=None,
                        help="γ_p of Eq. 3.3 across windows (default: eval.pooling_temperature "
                             "of the run's config)")
    return parser


def main(argv=None):
    """CLI entry point; prints one line on failure and returns the exit code (0 or 2)."""
    args = _parser().parse_args(argv)
    try:
        out = export_run(args.run, args.out, args.pooling_temperature, args.data_dir)
    except KerasferError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from kerasfer.export.saved_model_export import read_export_settings

    settings = read_export_settings(out)
    print(f"SavedModel written to {out}: serving_default(videos uint8 [batch, frames, h, w, 3]) "
          f"-> probabilities {len(settings['class_names'])} classes, frame_scores; "
          f"γ_p = {settings['pooling_temperature']}, F = {settings['clip_length']}, "
          f"{settings['temporal_output']} model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
