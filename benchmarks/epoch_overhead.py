"""Epoch overhead: wall time of an epoch against the time of its training batches.

An epoch of `kerasfer.fit` is the training batches plus work around them: the validation
pass, the confusion-matrix re-prediction of the validation clips and the sampling-map
images (`train.diagnostics_every`), and the backup of weights + optimizer + sampler state
(`train.checkpoint_every`). This script trains the same tiny run twice side by side in one
process, on the same synthetic data and seed:

* "every epoch": `train.diagnostics_every=1 train.checkpoint_every=1` (the old behaviour);
* "proportionate": `train.diagnostics_every=D train.checkpoint_every=C` (defaults 5 and 5).

For every epoch it times the training batches (sum of `on_train_batch_begin` →
`on_train_batch_end`) and the whole epoch (first callback's `on_epoch_begin` → last
callback's `on_epoch_end`), and reports the median ratio epoch / batches per setting and
the median seconds spent outside the batches. The first epoch (tracing) is left out.

Run: `python benchmarks/epoch_overhead.py [--epochs 8] [--rounds 2]` (a few minutes on 2
cores). Numbers go to BENCHMARKS.md, "Epoch overhead", with the machine load (`uptime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def make_timer():
    """Returns `(begin, end)` callbacks: put `begin` first and `end` last in the list."""
    import keras

    class Begin(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.batches = {}, {}
            self._start = self._batch = self._epoch = None

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch, self._start, self.batches[epoch] = epoch, time.perf_counter(), 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self._batch = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.batches[self._epoch] += time.perf_counter() - self._batch

    class End(keras.callbacks.Callback):
        def __init__(self, begin):
            super().__init__()
            self.begin = begin

        def on_epoch_end(self, epoch, logs=None):
            self.begin.epochs[epoch] = time.perf_counter() - self.begin._start

    begin = Begin()
    return begin, End(begin)


def run_once(label, overrides, run_dir):
    from kerasfer.config import load_config
    from kerasfer.training.experiment import Experiment

    config = load_config(None, [f"run_dir={run_dir}", *overrides])
    experiment = Experiment(config).setup()
    begin, end = make_timer()
    # Around every other callback: first to begin an epoch, last to end it.
    costs = {}
    for callback in experiment.callbacks:            # time every callback's epoch end
        name, original = type(callback).__name__, callback.on_epoch_end

        def timed(epoch, logs=None, _original=original, _name=name):
            start = time.perf_counter()
            _original(epoch, logs)
            costs.setdefault(_name, {}).setdefault(epoch, 0.0)
            costs[_name][epoch] += time.perf_counter() - start

        callback.on_epoch_end = timed
    experiment.callbacks.insert(0, begin)
    experiment.callbacks.append(end)
    experiment.fit()
    rows = []
    for epoch in sorted(begin.epochs)[1:]:
        ends = {name: per_epoch.get(epoch, 0.0) for name, per_epoch in costs.items()}
        rows.append((begin.epochs[epoch], begin.batches[epoch], ends))
    return label, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--diagnostics-every", type=int, default=5)
    parser.add_argument("--checkpoint-every", type=int, default=5)
    parser.add_argument("--videos", type=int, default=240)
    args = parser.parse_args()
    common = [f"train.epochs={args.epochs}", "train.verbose=0", "eval.run_after_fit=false",
              "train.early_stopping_patience=0", f"data.synthetic.num_videos={args.videos}"]
    settings = [
        ("every epoch", common + ["train.diagnostics_every=1", "train.checkpoint_every=1"]),
        ("proportionate", common + [f"train.diagnostics_every={args.diagnostics_every}",
                                    f"train.checkpoint_every={args.checkpoint_every}"]),
    ]
    results = {label: [] for label, _ in settings}
    with tempfile.TemporaryDirectory() as root:
        for round_index in range(args.rounds):
            for label, overrides in settings:          # interleaved: same load on both
                run_dir = os.path.join(root, f"{round_index}-{label.replace(' ', '_')}")
                results[label].extend(run_once(label, overrides, run_dir)[1])
    print(f"load average at the end: {os.getloadavg()}")
    print("| setting | epochs timed | median epoch s | median batches s | "
          "median outside batches s | median epoch / batches |")
    print("|---|---|---|---|---|---|")
    for label, rows in results.items():
        epoch = statistics.median(r[0] for r in rows)
        batches = statistics.median(r[1] for r in rows)
        outside = statistics.median(r[0] - r[1] for r in rows)
        ratio = statistics.median(r[0] / r[1] for r in rows)
        print(f"| {label} | {len(rows)} | {epoch:.2f} | {batches:.2f} | {outside:.2f} | "
              f"{ratio:.2f} |")
    print("\nmean seconds per epoch in each callback's on_epoch_end (the rest of 'outside' "
          "is the validation pass and Keras' own bookkeeping):")
    for label, rows in results.items():
        names = sorted({name for row in rows for name in row[2]})
        means = {name: statistics.mean(row[2].get(name, 0.0) for row in rows) for name in names}
        print(f"{label}: " + ", ".join(f"{name} {value:.2f}" for name, value in
                                       sorted(means.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
