"""`python -m kerasfer.evaluate`: whole-video evaluation of a training run, or of many.

One run: reads `RUN/config.yaml`, `RUN/splits.json` and `RUN/best_model.keras`, scores every
video of the split in one fully-convolutional pass (or every F-frame window for clip-level
models), pools with the thesis' scheme (window max, then Eq. 3.3 softmax pooling with γ_p),
and writes `report.json`, `report.md`, `predictions.csv` and PNG plots into
`RUN/evaluation/` (or `--out`). Several `--pooling-temperature` values are reported from
the same network pass (decoupled γ_s / γ_p, thesis Table 3.3); the first is the main one.

Several runs (`--runs A B C`, repeated seeds or cross-validation folds): every run is
evaluated (or its existing report for the same split and γ_p is reused) and the mean ±
standard error of every metric is written to `aggregate.json`, `aggregate.md` and a plot.
When the runs evaluated disjoint videos (folds), a report over all their videos together is
written to `pooled/` too (leave-one-subject-out UNBC-McMaster: ROC over all 25 folds).

Example:

    python -m kerasfer.evaluate --run runs/cpu_tiny --split validation
    python -m kerasfer.evaluate --runs runs/seed0 runs/seed1 runs/seed2 --out runs/summary
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

from kerasfer.errors import ConfigError
from kerasfer.errors import KerasferError

Run = collections.namedtuple("Run", ["run_dir", "config", "model", "class_names", "index",
                                     "splits"])
Run.__doc__ = "A loaded training run: config, best model, class names, dataset index, splits."


def _import_serializables():
    # Loading a .keras file needs every custom layer registered: importing the packages
    # runs their @register_keras_serializable decorators.
    import importlib

    for package in ("kerasfer.layers", "kerasfer.models"):
        importlib.import_module(package)


def _synthetic_data_dir(config, config_path):
    # An empty data.dir means kerasfer.fit trained on its synthetic videos, generated
    # deterministically into a cache directory (regenerated here if the cache was cleared).
    from kerasfer.data.synthetic.synthetic_cache import prepare_data_dir

    return prepare_data_dir(config)


def load_run(run_dir, data_dir=None):
    """Loads a run directory written by `kerasfer.fit`.

    Args:
        run_dir: str. Holds config.yaml, splits.json and best_model.keras.
        data_dir: str or None. Dataset directory overriding the config's `data.dir`
            (e.g. when the data moved). Defaults to None. An empty `data.dir` means the
            synthetic videos of `kerasfer.fit`, found in (or regenerated into) their cache.

    Returns:
        `Run`.
    """
    import keras

    from kerasfer.config import load_config
    from kerasfer.data import DatasetIndex

    config_path = os.path.join(run_dir, "config.yaml")
    model_path = os.path.join(run_dir, "best_model.keras")
    splits_path = os.path.join(run_dir, "splits.json")
    for path, what in ((config_path, "run config"), (model_path, "best model"),
                       (splits_path, "split lists")):
        if not os.path.exists(path):
            raise ConfigError(path, f"{what} not found",
                              "pass --run the directory written by `python -m kerasfer.fit` "
                              "(it must have finished at least one epoch)")
    config = load_config(config_path)
    data_dir = data_dir or config.data.dir or _synthetic_data_dir(config, config_path)
    with open(splits_path, encoding="utf-8") as handle:
        try:
            splits = json.load(handle)
        except json.JSONDecodeError as error:
            raise ConfigError(splits_path, f"invalid JSON ({error})",
                              "rerun kerasfer.fit to rewrite the split lists") from error
    index = DatasetIndex.load(data_dir)
    _import_serializables()
    model = keras.saving.load_model(model_path, compile=False)
    return Run(run_dir, config, model, list(index.classes), index, splits)


def split_records(run, split):
    """Records of `split`: the ids of `splits.json`, else the dataset's own split column."""
    ids = run.splits.get(split) if isinstance(run.splits, dict) else None
    records = run.index.select(ids=ids, split=None) if ids else run.index.select(split=split)
    if not records:
        available = sorted(k for k, v in run.splits.items() if isinstance(v, list) and v) \
            if isinstance(run.splits, dict) else []
        raise ConfigError(os.path.join(run.run_dir, "splits.json"),
                          f"split {split!r} holds no video",
                          f"pass --split one of {', '.join(available) or 'validation, test'}")
    return records


