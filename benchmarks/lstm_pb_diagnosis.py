"""Why LSTM-PB + GBM misses held-out subjects, and which changes help (diagnosis, seeds 0-2).

Huynh & Kim (2017)'s LSTM-PB (`kerasfer.models.LSTMParametricBias`) trained per emotion as
`kerasfer.pipelines.lstm_pb_genuine_fake` does (40 landmarks, displacements from the first
frame over their training standard deviation, 3 box-jittered copies, two learned PB vectors
per emotion, 200 Adam recognition steps, GBM of 300 trees), in one lean script so that one
setting at a time can be changed: the plain LSTM core, 100 epochs, on the synthetic
genuine/posed proxy of `configs/lstm_pb_genuine_fake.yaml` (24 subjects, 6 held out).
Besides the GBM on recognised PB vectors (the paper) it prints, as diagnostics, a logistic
regression on the same vectors (`lr`), the network's own decision by next-frame error
with the genuine vs the posed PB vector (`err`), and each with the paired decision of the
ChaLearn protocol (`pair_*`, `kerasfer.evaluation.genuine_fake.paired_decisions`).
Variants: `--residual` (predict x_{t+1} - x_t), `--input-dropout`, `--input-noise`
(training only), `--horizon K` (predict x_{t+K}), `--pb-per sequence`, `--pb-dim`,
`--gbm-holdout F` (GBM trained on held-back training subjects), `--tta N` (average over N
box-jittered copies of each test video, as the authors' released script averages).

This is the exploratory step: the settings the config adopted were chosen here on seeds
0-2, and `benchmarks/lstm_pb_check.py` tests them on fresh seeds. Results of the session
that ran it: `benchmarks/results/lstm_pb_diagnosis/results.jsonl` (BENCHMARKS.md).

Run: `python benchmarks/lstm_pb_diagnosis.py extract --seed 0` (writes the landmark
sequences of the config's synthetic data to OUT/seq_s0.npz), then
`python benchmarks/lstm_pb_diagnosis.py train --seed 0 --input-noise 1.0 --pb-dim 4`.
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np
from keras import ops
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kerasfer.models import LSTMParametricBias
from kerasfer.models.lstm_pb_classifier import fit_pb_classifier
from kerasfer.pipelines.lstm_pb_genuine_fake import _PB_ROWS, box_jitter

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "configs", "lstm_pb_genuine_fake.yaml")


def extract(seed, out, align=False):
    """Writes the 40-point sequences, labels, emotions, split and subjects of a seed; unaligned
    as in the session that recorded the results unless `align` (the config's default since)."""
    from kerasfer.config import load_config
    from kerasfer.pipelines.registry import get_pipeline

    cfg = load_config(CONFIG, overrides=[f"seed={seed}", f"run_dir={out}/extract_s{seed}",
                                         f"pipeline_options.align_landmarks={str(align).lower()}"])
    p = get_pipeline(cfg.pipeline)(cfg)
    index, splits, pairs, records = p.prepare_genuine_fake_data()
    seqs = p._sequences(index, records)
    emotion_of = {i: e for e, pair in pairs.items() for i in pair}
    ids = [r["id"] for r in records]
    train = set(splits["train"])
    np.savez(os.path.join(out, f"seq_s{seed}.npz"),
             points=np.stack([seqs[i] for i in ids]),
             genuine=np.array([int(int(r["label"]) == pairs[emotion_of[int(r["label"])]][0])
                               for r in records]),
             emotion=np.array([emotion_of[int(r["label"])] for r in records]),
             train=np.array([i in train for i in ids]),
             subject=np.array([str(r.get("subject", "")) for r in records]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["extract"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", default="/tmp/kerasfer_lstm_pb_diagnosis")
        parser.add_argument("--align", action="store_true",
                            help="align landmarks per frame (pipeline_options.align_landmarks)")
        a = parser.parse_args(argv[1:])
        os.makedirs(a.out, exist_ok=True)
        extract(a.seed, a.out, a.align)
        return 0
    if argv[:1] == ["train"]:
        argv = argv[1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/kerasfer_lstm_pb_diagnosis")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None)
    ap.add_argument("--recurrent", default="lstm")
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--pb-dim", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--pb-per", default="class")
    ap.add_argument("--residual", action="store_true")
    ap.add_argument("--input-dropout", type=float, default=0.0)
    ap.add_argument("--input-noise", type=float, default=0.0)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--rec-steps", type=int, default=200)
    ap.add_argument("--rec-lr", type=float, default=0.05)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--tag", default="")
    ap.add_argument("--gbm-holdout", type=float, default=0.0)
    ap.add_argument("--tta", type=int, default=0)
    a = ap.parse_args(argv)

    class Variant(LSTMParametricBias):
        def predict_next_frames(self, landmarks, pb, initial_state=None, return_state=False):
            out = super().predict_next_frames(landmarks, pb, initial_state, return_state)
            if a.residual:
                if return_state:
                    return ops.cast(landmarks, out[0].dtype) + out[0], out[1]
                return ops.cast(landmarks, out.dtype) + out
            return out
        def call(self, inputs, training=None):
            x = ops.cast(inputs["landmarks"], "float32")
            if training and (a.input_dropout or a.input_noise):
                if a.input_dropout:
                    keep = keras.random.uniform(ops.shape(x)[:2]) >= a.input_dropout
                    x = x * ops.cast(ops.expand_dims(keep, -1), x.dtype)
                if a.input_noise:
                    x = x + a.input_noise * keras.random.normal(ops.shape(x))
            return super().call({"landmarks": x, "sequence_index": inputs["sequence_index"]})

    d = np.load(a.data or os.path.join(a.out, f"seq_s{a.seed}.npz"))
    pts, gen, emo, tr = d["points"], d["genuine"], d["emotion"], d["train"]
    def flat(p, scale=1.0):
        p = np.asarray(p, np.float32); p = p - p[:, :1]
        return p.reshape(len(p), p.shape[1], -1) / scale
    scale = float(np.std(flat(pts[tr]))) or 1.0
    keras.utils.set_random_seed(a.seed); rng = np.random.default_rng(a.seed)
    t0 = time.time(); res = {}
    allp, ally, allpl, allyl = [], [], [], []
    for e in sorted(set(emo)):
        m = emo == e; trm = m & tr; tem = m & ~tr
        subs = sorted(set(d["subject"][trm])); r2 = np.random.default_rng(a.seed + 7); r2.shuffle(subs)
        gsubs = set(subs[:int(round(a.gbm_holdout * len(subs)))])
        lstm_m = trm & ~np.isin(d["subject"], list(gsubs)); gbm_m = trm & np.isin(d["subject"], list(gsubs))
        train = pts[lstm_m]; g = gen[lstm_m]
        copies = [train] + [np.stack([box_jitter(s, rng, 0.1) for s in train]) for _ in range(a.copies)]
        x = flat(np.concatenate(copies), scale); y = np.tile(g, len(copies))
        if gsubs:
            gtrain = pts[gbm_m]
            gcop = [gtrain] + [np.stack([box_jitter(s, rng, 0.1) for s in gtrain]) for _ in range(a.copies)]
            xg = flat(np.concatenate(gcop), scale); yg = np.tile(gen[gbm_m], len(gcop))
        rows, idx = _PB_ROWS[a.pb_per](y)
        model = Variant(rows, input_dim=x.shape[-1], pb_dim=a.pb_dim, units=a.units, recurrent=a.recurrent, context_dim=64)
        model.compile(optimizer=keras.optimizers.Adam(a.lr), loss="mse")
        h = a.horizon
        hist = model.fit({"landmarks": x[:, :-h], "sequence_index": idx}, x[:, h:], epochs=a.epochs, batch_size=32, shuffle=True, verbose=0).history["loss"]
        if gsubs:
            x, y = xg, yg
        pb_tr = model.recognize(x, steps=a.rec_steps, learning_rate=a.rec_lr, optimizer="adam")
        xt = flat(pts[tem], scale); yt = gen[tem]
        pb_te = model.recognize(xt, steps=a.rec_steps, learning_rate=a.rec_lr, optimizer="adam")
        gbm = fit_pb_classifier(pb_tr, y, n_estimators=a.trees, learning_rate=0.1, random_state=a.seed)
        acc = float(np.mean(gbm.predict(pb_te) == yt))
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(pb_tr, y)
        acc_lr = float(np.mean(lr.predict(pb_te) == yt))
        subj = d["subject"][tem]
        def pair_acc(p_genuine):
            # within each held-out subject's videos of this emotion, the higher half of
            # P(genuine) is called genuine (the pairing of the authors' released predict script)
            call = np.zeros(len(yt), int)
            for s in set(subj):
                rows = np.where(subj == s)[0]; k = int(round(yt[rows].mean() * len(rows)))
                call[rows[np.argsort(-p_genuine[rows])[:k]]] = 1
            return float(np.mean(call == yt))
        pg_gbm = gbm.predict_proba(pb_te)[:, 1]; pg_lr = lr.predict_proba(pb_te)[:, 1]
        if a.tta:
            for _ in range(a.tta):
                xj = flat(np.stack([box_jitter(s_, rng, 0.1) for s_ in pts[tem]]), scale)
                pbj = model.recognize(xj, steps=a.rec_steps, learning_rate=a.rec_lr, optimizer="adam")
                pg_gbm = pg_gbm + gbm.predict_proba(pbj)[:, 1]; pg_lr = pg_lr + lr.predict_proba(pbj)[:, 1]
            pg_gbm /= a.tta + 1; pg_lr /= a.tta + 1
            acc = float(np.mean((pg_gbm > 0.5) == yt)); acc_lr = float(np.mean((pg_lr > 0.5) == yt))
        # error-based: MSE with learned class PBs (class mode only)
        acc_err = float("nan")
        if a.pb_per == "class":
            pbs = model.pb_vectors()
            errs = []
            for k in range(2):
                pr = ops.convert_to_numpy(model.predict_next_frames(xt[:, :-1], np.repeat(pbs[k:k+1], len(xt), 0)))
                errs.append(((pr - xt[:, 1:]) ** 2).mean(axis=(1, 2)))
            acc_err = float(np.mean((errs[1] < errs[0]).astype(int) == yt))
            pair_err = pair_acc(errs[0] - errs[1])
        else:
            pair_err = float("nan")
        np.savez(os.path.join(a.out, f"pbs_{a.tag}_s{a.seed}_{e}.npz"), pb_tr=pb_tr, y=y, pb_te=pb_te, yt=yt, pbs=model.pb_vectors())
        res[e] = dict(pair_gbm=pair_acc(pg_gbm), pair_lr=pair_acc(pg_lr), pair_err=pair_err, gbm=acc, lr=acc_lr, err=acc_err, loss0=hist[0], loss=hist[-1], pb_std=float(pb_te.std()))
        print(e, {k: round(v, 3) for k, v in res[e].items()}, flush=True)
    mean = {k: float(np.mean([r[k] for r in res.values()])) for k in ("gbm", "lr", "err", "pair_gbm", "pair_lr", "pair_err")}
    print("MEAN", a.tag, {k: round(100 * v, 1) for k, v in mean.items()}, f"{time.time()-t0:.0f}s", flush=True)
    with open(os.path.join(a.out, "results.jsonl"), "a") as f:
        f.write(json.dumps(dict(vars(a), **{f"mean_{k}": v for k, v in mean.items()}, per=res)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
