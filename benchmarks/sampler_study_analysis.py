"""Tables, plots and the exploration simulation of the sampler study.

`benchmarks/sampler_study.py` (Ayral (2021) master's thesis, Ch. 3) trains the runs and
records them; this module turns the records into the results table (mean ± standard error,
paired differences to uniform sampling, epochs to uniform's best validation accuracy, cue
hit rates, score–label correlation) and the learning-curve plots, and compares the two
exploration schemes with a simulated scorer (`--exploration-simulation`).
"""

from __future__ import annotations

import os
import statistics

import numpy as np

def mean_se(values):
    values = [float(v) for v in values if v == v]
    if not values:
        return float("nan"), float("nan")
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return statistics.fmean(values), se


def epochs_to_target(curve, target):
    for epoch, value in enumerate(curve, start=1):
        if value >= target - 1e-9:
            return epoch
    return None


def summarise(records, settings):
    """Returns (markdown lines, JSON-able summary) for the finished runs."""
    by_condition = {}
    for r in records:
        by_condition.setdefault(r["condition"], {})[r["seed"]] = r
    rows, summary = [], {}
    header = ("| condition | seeds | test acc γ_p=0 (%) | test acc γ_p=1 (%) | Δ vs uniform γ_p=0 "
              "(paired) | Δ γ_p=1 (paired) | epochs to uniform's best val (not reached) | "
              "hit rate exploitation | uniform hit rate | score–label corr. end |")
    rows += [header, "|" + " --- |" * 10]
    for name, runs in sorted(by_condition.items()):
        cond = next(iter(runs.values()))
        baseline_name = f"uniform/{cond['init']}/apex{cond['apex_fraction']:g}"
        baseline = by_condition.get(baseline_name, {})
        seeds = sorted(runs)
        acc = {g: mean_se([100 * runs[s]["test_accuracy"][g] for s in seeds]) for g in ("0", "1")}
        paired = {g: mean_se([100 * (runs[s]["test_accuracy"][g] - baseline[s]["test_accuracy"][g])
                              for s in seeds if s in baseline]) for g in ("0", "1")}
        to_target, missed = [], 0
        for s in seeds:
            if s not in baseline:
                continue
            target = max(e["val_accuracy"]["0"] for e in baseline[s]["epochs"])
            reached = epochs_to_target([e["val_accuracy"]["0"] for e in runs[s]["epochs"]], target)
            missed += reached is None
            to_target.append(reached or settings.epochs + 1)
        exploit = [np.mean([e["hit_rate"] for e in runs[s]["epochs"]
                            if e["epoch"] > settings.warmup_epochs + settings.exploration_epochs])
                   for s in seeds]
        uniform = [runs[s]["epochs"][0]["uniform_hit_rate"] for s in seeds]
        corr = [runs[s]["epochs"][-1]["score_label_correlation"] for s in seeds]
        ett = mean_se(to_target)
        summary[name] = {"seeds": seeds, "test_accuracy": acc, "paired_difference": paired,
                         "epochs_to_uniform_best": ett, "not_reached": missed,
                         "hit_rate_exploitation": mean_se(exploit),
                         "hit_rate_exploitation_per_seed": [float(x) for x in exploit],
                         "uniform_hit_rate": mean_se(uniform),
                         "score_label_correlation_end": mean_se(corr)}
        fmt = lambda m: f"{m[0]:.1f} ± {m[1]:.1f}"  # noqa: E731
        fmt3 = lambda m: f"{m[0]:.3f} ± {m[1]:.3f}"  # noqa: E731
        rows.append(f"| {name} | {len(seeds)} | {fmt(acc['0'])} | {fmt(acc['1'])} | "
                    f"{fmt(paired['0']) if name != baseline_name else '—'} | "
                    f"{fmt(paired['1']) if name != baseline_name else '—'} | "
                    f"{fmt(ett)} ({missed}) | {fmt3(mean_se(exploit))} | "
                    f"{fmt3(mean_se(uniform))} | {fmt3(mean_se(corr))} |")
    return rows, summary


