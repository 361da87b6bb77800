"""Temporal stochastic softmax vs uniform clip sampling on synthetic localized-apex videos.

Ayral (2021) master's thesis, Table 3.1, on AFEW: uniform 45.66 % in 24.6 epochs, γ = 1
47.35 % in 20.3 epochs. Here a tiny 3D ResNet-18 is trained on synthetic videos whose expression is
visible only around an apex (the rest is neutral, with occluding distractors), with

* uniform sampling (`sampler.kind=uniform`, average pooling γ_p = 0 at test time), and
* stochastic softmax γ_s = γ_p = 1 (warm-up and exploration scaled to the short run),

for several seeds each, interleaved (uniform, softmax, uniform, ...), and reports the mean ±
standard error of the whole-video validation accuracy (`kerasfer.evaluate`) and of the
epoch with the best validation clip accuracy.

Speed: the training time per epoch (first epoch excluded) of softmax with scores from the
training pass and with clean scoring, as ratios to uniform sampling, from interleaved runs
(medians). Targets: ≤ 1.05× (training pass) and ≤ 1.40× (clean scoring).

Run: `python benchmarks/stochastic_softmax.py [--seeds 5] [--epochs 14] [--out DIR]`; the
results are printed as Markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def base_overrides(args, run_dir, seed):
    return [
        f"run_dir={run_dir}", f"seed={seed}", "train.verbose=0",
        f"train.epochs={args.epochs}", "train.early_stopping_patience=0",
        "model.name=r3d_18", f"model.kwargs={{width_multiplier: {args.width}}}",
        "train.optimizer=adam", f"train.learning_rate={args.learning_rate}",
        "data.synthetic.class_names=[Happy, Sad, Surprise]",
        f"data.synthetic.num_videos={args.videos}", "data.synthetic.num_subjects=12",
        f"data.synthetic.apex_fraction={args.apex_fraction}",
        "data.augmentation={crop_fraction: 0.85, max_rotation_degrees: 10}",
        "sampler.num_map_videos=1", "eval.run_after_fit=false", "eval.export_after_fit=false",
    ]


SETTINGS = {
    "uniform": ["sampler.kind=uniform", "sampler.score_source=training_pass"],
    "softmax": ["sampler.kind=softmax", "sampler.sampling_temperature=1.0",
                "sampler.warmup_epochs=2", "sampler.exploration_epochs=3"],
    "softmax_training_pass": ["sampler.kind=softmax", "sampler.sampling_temperature=1.0",
                              "sampler.warmup_epochs=0", "sampler.exploration_epochs=0",
                              "sampler.score_source=training_pass"],
    "softmax_clean": ["sampler.kind=softmax", "sampler.sampling_temperature=1.0",
                      "sampler.warmup_epochs=0", "sampler.exploration_epochs=0",
                      "sampler.score_source=clean"],
}


def run(args, name, seed, epochs=None, pooling_temperature=None):
    """Trains one setting; returns best epoch, best clip accuracy, video accuracy, epoch times."""
    import keras

    from kerasfer.config import load_config
    from kerasfer.training.experiment import Experiment

    run_dir = os.path.join(args.out, f"{name}-seed{seed}-{epochs or args.epochs}")
    overrides = base_overrides(args, run_dir, seed) + SETTINGS[name]
    if epochs:
        overrides.append(f"train.epochs={epochs}")
    config = load_config(None, overrides)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.end = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(self.end - self.start)     # training batches only, no validation

    experiment = Experiment(config, extra_callbacks=[EpochTimer()]).setup()
    experiment.fit()
    summary = experiment.summary()
    result = {"name": name, "seed": seed, "best_epoch": summary["best_epoch"],
              "best_val_clip_accuracy": summary["best"], "epoch_seconds": times}
    if pooling_temperature is not None:
        from kerasfer.evaluate import evaluate_run

        report = evaluate_run(run_dir, split="validation",
                              pooling_temperatures=[pooling_temperature])
        result["video_accuracy"] = float(report["metrics"]["accuracy"])
    return result


def mean_se(values):
    values = [float(v) for v in values]
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return mean, se


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--timing-epochs", type=int, default=6)
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--videos", type=int, default=240)
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--apex-fraction", type=float, default=0.5)
    parser.add_argument("--learning-rate", type=float, default=0.003)
    parser.add_argument("--out", default="/tmp/kerasfer_bench_stochastic_softmax")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    results = []
    if not args.skip_accuracy:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            # Interleaved so that the shared machine's load hits both sides alike.
            results.append(run(args, "uniform", seed, pooling_temperature=0.0))
            results.append(run(args, "softmax", seed, pooling_temperature=1.0))
            print(json.dumps(results[-2:]), flush=True)
    timing = {name: [] for name in ("uniform", "softmax_training_pass", "softmax_clean")}
    for round_index in range(args.timing_rounds):
        for name in timing:
            result = run(args, name, 100 + round_index, epochs=args.timing_epochs)
            timing[name].extend(result["epoch_seconds"][1:])   # first epoch traces graphs
    total = time.time() - started

    lines = ["| sampling | video accuracy (val, %) | epoch of best val | runs |",
             "| --- | --- | --- | --- |"]
    for name, label in (("uniform", "uniform, γ_p = 0"), ("softmax", "stochastic softmax γ_s = γ_p = 1")):
        rows = [r for r in results if r["name"] == name]
        if not rows:
            continue
        accuracy = mean_se([100 * r["video_accuracy"] for r in rows])
        epochs = mean_se([r["best_epoch"] + 1 for r in rows])
        lines.append(f"| {label} | {accuracy[0]:.2f} ± {accuracy[1]:.2f} | "
                     f"{epochs[0]:.1f} ± {epochs[1]:.1f} | {len(rows)} |")
    if args.timing_rounds:
        base = statistics.median(timing["uniform"])
        lines += ["", "| epoch time (training batches) | median s | ratio to uniform |",
                  "| --- | --- | --- |"]
        for name in timing:
            value = statistics.median(timing[name])
            lines.append(f"| {name} | {value:.2f} | {value / base:.3f} |")
    lines.append("")
    lines.append(f"total wall time {total / 60:.1f} min; settings: {vars(args)}")
    print("\n".join(lines))
    name = f"results-seeds{args.first_seed}-{args.first_seed + args.seeds - 1}.json"
    with open(os.path.join(args.out, name), "w", encoding="utf-8") as handle:
        json.dump({"results": results, "timing": timing, "args": vars(args)}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
