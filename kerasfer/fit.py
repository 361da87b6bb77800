"""`python -m kerasfer.fit [--config configs/X.yaml] [key.sub=value ...]`.

With no argument: generates synthetic localized-apex videos into a cache
(`$KERASFER_CACHE` or `~/.cache/kerasfer/`), trains a tiny 3D ResNet-18 with the temporal
stochastic softmax sampler (thesis Ch. 3) on the CPU, then evaluates whole videos and exports a
SavedModel into the run directory. Rerun with the same `run_dir` to resume.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from kerasfer.config import describe_keys, load_config
from kerasfer.errors import KerasferError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.fit", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a spatio-temporal FER model with the temporal stochastic softmax "
                    "sampler; resume by rerunning with the same run_dir.",
        epilog="config keys (override any with key.sub=value):\n" + describe_keys())
    parser.add_argument("--config", default=None,
                        help="YAML experiment (configs/*.yaml); defaults to the CPU-tiny run")
    parser.add_argument("--no-evaluate", action="store_true",
                        help="skip the whole-video evaluation and the export after training")
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value",
                        help="dotted overrides, e.g. train.epochs=3 sampler.sampling_temperature=0")
    return parser


def _run_cli(module_name, argv):
    """Runs another kerasfer CLI (`main(argv)`) if it is installed; returns its exit code."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"{module_name} not available ({exc}); skipped")
        return None
    if not hasattr(module, "main"):
        print(f"{module_name} has no main(); skipped")
        return None
    return module.main(argv)


def after_training(config):
    """Whole-video evaluation (`kerasfer.evaluate`) and SavedModel export (`kerasfer.export`)."""
    run_dir = config.run_dir
    if config.eval.run_after_fit:
        _run_cli("kerasfer.evaluate", ["--run", run_dir, "--split", config.eval.split,
                                       "--pooling-temperature", str(config.eval.pooling_temperature)])
    if config.eval.export_after_fit:
        _run_cli("kerasfer.export", ["--run", run_dir, "--out", os.path.join(run_dir, "export")])


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
        from kerasfer.training.experiment import Experiment

        summary = Experiment(config).run()
        print(f"{config.run_dir}: best {summary['monitor']} = {summary['best']} at epoch "
              f"{summary['best_epoch']} ({summary['epochs_run']} epochs)")
        if not args.no_evaluate:
            after_training(config)
    except KerasferError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