def evaluate_run(run_dir, split=None, pooling_temperatures=None, out_dir=None, data_dir=None,
                 positive_class=None, progress=False):
    """Evaluates one run and writes its report; returns the report dict.

    Args:
        run_dir: str. Run directory.
        split: str or None. "validation", "test" or "train". None uses `eval.split`.
        pooling_temperatures: list of float or None. γ_p values; the first is the main one,
            all are tabulated. None uses `eval.pooling_temperature`.
        out_dir: str or None. Report directory. Defaults to `RUN/evaluation`.
        data_dir: str or None. Overrides `data.dir`. Defaults to None.
        positive_class: str or None. Positive class of a two-class task. Defaults to None
            (class index 1).
        progress: bool. Show a progress bar. Defaults to False.
    """
    from kerasfer.data import evaluation_dataset
    from kerasfer.evaluation import VideoScorer
    from kerasfer.evaluation import build_report
    from kerasfer.evaluation import write_report

    run = load_run(run_dir, data_dir)
    config = run.config
    split = split or config.eval.split
    gammas = list(pooling_temperatures or [config.eval.pooling_temperature])
    records = split_records(run, split)
    dataset = evaluation_dataset(run.index, records, normalization=config.data.normalization,
                                 image_size=config.data.image_size,
                                 grayscale=config.data.grayscale)
    scorer = VideoScorer(run.model, clip_length=config.data.clip_length,
                         pooling_temperature=gammas[0],
                         short_video=getattr(config.data, "short_video", "loop"))
    import tensorflow as tf

    from kerasfer.data.shard_check import corrupt_shard_error

    if progress:
        print(f"model: {run.model.name}, {run.model.count_params():,} parameters; data: "
              f"{run.index.data_dir}; {len(records)} {split} videos", flush=True)
    try:
        predictions = scorer.predict_dataset(dataset, progress=progress)
    except tf.errors.DataLossError as exc:
        raise corrupt_shard_error(run.index.shard_paths, exc) from None
    report = build_report(predictions, run.class_names, split=split,
                          clip_length=config.data.clip_length, positive_class=positive_class,
                          pooling_temperature_sweep=gammas if len(gammas) > 1 else (),
                          run=os.path.abspath(run_dir))
    out_dir = out_dir or os.path.join(run_dir, "evaluation")
    write_report(report, predictions, out_dir)
    report["out_dir"] = out_dir
    return report


def format_summary(report):
    """One line: split, number of videos, accuracy, UAR (and ROC-AUC / EER / MAP), γ_p."""
    metrics = report["metrics"]
    parts = [f"{report['split']}: {report['num_videos']} videos",
             f"accuracy {100 * metrics['accuracy']:.2f} %",
             f"UAR {100 * metrics['unweighted_average_recall']:.2f} %"]
    if "roc_auc" in metrics:
        parts += [f"ROC-AUC {metrics['roc_auc']:.4f}",
                  f"EER accuracy {100 * metrics['eer_accuracy']:.2f} %"]
    if metrics.get("mean_average_precision") is not None:
        parts.append(f"MAP {100 * metrics['mean_average_precision']:.2f} %")
    return ", ".join(parts) + f" (γ_p = {report['pooling_temperature']})"


def _existing_report(run_dir, split, gamma):
    folder = os.path.join(run_dir, "evaluation")
    path = os.path.join(folder, "report.json")
    if not (os.path.exists(path) and os.path.exists(os.path.join(folder, "window_scores.npz"))):
        return None
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    if report.get("split") == split and report.get("pooling_temperature") == gamma:
        report["out_dir"] = folder
        return report
    return None


def aggregate_runs(run_dirs, split=None, pooling_temperatures=None, out_dir=None,
                   data_dir=None, positive_class=None, reuse=True):
    """Evaluates runs (or reuses their matching reports) and aggregates them.

    Always: mean ± standard error of every metric over the runs (repeated seeds, or folds
    such as BioVid's 8 subject-independent folds or HMDB-51's 3 splits). When the runs
    evaluated disjoint videos (cross-validation folds), also one report over all their
    videos together in `OUT/pooled/`: the protocol of leave-one-subject-out UNBC-McMaster,
    whose ROC needs both classes while one subject's fold may hold only one.

    Returns:
        dict from `aggregate_reports`, plus "pooled" (the pooled report) when made and
        "out_dir".
    """
    from kerasfer.config import load_config
    from kerasfer.evaluation import VideoPredictions
    from kerasfer.evaluation import aggregate_reports
    from kerasfer.evaluation import build_report
    from kerasfer.evaluation import write_aggregate_report
    from kerasfer.evaluation import write_report

    reports = []
    for run_dir in run_dirs:
        config_path = os.path.join(run_dir, "config.yaml")
        if not os.path.exists(config_path):
            raise ConfigError(config_path, "run config not found",
                              "pass --runs directories written by `python -m kerasfer.fit`")
        config = load_config(config_path)
        run_split = split or config.eval.split
        gammas = list(pooling_temperatures or [config.eval.pooling_temperature])
        report = _existing_report(run_dir, run_split, float(gammas[0])) if reuse else None
        if report is None:
            report = evaluate_run(run_dir, run_split, gammas, data_dir=data_dir,
                                  positive_class=positive_class)
        print(f"{run_dir}: {format_summary(report)}")
        reports.append(report)
    aggregate = aggregate_reports(reports, names=[os.path.abspath(d) for d in run_dirs])
    parent = os.path.dirname(os.path.abspath(run_dirs[0]))
    out_dir = out_dir or os.path.join(parent, "aggregate_evaluation")
    write_aggregate_report(aggregate, out_dir)
    predictions = [VideoPredictions.load(os.path.join(r["out_dir"], "window_scores.npz"))
                   for r in reports]
    ids = [i for p in predictions for i in p.ids]
    same_classes = all(r["class_names"] == reports[0]["class_names"] for r in reports)
    if len(run_dirs) > 1 and len(set(ids)) == len(ids) and same_classes:
        pooled = VideoPredictions.concatenate(predictions)
        pooled_report = build_report(
            pooled, reports[0]["class_names"], split=f"{reports[0]['split']} (all folds)",
            clip_length=reports[0].get("clip_length"), positive_class=positive_class,
            run=f"{len(run_dirs)} folds pooled")
        write_report(pooled_report, pooled, os.path.join(out_dir, "pooled"))
        aggregate["pooled"] = pooled_report
    aggregate["out_dir"] = out_dir
    return aggregate


