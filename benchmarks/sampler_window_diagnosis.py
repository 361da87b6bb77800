"""Why does temporal stochastic softmax lose at γ_p = 0 but win at γ_p = 1? (post-hoc probe)

A diagnostic of the sampler study's result (`benchmarks/sampler_study.py`, BENCHMARKS.md
"Sampler study", amendment 3), not part of its preregistration: with 10 seeds, softmax
γ_s = 1 beats uniform clip sampling by +6.3 ± 2.3 points at γ_p = 1 but not at γ_p = 0
(Ayral (2021) master's thesis, Eq. 3.3: γ_p = 0 averages the per-window scores, γ_p = 1
weights them by their softmax). The hypothesis: a model trained mostly on cue clips scores
the windows WITHOUT the expression poorly, and mean pooling lets those windows vote.

This script retrains both arms of the study's core comparison for the given seeds (the
study's exact `train_run`, same data, same pretrained 2D model per seed) and, on the 100
test videos, splits the windows (F = 16 consecutive frames, as `VideoScorer` pools them)
into cue windows (holding a frame with intensity ≥ half the video's maximum) and the
others, then reports per arm: the accuracy of each window's own arg-max, the mean softmax
probability of the true class, the mean true-class logit and the mean largest logit (both
centred on the window's mean logit: what γ_p = 0 sums), and the whole-video accuracy at
γ_p = 0 and 1.

Run: `python benchmarks/sampler_window_diagnosis.py --seeds 6 8 --out DIR` (DIR: the study's
`--out`, whose cached videos and static faces it reuses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sampler_study as study  # noqa: E402


def window_statistics(model, videos, clip_length):
    """Per-window arg-max accuracy and true-class probability, cue vs other windows."""
    from kerasfer.data.sampling.cue_hit_rate import cue_frames
    from kerasfer.evaluation.video_scorer import VideoScorer

    scorer = VideoScorer(model, clip_length=clip_length, pooling_temperature=0.0)
    rows = {"cue": [], "other": []}
    for video in videos:
        windows, _ = scorer.window_and_frame_scores(study.normalise(video["frames"]))
        windows = np.asarray(windows, np.float64)
        cue = cue_frames(video["intensity"])
        length = len(cue)
        starts = np.linspace(0, max(length - clip_length, 0), len(windows)).round().astype(int)
        probabilities = np.exp(windows - windows.max(-1, keepdims=True))
        probabilities /= probabilities.sum(-1, keepdims=True)
        for start, logits, p in zip(starts, windows, probabilities):
            kind = "cue" if cue[start:start + clip_length].any() else "other"
            centred = logits - logits.mean()
            rows[kind].append((float(np.argmax(logits) == video["label"]),
                               float(p[video["label"]]), float(centred[video["label"]]),
                               float(centred.max())))
    names = ("argmax_accuracy", "true_class_probability", "true_class_centred_logit",
             "max_centred_logit")
    return {kind: {"windows": len(values),
                   **{name: float(np.mean([v[i] for v in values]))
                      for i, name in enumerate(names)}}
            for kind, values in rows.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[6, 8])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    settings = study.Settings(learning_rate=1e-4)
    import pickle

    with open(os.path.join(args.out, "videos-apex0.1-full.pkl"), "rb") as handle:
        data = pickle.load(handle)
    with open(os.path.join(args.out, "static-faces-full.pkl"), "rb") as handle:
        faces = pickle.load(handle)
    captured = {}
    original = study.video_accuracies

    def capturing(model, videos, clip_length):
        captured["model"] = model
        return original(model, videos, clip_length)

    study.video_accuracies = capturing
    results = {}
    for seed in args.seeds:
        weights, _ = study.pretrain_2d(settings, faces, seed)
        for sampler in ("uniform", "softmax"):
            record = study.train_run(study.Condition(sampler), seed, data, weights, settings,
                                     log=lambda message: None)
            stats = window_statistics(captured["model"], data["test"], settings.clip_length)
            results[f"{sampler}/{seed}"] = {"test_accuracy": record["test_accuracy"], **stats}
            print(sampler, seed, json.dumps(results[f"{sampler}/{seed}"]), flush=True)
    with open(os.path.join(args.out, "window_diagnosis.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
