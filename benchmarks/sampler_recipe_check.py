"""The sampler study's comparison replicated through the library: `python -m kerasfer.fit`.

`benchmarks/sampler_study.py` measures temporal stochastic softmax against uniform clip
sampling in a lean training loop (Ayral (2021) master's thesis, Ch. 3). This script runs the
same comparison with the command a user runs: the default experiment of `python -m
kerasfer.fit` (`configs/sparse_cue_pretrained.yaml`: a small 2D CNN pretrained on static
faces of other subjects, inflated, fine-tuned at Adam 1e-4 for 24 epochs on 64–128-frame
synthetic videos whose expression covers 10 % of the frames), once with `sampler.kind=
softmax` and once with `sampler.kind=uniform` per seed. The two runs of a seed differ in the
sampler only: the uniform run reuses the softmax run's pretrained 2D model
(`pretrain.source=none model.pretrained=RUN`). Each run is evaluated on its 40 validation
videos (4 held-out subjects) at γ_p = 0 and γ_p = 1 (`python -m kerasfer.evaluate`).

PREREGISTRATION (written before any run of this script, 2026-12-02 08:05 UTC): seeds 0, 1,
2 (more if time allows, in order), both arms per seed, nothing else varied or tuned;
reported: whole-video validation accuracy per arm (mean ± SE), the paired difference
softmax − uniform per γ_p (mean ± SE), and the exploitation-phase cue hit rate of each arm
next to uniform sampling's expectation. It replicates, it does not replace, the study's
decision (which rests on 100 test videos per seed).

Run: `python benchmarks/sampler_recipe_check.py --seeds 3 --out DIR` writes
`DIR/<arm>_seed<N>/` (the runs), `DIR/results.json` and prints a markdown table; finished
runs are kept and skipped on a rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ARMS = ("softmax", "uniform")


def run(command):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def accuracy(run_dir, gamma):
    """Whole-video validation accuracy of `run_dir` at γ_p = `gamma` (evaluates once)."""
    out = os.path.join(run_dir, f"evaluation_gamma{gamma:g}")
    path = os.path.join(out, "report.json")
    if not os.path.exists(path):
        run([sys.executable, "-m", "kerasfer.evaluate", "--run", run_dir, "--split",
             "validation", "--pooling-temperature", f"{gamma:g}", "--out", out])
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["metrics"]["accuracy"]


def mean_se(values):
    values = [float(v) for v in values]
    if len(values) < 2:
        return values[0] if values else float("nan"), float("nan")
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="/tmp/kerasfer_sampler_recipe_check")
    parser.add_argument("overrides", nargs="*", help="extra overrides for both arms (tests)")
    args = parser.parse_args(argv)
    results = {}
    for seed in range(args.seeds):
        for arm in ARMS:
            run_dir = os.path.join(args.out, f"{arm}_seed{seed}")
            extra = ([] if arm == "softmax" else
                     ["pretrain.source=none",
                      f"model.pretrained={os.path.join(args.out, f'softmax_seed{seed}')}"])
            if not os.path.exists(os.path.join(run_dir, "cue_hit_rate.json")):
                run([sys.executable, "-m", "kerasfer.fit", f"run_dir={run_dir}", f"seed={seed}",
                     f"sampler.kind={arm}", "eval.run_after_fit=false",
                     "eval.export_after_fit=false", *extra, *args.overrides])
            with open(os.path.join(run_dir, "cue_hit_rate.json"), encoding="utf-8") as handle:
                hits = json.load(handle)
            results[f"{arm}/{seed}"] = {"accuracy": {g: accuracy(run_dir, g) for g in (0, 1)},
                                        "hit_rate": hits["exploitation"],
                                        "uniform_hit_rate": hits["uniform"]}
    seeds = range(args.seeds)
    lines = ["| arm | seeds | val acc γ_p = 0 (%) | val acc γ_p = 1 (%) | hit rate, exploitation "
             "| uniform expectation |", "| --- | --- | --- | --- | --- | --- |"]
    fmt = lambda m: f"{100 * m[0]:.1f} ± {100 * m[1]:.1f}"  # noqa: E731
    for arm in ARMS:
        rows = [results[f"{arm}/{s}"] for s in seeds]
        lines.append(f"| {arm} | {len(rows)} | "
                     f"{fmt(mean_se([r['accuracy'][0] for r in rows]))} | "
                     f"{fmt(mean_se([r['accuracy'][1] for r in rows]))} | "
                     f"{mean_se([r['hit_rate'] for r in rows])[0]:.3f} | "
                     f"{rows[0]['uniform_hit_rate']:.3f} |")
    deltas = {g: [results[f"softmax/{s}"]["accuracy"][g] - results[f"uniform/{s}"]["accuracy"][g]
                  for s in seeds] for g in (0, 1)}
    lines.append(f"| paired Δ softmax − uniform | {len(deltas[0])} | {fmt(mean_se(deltas[0]))} | "
                 f"{fmt(mean_se(deltas[1]))} | | |")
    print("\n".join(lines))
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({"runs": results, "table": lines}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