def _own_metric_pipeline(run_dir):
    """The run's pipeline when it computes its own metric (kerasfer.pipelines), else None."""
    from kerasfer.config import load_config
    from kerasfer.pipelines import get_pipeline

    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_path):
        return None  # evaluate_run reports the missing config
    config = load_config(config_path)
    pipeline = get_pipeline(config.pipeline)(config)
    return None if pipeline.whole_video_evaluation else pipeline


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.evaluate",
        description="Whole-video evaluation of kerasfer runs: one fully-convolutional pass "
                    "per video, temporal max within F-frame windows, softmax pooling across "
                    "windows with γ_p (thesis Eq. 3.3); accuracy, UAR, per-class recall, "
                    "confusion matrix, ROC-AUC / EER accuracy (two classes), per-emotion MAP "
                    "(genuine/fake classes); report JSON + Markdown + PNG.")
    runs = parser.add_mutually_exclusive_group(required=True)
    runs.add_argument("--run", help="run directory written by `python -m kerasfer.fit`")
    runs.add_argument("--runs", nargs="+", metavar="RUN",
                      help="several runs (seeds or folds): mean ± standard error of every metric")
    parser.add_argument("--split", choices=("validation", "test", "train"), default=None,
                        help="split to evaluate (default: eval.split of the run's config)")
    parser.add_argument("--pooling-temperature", type=float, nargs="+", default=None,
                        metavar="GAMMA_P", help="γ_p ≥ 0 of Eq. 3.3 (0 = mean of the window "
                        "maxima, large = max); several values are tabulated from one pass, "
                        "the first is the main one (default: eval.pooling_temperature)")
    parser.add_argument("--out", default=None, help="report directory (default RUN/evaluation; "
                        "with --runs: <parent>/aggregate_evaluation)")
    parser.add_argument("--data-dir", default=None, help="dataset directory overriding the "
                        "config's data.dir")
    parser.add_argument("--positive-class", default=None,
                        help="positive class name of a two-class task (default: class 1)")
    parser.add_argument("--no-reuse", action="store_true",
                        help="with --runs, re-evaluate runs even if a matching report exists")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's C++ start-up log (hidden by default unless "
                             "TF_CPP_MIN_LOG_LEVEL is set)")
    return parser


def main(argv=None):
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    from kerasfer.fit import quiet_tensorflow

    quiet_tensorflow(args.verbose)
    print(f"kerasfer.evaluate: {'run ' + args.run if args.run else f'{len(args.runs)} runs'}"
          f", split {args.split or 'from the run config'}", flush=True)
    gammas = args.pooling_temperature
    if gammas is not None and any(not g >= 0 for g in gammas):
        print(f"error: --pooling-temperature must be >= 0. Received: {gammas}", file=sys.stderr)
        return 2
    try:
        pipeline = _own_metric_pipeline(args.run) if args.run else None
        if pipeline is not None:
            report = pipeline.evaluate(args.split, args.out, args.data_dir)
            print(report["summary"])
        elif args.run:
            report = evaluate_run(args.run, args.split, gammas, args.out, args.data_dir,
                                  args.positive_class, progress=sys.stderr.isatty())
            print(format_summary(report))
            print(f"report: {os.path.join(report['out_dir'], 'report.md')}")
        else:
            aggregate = aggregate_runs(args.runs, args.split, gammas, args.out, args.data_dir,
                                       args.positive_class, reuse=not args.no_reuse)
            accuracy = aggregate["metrics"].get("accuracy", {})
            se = accuracy.get("se")
            print(f"{aggregate['num_runs']} runs: accuracy {100 * accuracy.get('mean', 0):.2f} "
                  f"± {'n/a' if se is None else f'{100 * se:.2f}'} %")
            if "pooled" in aggregate:
                print(f"all folds pooled: {format_summary(aggregate['pooled'])} → "
                      f"{os.path.join(aggregate['out_dir'], 'pooled', 'report.md')}")
            print(f"report: {os.path.join(aggregate['out_dir'], 'aggregate.md')}")
    except KerasferError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    if "--verbose" not in sys.argv[1:]:
        from kerasfer.tensorflow_log_filter import filter_tensorflow_log

        filter_tensorflow_log()
    sys.exit(main())
