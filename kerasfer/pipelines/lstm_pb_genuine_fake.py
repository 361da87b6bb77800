"""`lstm_pb_genuine_fake`: real-vs-fake expressions from landmark dynamics with LSTM-PB + GBM.

The system of Huynh & Kim (2017, "Facial landmarks and LSTM with parametric bias for
real versus fake expression recognition", ChaLearn LAP 2017, 1st place), as one run:

1. the 68 tracked landmarks of every frame (TFRecords, crop coordinates in [0, 1]), with
   `align_landmarks` mapped per frame onto the builder's face template
   (`align_to_template`, an assumption), reduced to the paper's 40 points
   (`paper_landmarks`, Section 2.2, Fig. 2): 80 inputs per frame;
   every video resampled to `sequence_length` frames and, with `relative_to_first_frame`
   (an assumption), taken as displacements from its first, neutral frame (the videos start
   neutral, Section 3.1), which removes the face shape of the person; inputs are divided by
   their standard deviation over the training videos;
2. landmark-box jitter augmentation (Section 2.4): each training video gets `augment_copies`
   copies whose landmarks are re-expressed in a face box with a random margin (up to
   `box_jitter` of the side) removed on every edge;
3. one LSTM-PB per emotion (Section 2.3.6), `kerasfer.models.LSTMParametricBias`: landmarks
   and PB vector fully connected to the hidden layer, the recurrent core on the context loop
   (Section 2.3.5), the core a 2D Grid LSTM (`recurrent: grid_lstm`, Section 2.3.4) or a
   plain LSTM; *learning* mode with `pb_per: class`, the paper's "two parametric biases ...
   one for the genuine emotion and the other for the fake one" (Section 2.3.1), or one PB
   vector per training sequence (`pb_per: sequence`), next-frame MSE, optionally with
   Gaussian noise on the training inputs (`input_noise`, not in the paper, see
   `LSTMParametricBias`); *generation* mode
   (closed-loop landmarks from a learned PB; its error is logged); *recognition* mode
   (fresh PB vectors fitted to every video, training videos included, weights frozen);
4. one gradient boosting machine per emotion on the recognised PB vectors (Section 2.4);
   a video's P(genuine) is the machine's output, averaged with `test_copies` > 0 over the
   video and that many box-jittered copies (as the authors' released test scripts average
   over 20 re-cropped copies of each test video);
5. `evaluate`: per-emotion ROC (curve points and AUC), accuracy, per-emotion average
   precision and MAP on the held-out subjects' videos.

Example:

    python -m kerasfer.fit --config configs/lstm_pb_genuine_fake.yaml
    python -m kerasfer.evaluate --run runs/lstm_pb_genuine_fake
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

from kerasfer.errors import ConfigError
from kerasfer.pipelines.genuine_fake_pipeline import GenuineFakePipeline
from kerasfer.pipelines.registry import register_pipeline

# 36 of the 68 iBUG/dlib points: chin tip, brows, nose bridge and base, eyes, outer lip
# corners and mid points (jaw sides and inner lip removed, Huynh & Kim 2017, Fig. 2A) ...
_KEPT = ([8] + list(range(17, 27)) + [27, 30, 31, 33, 35] + list(range(36, 48))
         + [48, 50, 51, 52, 54, 56, 57, 58])
# ... plus 4 points at the centre of a line (Fig. 2B): two cheeks (jaw 2 – nose wing 31,
# jaw 14 – nose wing 35) and the two brow ends (outer brow – outer eye corner).
_ADDED = ((2, 31), (14, 35), (17, 36), (26, 45))


def paper_landmarks(landmarks):
    """Maps `(..., 68, 2)` dlib landmarks to Huynh & Kim (2017)'s 40 points `(..., 40, 2)`.

    Huynh & Kim (2017), Section 2.2 names the removed groups (chin, inner mouth) and the added points
    (two cheeks, two brow ends, each the centre of a line) but not the exact indices; this
    choice of 36 kept points is an assumption.
    """
    landmarks = np.asarray(landmarks, np.float32)
    if landmarks.shape[-2:] != (68, 2):
        raise ValueError(f"landmarks must be (..., 68, 2). Received: shape={landmarks.shape}")
    added = [(landmarks[..., a, :] + landmarks[..., b, :]) / 2 for a, b in _ADDED]
    return np.concatenate([landmarks[..., _KEPT, :], np.stack(added, axis=-2)], axis=-2)


def align_to_template(landmarks):
    """Maps every frame of `(frames, 68, 2)` crop-fraction landmarks onto the builder's template.

    The similarity transform (rotation, uniform scale, translation) of
    `tfrecords_builder.alignment` (Umeyama 1991; eye centres, nose tip and mouth corners,
    eyes weighted 4×) fitted per frame, in crop fractions: the rigid head motion left in the
    landmarks is removed and the expression's deformation kept. Landmarks that the builder
    already aligned (real videos) come back unchanged; the synthetic writer renders head
    motion into its crops without aligning them. Huynh & Kim (2017), Section 2.2, take their
    landmarks from each frame's detected face; the alignment is an assumption of this
    library, not a step of the paper.
    """
    from tfrecords_builder.alignment import (ALIGNMENT_WEIGHTS, TEMPLATE, alignment_points,
                                             similarity_transform, transform_points)

    landmarks = np.asarray(landmarks, np.float32)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise ValueError(f"landmarks must be (frames, 68, 2). Received: shape={landmarks.shape}")
    return np.stack([transform_points(frame, similarity_transform(
        alignment_points(frame), TEMPLATE, ALIGNMENT_WEIGHTS)) for frame in landmarks]
    ).astype(np.float32)


def box_jitter(landmarks, rng, max_fraction):
    """Landmarks re-expressed in a face box cropped by a random margin on every edge.

    Huynh & Kim (2017), Section 2.4: "choose a random number, then use it in removing that amount of
    pixels on edge for a detected face ... and generate the corresponding facial landmarks".
    With coordinates in [0, 1] of the box, removing margins `(l, t, r, b)` maps
    `x → (x − l) / (1 − l − r)`, `y → (y − t) / (1 − t − b)` (one crop per video).
    """
    left, top, right, bottom = rng.uniform(0.0, max_fraction, 4)
    scale = np.array([1 - left - right, 1 - top - bottom], np.float32)
    return (landmarks - np.array([left, top], np.float32)) / scale


# Learning mode, which PB row each training sequence trains: Huynh & Kim (2017), Section 2.3.1,
# "two parametric biases are created: one is for the genuine emotion and the other for the
# fake one" (`class`, also the authors' released code), or one PB vector per sequence
# (`sequence`, Eq. 1's p_{x_i} read per sequence; the classic RNN-PB learning mode).
_PB_ROWS = {
    "class": lambda genuine: (2, genuine),
    "sequence": lambda genuine: (len(genuine), np.arange(len(genuine))),
}


def _resample(sequence, length):
    return sequence[np.round(np.linspace(0, len(sequence) - 1, length)).astype(int)]


@dataclasses.dataclass
class LstmPbOptions:
    """`pipeline_options` of `lstm_pb_genuine_fake`; defaults are Huynh & Kim (2017)'s values."""

    recurrent: str = "grid_lstm"
    pb_dim: int = 64
    units: int = 512
    sequence_length: int = 32
    augment_copies: int = 3
    box_jitter: float = 0.1
    pb_gradient_scale: float = 1.0
    pb_per: str = "class"
    context_dim: int = 64
    recognition_steps: int = 200
    recognition_learning_rate: float = 0.05
    gbm_trees: int = 5000
    gbm_learning_rate: float = 0.1
    relative_to_first_frame: bool = True
    input_noise: float = 0.0
    test_copies: int = 0
    align_landmarks: bool = False


