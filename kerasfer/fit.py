"""`python -m kerasfer.fit [--config configs/X.yaml] [key.sub=value ...]`.

With no argument it runs the preset `kerasfer/presets/sparse_cue_pretrained.yaml` (the same
file as `configs/sparse_cue_pretrained.yaml`): the thesis protocol of Ayral (2021) master's
thesis (Sections 1.2.5, 2.1.3, Ch. 3) on the CPU in a few minutes. It generates synthetic
videos whose expression is visible in 10 % of the frames into a cache (`$KERASFER_CACHE` or
`~/.cache/kerasfer/`), pretrains a small 2D CNN on static faces of other subjects, inflates
it to 3D, fine-tunes it on clips chosen by temporal stochastic softmax, evaluates whole
videos (`kerasfer.evaluate.evaluate_run`), exports a SavedModel (`kerasfer.export`) and
prints one line with the whole-video accuracy and the cue hit rate of its sampler next to
uniform sampling's. Rerun with the same `run_dir` to resume.

Exit codes: 0 on success; 2 for bad input (config, data), with one line naming the file, the
cause and the fix; 1 when training finished but the evaluation or the export failed (the
trained run is kept: rerun `python -m kerasfer.evaluate --run RUN` / `kerasfer.export`).

Example:

    python -m kerasfer.fit --config configs/cpu_tiny.yaml train.epochs=3 run_dir=runs/x
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from kerasfer.config import describe_keys, load_config
from kerasfer.errors import KerasferError

# Exit code when training finished but evaluation or export failed.
AFTER_TRAINING_FAILED = 1
# The experiment of `python -m kerasfer.fit` without --config (shipped in the package).
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets",
                              "sparse_cue_pretrained.yaml")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.fit", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a spatio-temporal FER model with the temporal stochastic softmax "
                    "sampler; resume by rerunning with the same run_dir.",
        epilog="config keys (override any with key.sub=value):\n" + describe_keys())
    parser.add_argument("--config", default=None,
                        help="YAML experiment (configs/*.yaml); defaults to the sparse-cue "
                             "pretrained recipe (configs/sparse_cue_pretrained.yaml)")
    parser.add_argument("--no-evaluate", action="store_true",
                        help="skip the whole-video evaluation and the export after training")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's C++ start-up log (hidden by default unless "
                             "TF_CPP_MIN_LOG_LEVEL is set)")
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value",
                        help="dotted overrides, e.g. train.epochs=3 sampler.sampling_temperature=0")
    return parser


def quiet_tensorflow(verbose=False):
    """Hides TensorFlow's C++ start-up log unless `verbose` or the user set the level.

    TensorFlow prints lines such as `E0000 ... remapper failed`, `failed call to cuInit` or
    `Compiled cluster using XLA!` from C++ at import and first run; they are not errors of
    the run. `TF_CPP_MIN_LOG_LEVEL=3` before TensorFlow is imported keeps them out; a value
    the user exported is left alone.

    Args:
        verbose: bool. Keep TensorFlow's log. Defaults to False.
    """
    if not verbose and "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def after_training(config):
    """Whole-video evaluation, then SavedModel export, as configured in `config.eval`.

    Returns:
        list of str, one line per failed step (empty when everything succeeded).
    """
    from kerasfer.evaluate import evaluate_run, format_summary
    from kerasfer.export import export_run

    run_dir, failures, result = config.run_dir, [], None
    gamma = config.eval.pooling_temperature
    if config.eval.run_after_fit:
        try:
            report = evaluate_run(run_dir, config.eval.split, [gamma])
            print(f"evaluation: {format_summary(report)}; report "
                  f"{os.path.join(report['out_dir'], 'report.md')}")
            result = result_line(config, report)
        except (KerasferError, OSError, ValueError) as exc:
            failures.append(f"evaluation failed: {exc}. The trained run is kept; rerun "
                            f"`python -m kerasfer.evaluate --run {run_dir}` once fixed")
    if config.eval.export_after_fit:
        out = os.path.join(run_dir, "export")
        try:
            export_run(run_dir, out, gamma)
            print(f"export: SavedModel written to {out}")
        except (KerasferError, OSError, ValueError) as exc:
            failures.append(f"export failed: {exc}. The trained run is kept; rerun "
                            f"`python -m kerasfer.export --run {run_dir}` once fixed")
    if result:
        print(result)            # the last line: accuracy and the sampler's cue hit rate
    return failures


def result_line(config, report):
    """One line: whole-video accuracy and the sampler's cue hit rate next to uniform's.

    The hit rate is read from `RUN/cue_hit_rate.json` (`CueHitRateCallback`, written when
    the training videos have frame labels); without it only the accuracy is given.

    Args:
        config: `ExperimentConfig` of the run.
        report: dict. The evaluation report (`kerasfer.evaluate.evaluate_run`).

    Returns:
        str.
    """
    metrics = report["metrics"]
    line = (f"result: whole-video {report['split']} accuracy "
            f"{100 * metrics['accuracy']:.1f} % ({report['num_videos']} videos, γ_p = "
            f"{report['pooling_temperature']:g})")
    path = os.path.join(config.run_dir, "cue_hit_rate.json")
    try:
        with open(path, encoding="utf-8") as handle:
            hits = json.load(handle)
    except (OSError, ValueError):
        return line
    return (line + f"; cue hit rate of the training clips: {config.sampler.kind} "
            f"{hits['exploitation']:.2f} vs uniform sampling {hits['uniform']:.2f}")


def main(argv=None):
    """CLI entry point; returns the process exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    quiet_tensorflow(args.verbose)
    try:
        config = load_config(args.config or DEFAULT_CONFIG, args.overrides)
        print(f"kerasfer.fit: config {args.config or 'configs/sparse_cue_pretrained.yaml (default)'}"
              f"{' + ' + ' '.join(args.overrides) if args.overrides else ''}", flush=True)
        from kerasfer.pipelines import get_pipeline

        # The config's `pipeline` picks the system (kerasfer.pipelines registry); the
        # default clip_classifier is kerasfer.training.Experiment.
        pipeline = get_pipeline(config.pipeline)(config)
        summary = pipeline.fit()
        print(summary["message"])
        if summary.get("is_chief") is False:
            return 0             # multi-worker: the chief alone evaluates and exports
        if not (args.no_evaluate or pipeline.whole_video_evaluation):
            if config.eval.run_after_fit:
                print(pipeline.evaluate(split=config.eval.split)["summary"])
            return 0
    except KerasferError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.no_evaluate:
        return 0
    failures = after_training(config)
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    return AFTER_TRAINING_FAILED if failures else 0


if __name__ == "__main__":
    if "--verbose" not in sys.argv[1:]:
        from kerasfer.tensorflow_log_filter import filter_tensorflow_log

        filter_tensorflow_log()
    sys.exit(main())