def plot(records, settings, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({r["condition"] for r in records})
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in names:
        runs = [r for r in records if r["condition"] == name]
        curve = np.mean([[e["val_accuracy"]["0"] for e in r["epochs"]] for r in runs], axis=0)
        axes[0].plot(np.arange(1, len(curve) + 1), 100 * curve, label=f"{name} ({len(runs)})")
        hits = np.mean([[e["hit_rate"] for e in r["epochs"]] for r in runs], axis=0)
        axes[1].plot(np.arange(1, len(hits) + 1), hits, label=name)
    uniform = np.mean([r["epochs"][0]["uniform_hit_rate"] for r in records])
    axes[1].axhline(uniform, color="k", linestyle=":", label="uniform (expected)")
    for axis in axes:
        axis.axvline(settings.warmup_epochs + 0.5, color="grey", linewidth=0.5)
        axis.axvline(settings.warmup_epochs + settings.exploration_epochs + 0.5, color="grey",
                     linewidth=0.5)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7)
    axes[0].set_ylabel("validation whole-video accuracy, γ_p = 0 (%)")
    axes[1].set_ylabel("cue hit rate of the training clips")
    figure.tight_layout()
    figure.savefig(os.path.join(out, "learning_curves.png"), dpi=100)
    figure2, axis = plt.subplots(figsize=(6, 4))
    for name in names:
        runs = [r for r in records if r["condition"] == name]
        hits = np.mean([[e["hit_rate"] for e in r["epochs"]] for r in runs], axis=0)
        axis.plot(np.arange(1, len(hits) + 1), hits, label=name)
    axis.axhline(uniform, color="k", linestyle=":", label="uniform (expected)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("cue hit rate")
    axis.legend(fontsize=7)
    figure2.tight_layout()
    figure2.savefig(os.path.join(out, "hit_rate.png"), dpi=100)
    plt.close("all")


def exploration_simulation(data, settings, seeds=range(5), noises=(0.0, 1.0, 3.0)):
    """Which exploration builds the better score table from a given scorer? (no training)

    The training videos of the study, E = `settings.exploration_epochs` exploration epochs
    without warm-up, and a scorer whose target score is `0.5 + 6 · clip label / max label`
    (the inflated pretrained model's mean target logit was 6.5 in cue windows and 0.5
    elsewhere) plus Gaussian noise of standard deviation `noise`. Returns, per scheme and
    noise, the expected cue hit rate of the first exploitation epoch (γ_s = 1) and the
    score–label correlation of the table.
    """
    from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler
    from kerasfer.data.sampling.cue_hit_rate import (clip_hit_masks, expected_hit_rate,
                                                     score_label_correlation)
    from kerasfer.data.sampling.label_guided_sampler import clip_label_scores

    labels = [v["intensity"] for v in data["train"]]
    lengths, f, count = [len(x) for x in labels], settings.clip_length, len(labels)
    masks = clip_hit_masks(labels, f)
    curves = [clip_label_scores(x, f) / max(float(x.max()), 1e-9) for x in labels]
    results = {}
    for noise in noises:
        for scheme in ("segments", "author"):
            rows = []
            for seed in seeds:
                rng = np.random.default_rng([seed, 7])
                sampler = TemporalStochasticSoftmaxSampler(
                    lengths, f, 1.0, 0, settings.exploration_epochs, seed, exploration=scheme)
                for epoch in range(settings.exploration_epochs):
                    starts = sampler.plan(epoch)
                    scores = np.array([0.5 + 6.0 * curves[v][starts[v]] for v in range(count)])
                    sampler.update(np.arange(count), starts,
                                   scores + rng.normal(0.0, noise, count), epoch)
                rows.append((expected_hit_rate(masks, [sampler.distribution(v)
                                                       for v in range(count)]),
                             score_label_correlation([sampler.table.scores(v)
                                                      for v in range(count)], labels, f)))
            rows = np.asarray(rows)
            results[f"{scheme}/noise{noise:g}"] = {
                "first_exploitation_hit_rate": mean_se(rows[:, 0]),
                "score_label_correlation": mean_se(rows[:, 1])}
    return results