@register_pipeline("lstm_pb_genuine_fake")
class LstmPbGenuineFakePipeline(GenuineFakePipeline):
    """Huynh & Kim (2017)'s real-vs-fake system (see module docstring); options `LstmPbOptions`."""

    options_class = LstmPbOptions

    def __init__(self, config):
        super().__init__(config)
        from kerasfer.models.lstm_parametric_bias import RECURRENT_CORES

        if self.options.recurrent not in RECURRENT_CORES:
            raise ConfigError("pipeline_options.recurrent", f"unknown {self.options.recurrent!r}",
                              f"choose one of {', '.join(RECURRENT_CORES)}")
        if self.options.pb_per not in _PB_ROWS:
            raise ConfigError("pipeline_options.pb_per", f"unknown {self.options.pb_per!r}",
                              f"choose one of {', '.join(_PB_ROWS)}")
        if not self.options.input_noise >= 0:
            raise ConfigError("pipeline_options.input_noise", f"{self.options.input_noise}",
                              "use a standard deviation >= 0 (0 turns it off)")
        if self.options.test_copies < 0:  # the schema has already refused non-integers
            raise ConfigError("pipeline_options.test_copies", f"{self.options.test_copies}",
                              "use a whole number >= 0 (0 scores the video as it is)")
        if not 0 <= self.options.box_jitter < 0.5:
            raise ConfigError("pipeline_options.box_jitter", f"{self.options.box_jitter}",
                              "use a fraction in [0, 0.5)")

    def _sequences(self, index, records):
        """`{id: (sequence_length, 80)}` of the 40 paper landmarks, centred on the box."""
        from kerasfer.data.landmark_dataset import landmark_dataset

        sequences = {}
        for batch in landmark_dataset(index, records, normalization="crop"):
            video_id = batch["id"][0].numpy().decode()
            points = batch["landmarks"][0].numpy()
            if self.options.align_landmarks:
                points = align_to_template(points)
            points = paper_landmarks(points)
            sequences[video_id] = _resample(points, self.options.sequence_length)
        return sequences

    def _flat(self, points):
        """`(n, frames, 80)` network inputs: displacements from the first (neutral) frame
        when `relative_to_first_frame`, else box coordinates; divided by `self.scale`."""
        points = np.asarray(points, np.float32)
        points = points - (points[:, :1] if self.options.relative_to_first_frame else 0.5)
        return points.reshape(len(points), self.options.sequence_length, -1) / self.scale

    def _fit_emotion(self, emotion, train, genuine, rng):
        """Learning, generation and recognition for one emotion; returns its parts."""
        import keras
        import tqdm

        from kerasfer.models import LSTMParametricBias
        from kerasfer.models.lstm_pb_classifier import fit_pb_classifier

        o, cfg = self.options, self.config
        copies = [train] + [np.stack([box_jitter(s, rng, o.box_jitter) for s in train])
                            for _ in range(o.augment_copies)]
        x = self._flat(np.concatenate(copies))
        y = np.tile(genuine, len(copies))
        rows, index = _PB_ROWS[o.pb_per](y)
        model = LSTMParametricBias(rows, input_dim=x.shape[-1], pb_dim=o.pb_dim,
                                   units=o.units, pb_gradient_scale=o.pb_gradient_scale,
                                   recurrent=o.recurrent, context_dim=o.context_dim,
                                   input_noise=o.input_noise, name=f"lstm_pb_{emotion}")
        model.compile(optimizer=keras.optimizers.Adam(cfg.train.learning_rate), loss="mse")
        bar = tqdm.tqdm(total=cfg.train.epochs, unit="epoch", file=sys.stderr, leave=False,
                        desc=f"{emotion}: learning mode, {len(x)} sequences")
        progress = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: (bar.update(1),
                                              bar.set_postfix(loss=f"{logs['loss']:.4f}")))
        try:
            history = model.fit({"landmarks": x[:, :-1], "sequence_index": index}, x[:, 1:],
                                epochs=cfg.train.epochs, batch_size=cfg.data.batch_size,
                                shuffle=True, verbose=0, callbacks=[progress]).history["loss"]
        finally:
            bar.close()
        model.save(os.path.join(self.run_dir, f"lstm_pb_{emotion}.keras"))
        count = min(4, len(x))
        generated = model.generate(model.pb_vectors()[index[:count]], x[:count, 0], x.shape[1])
        print(f"{emotion}: next-frame loss {history[0]:.3f} → {history[-1]:.3f}; recognition "
              f"mode on the {len(x)} training sequences", file=sys.stderr, flush=True)
        recognised = self._recognise(model, x)
        gbm = fit_pb_classifier(recognised, y, n_estimators=o.gbm_trees,
                                learning_rate=o.gbm_learning_rate, random_state=cfg.seed)
        return model, gbm, {"loss": [float(v) for v in history],
                            "generation_mse": float(np.mean((generated - x[:count]) ** 2)),
                            "training_sequences": int(len(x))}

    def _recognise(self, model, x):
        return model.recognize(x, steps=self.options.recognition_steps,
                               learning_rate=self.options.recognition_learning_rate,
                               optimizer="adam")

    def _probability(self, model, gbm, points, rng):
        """`(n,)` P(genuine) of `(n, frames, 40, 2)` videos: the GBM's probability of the
        recognised PB vector, averaged over the video as it is and `test_copies` box-jittered
        copies (Section 2.4's augmentation at test time; the authors' released scripts average
        the boosted trees' output over 20 re-cropped copies of every test video)."""
        copies = [points] + [np.stack([box_jitter(s, rng, self.options.box_jitter) for s in points])
                             for _ in range(self.options.test_copies)]
        pb = self._recognise(model, self._flat(np.concatenate(copies)))
        probability = gbm.predict_proba(pb)[:, list(gbm.classes_).index(1)]
        return probability.reshape(len(copies), len(points)).mean(axis=0)

    def fit(self):
        import joblib
        import keras

        index, splits, pairs, records = self.prepare_genuine_fake_data()
        sequences = self._sequences(index, records)
        emotion_of = {i: e for e, pair in pairs.items() for i in pair}
        self.scale = 1.0
        self.scale = float(np.std(self._flat([sequences[i] for i in splits["train"]]))) or 1.0
        keras.utils.set_random_seed(self.config.seed)
        rng = np.random.default_rng(self.config.seed)
        train_ids = set(splits["train"])
        print(f"{self.name}: {len(records)} videos ({len(train_ids)} training), one LSTM-PB "
              f"({self.options.recurrent}) + GBM per emotion: {', '.join(pairs)}",
              file=sys.stderr, flush=True)
        scores, log, gbms = {}, {}, {}
        for emotion, (genuine_class, _) in pairs.items():
            mine = [r for r in records if emotion_of[int(r["label"])] == emotion]
            train = [r for r in mine if r["id"] in train_ids]
            genuine = np.array([int(int(r["label"]) == genuine_class) for r in train])
            if len(set(genuine)) < 2:
                raise ConfigError(os.path.join(self.run_dir, "splits.json"),
                                  f"the training videos of {emotion} are not both genuine "
                                  "and posed", "use more videos or subjects")
            model, gbms[emotion], log[emotion] = self._fit_emotion(
                emotion, np.stack([sequences[r["id"]] for r in train]), genuine, rng)
            print(f"{emotion}: gradient boosting trained; scoring {len(mine)} videos"
                  + (f" ({self.options.test_copies + 1} copies each)"
                     if self.options.test_copies else ""), file=sys.stderr, flush=True)
            probability = self._probability(model, gbms[emotion],
                                            np.stack([sequences[r["id"]] for r in mine]), rng)
            scores.update({r["id"]: (float(p), int(int(r["label"]) == genuine_class), emotion,
                                     str(r.get("subject") or ""))
                           for r, p in zip(mine, probability)})
        joblib.dump(gbms, os.path.join(self.run_dir, "gbm.joblib"))
        self.write_json("scores.json", scores)
        self.write_json("training_history.json", dict(log, input_scale=self.scale))
        losses = ", ".join(f"{e} {v['loss'][0]:.3f} → {v['loss'][-1]:.3f}" for e, v in log.items())
        return {"run_dir": self.run_dir, "history": log,
                "message": f"{self.run_dir}: {len(pairs)} LSTM-PB ({self.options.recurrent}) "
                           f"+ GBM, next-frame loss {losses}"}

    def evaluate(self, split=None, out_dir=None, data_dir=None):
        from sklearn.metrics import roc_auc_score, roc_curve

        from kerasfer.evaluation.genuine_fake import genuine_fake_metrics

        saved = self.read_json("scores.json")
        split, ids = self.evaluation_split(split, scored=saved)
        # (score, is genuine, emotion[, subject]): runs before subjects were saved have three.
        score, truth, emotions, *subjects = (np.array(v) for v in zip(*(saved[i] for i in ids)))
        score, truth = score.astype(float), truth.astype(int)
        roc = {}
        for emotion in dict.fromkeys(emotions.tolist()):
            rows = emotions == emotion
            if len(set(truth[rows])) == 2:
                fpr, tpr, _ = roc_curve(truth[rows], score[rows])
                roc[emotion] = {"auc": float(roc_auc_score(truth[rows], score[rows])),
                                "fpr": fpr.tolist(), "tpr": tpr.tolist()}
        metrics = genuine_fake_metrics(truth, score, emotions, threshold=0.5,
                                       subjects=self.known_subjects(
                                           subjects[0] if subjects else None))
        metrics["per_emotion_roc_auc"] = {e: v["auc"] for e, v in roc.items()}
        ap = metrics["per_emotion_average_precision"]
        report = {"pipeline": self.name, "recurrent": self.options.recurrent, "split": split,
                  "num_videos": len(ids), "metrics": metrics, "roc": roc, "ids": ids,
                  "scores": score.tolist()}
        report["summary"] = (f"{split}: {len(ids)} videos, accuracy "
                             f"{100 * metrics['accuracy']:.2f} %"
                             f"{self.paired_summary(metrics)}, MAP "
                             f"{100 * metrics['mean_average_precision']:.2f} %, mean ROC-AUC "
                             f"{np.mean(list(metrics['per_emotion_roc_auc'].values()) or [np.nan]):.3f}"
                             f" (LSTM-PB {self.options.recurrent} + GBM)")
        rows = "\n".join(f"| {e} | {100 * metrics['per_emotion_accuracy'][e]:.2f} % | "
                         f"{roc.get(e, {}).get('auc', float('nan')):.3f} | {100 * ap[e]:.2f} % |"
                         for e in ap)
        markdown = (f"# Real vs fake, LSTM-PB ({self.options.recurrent}) + gradient boosting\n\n"
                    f"{report['summary']}\n\n| emotion | accuracy | ROC-AUC | AP |\n"
                    f"|---|---|---|---|\n{rows}\n")
        return self.write_report(report, markdown, out_dir)
