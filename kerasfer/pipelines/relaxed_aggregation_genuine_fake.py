"""`relaxed_aggregation_genuine_fake`: real-vs-fake expressions with CBP + RNN + CBP and SVMs.

The system of Ozkan & Akar (2017, "Relaxed spatio-temporal deep feature aggregation for real-fake
expression prediction", ChaLearn LAP 2017), Sections 3-6, as one run:

1. conv5 ReLU maps of every face from a frozen FER-trained 2D CNN, cached once
   (`kerasfer.pipelines.frame_features`), normalised per person (Section 3);
2. optional PCA of the local features (Table 1's "PCA+" rows; `pca_components` > 0);
3. the aggregation of Table 1 (`aggregation`): `cbp_rnn_cbp` (CBP over T = 3-frame grids,
   LSTM over K = 5 grids, CBP over the dense intervals → 512-d, Section 4), `cbp_rnn_netvlad`,
   `rnn_cbp` (LSTM over K·T frame-level features, spatially averaged, then CBP), `cbp`,
   `netvlad`; its trainable part is learnt with Adam (lr 0.001, β1 = 0.7, Section 5) on
   random 150 ms (K·T-frame) intervals of the training videos, labelled genuine / fake;
4. power normalisation σ = 0.5 of the video descriptor (the CBP layers end with it; NetVLAD
   descriptors get it here), then one linear SVM (LibSVM, C = 1) per emotion (Section 3);
5. `evaluate`: per-emotion average precision of the SVM decision values among the held-out
   subjects' videos of each emotion, and their mean (MAP, Tables 1-2).

Run files: `aggregation.keras` (descriptor network), `descriptors.npz` (every video's
descriptor, label, emotion, subject), `svm.joblib` (one SVC per emotion), `training_history.json`,
`evaluation/report.{json,md}`.

Example:

    python -m kerasfer.fit --config configs/cbp_rnn_cbp_genuine_fake.yaml
    python -m kerasfer.evaluate --run runs/cbp_rnn_cbp_genuine_fake
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from kerasfer.errors import ConfigError
from kerasfer.pipelines.genuine_fake_pipeline import GenuineFakePipeline
from kerasfer.pipelines.registry import register_pipeline

TABLE1_AGGREGATIONS = ("cbp", "netvlad", "rnn_cbp", "cbp_rnn_cbp", "cbp_rnn_netvlad")


@dataclasses.dataclass
class RelaxedAggregationOptions:
    """`pipeline_options` of `relaxed_aggregation_genuine_fake` (Ozkan & Akar 2017 settings)."""

    aggregation: str = "cbp_rnn_cbp"
    pca_components: int = 0
    backbone: str = "fer_mini_xception"
    backbone_layer: str = ""
    frames_per_grid: int = 3
    grids_per_interval: int = 5
    grid_dim: int = 512
    rnn_units: int = 512
    output_dim: int = 512
    num_clusters: int = 32
    beta_1: float = 0.7
    intervals_per_video: int = 8
    power_exponent: float = 0.5
    svm_c: float = 1.0


def build_aggregation(options, input_shape, num_classes=None, seed=0):
    """The Table 1 aggregation network: video descriptor, or interval logits (training).

    Args:
        options: `RelaxedAggregationOptions`.
        input_shape: tuple `(frames, h, w, c)` of the conv5 maps; frames may be None.
        num_classes: int or None. None: `(batch, output_dim)` descriptor; else logits
            averaged over the intervals (the trained network).
        seed: int. CBP hash seed (shared by both versions, so weights transfer by name).
    """
    import keras

    from kerasfer.models.relaxed_aggregation import (
        apply_interval_rnn,
        apply_video_pooling,
        relaxed_aggregation,
    )

    o = options
    if o.aggregation != "rnn_cbp":
        return relaxed_aggregation(
            tuple(input_shape), aggregation=o.aggregation, frames_per_grid=o.frames_per_grid,
            grids_per_interval=o.grids_per_interval, grid_dim=o.grid_dim,
            rnn_units=o.rnn_units, output_dim=o.output_dim, num_clusters=o.num_clusters,
            num_classes=num_classes, seed=seed, name="relaxed_aggregation")
    # RNN+CBP of Table 1: the LSTM reads coarse frame-level features (the spatial mean of
    # each conv5 map) over the same K·T-frame intervals, then CBP pools the intervals.
    name = "relaxed_aggregation"
    inputs = keras.Input(tuple(input_shape), name="conv5_features")
    frames = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D(),
                                          name=f"{name}_frame_mean")(inputs)
    x = apply_interval_rnn(frames, o.frames_per_grid * o.grids_per_interval, o.rnn_units, name)
    if num_classes is not None:
        x = keras.layers.Dense(num_classes, name=f"{name}_logits")(x)
        outputs = keras.layers.GlobalAveragePooling1D(name=f"{name}_interval_mean")(x)
    else:
        outputs = apply_video_pooling(x, "cbp", o.output_dim, o.num_clusters, seed + 1,
                                      f"{name}_video")
    return keras.Model(inputs, outputs, name=name)


def _loop_to(frames, length):
    """Repeats a video cyclically until it has at least `length` frames."""
    if len(frames) >= length:
        return frames
    return frames[np.arange(length) % len(frames)]


@register_pipeline("relaxed_aggregation_genuine_fake")
class RelaxedAggregationGenuineFakePipeline(GenuineFakePipeline):
    """Ozkan & Akar (2017)'s real-vs-fake system (see module docstring); options
    `RelaxedAggregationOptions`, metric per-emotion AP and MAP."""

    options_class = RelaxedAggregationOptions

    def __init__(self, config):
        super().__init__(config)
        o = self.options
        if o.aggregation not in TABLE1_AGGREGATIONS:
            raise ConfigError("pipeline_options.aggregation", f"unknown {o.aggregation!r}",
                              f"choose one of {', '.join(TABLE1_AGGREGATIONS)}")
        if o.pca_components < 0:
            raise ConfigError("pipeline_options.pca_components", f"{o.pca_components} < 0",
                              "use 0 (no PCA) or the number of components")

    @property
    def interval(self):
        """K·T frames, the 150 ms interval of Section 5."""
        return self.options.frames_per_grid * self.options.grids_per_interval

    def _features(self, index, records):
        from kerasfer.pipelines.frame_features import (
            cached_frame_features,
            per_person_normalized,
        )

        raw = cached_frame_features(index, records, self.options.backbone,
                                    self.options.backbone_layer or None,
                                    self.config.data.image_size)
        return per_person_normalized(raw, records)

    def _pca(self, features, train_ids):
        """Fits PCA on the training videos' local features and projects every video."""
        from sklearn.decomposition import PCA

        k = self.options.pca_components
        rows = np.concatenate([features[i].reshape(-1, features[i].shape[-1])
                               for i in train_ids])
        rng = np.random.default_rng(self.config.seed)
        rows = rows[rng.permutation(len(rows))[:20000]]
        pca = PCA(n_components=min(k, rows.shape[1], len(rows)), random_state=0).fit(rows)
        return {i: pca.transform(f.reshape(-1, f.shape[-1])).reshape(
            f.shape[:-1] + (pca.n_components_,)).astype(np.float32) for i, f in features.items()}

    def _train_intervals(self, network, features, train_records):
        """Adam on random K·T-frame intervals labelled genuine (1) / fake (0)."""
        import keras

        cfg, length = self.config, self.interval
        network.compile(optimizer=keras.optimizers.Adam(cfg.train.learning_rate,
                                                        beta_1=self.options.beta_1),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=["accuracy"])
        rng = np.random.default_rng(cfg.seed)
        history = []
        for _ in range(cfg.train.epochs):
            x, y = [], []
            for record in train_records:
                video = _loop_to(features[record["id"]], length)
                for start in rng.integers(0, len(video) - length + 1,
                                          self.options.intervals_per_video):
                    x.append(video[start:start + length])
                    y.append(1 - int(record["label"]) % 2)  # classes <emotion>_genuine, _posed
            order = rng.permutation(len(x))
            result = network.fit(np.stack(x)[order], np.asarray(y)[order], epochs=1,
                                 batch_size=cfg.data.batch_size, verbose=0)
            history.append({k: float(v[-1]) for k, v in result.history.items()})
        return history

    def fit(self):
        import joblib
        import keras

        from kerasfer.evaluation.relaxed_aggregation_svm import fit_linear_svm, power_normalization

        index, splits, pairs, records = self.prepare_genuine_fake_data()
        ids = [r["id"] for r in records]
        features = self._features(index, records)
        train_records = index.select(ids=splits["train"])
        if self.options.pca_components:
            features = self._pca(features, splits["train"])
        shape = next(iter(features.values())).shape[1:]
        keras.utils.set_random_seed(self.config.seed)
        descriptor_net = build_aggregation(self.options, (None,) + shape, seed=self.config.seed)
        history = []
        if descriptor_net.trainable_weights:
            trained = build_aggregation(self.options, (self.interval,) + shape, num_classes=2,
                                        seed=self.config.seed)
            history = self._train_intervals(trained, features, train_records)
            for layer in descriptor_net.layers:
                if layer.weights and layer.name in {l.name for l in trained.layers}:
                    layer.set_weights(trained.get_layer(layer.name).get_weights())
        descriptor_net.save(os.path.join(self.run_dir, "aggregation.keras"))
        descriptors = np.stack([np.asarray(descriptor_net(
            _loop_to(features[r["id"]], self.interval)[None], training=False))[0]
            for r in records])
        if not self.options.aggregation.endswith("cbp"):
            # CBP ends with the signed square root already (Gao et al.; Ozkan & Akar 2017, Section 3).
            descriptors = power_normalization(descriptors, self.options.power_exponent)
        emotion_of = {i: e for e, pair in pairs.items() for i in pair}
        labels = np.array([int(r["label"]) for r in records])
        emotions = np.array([emotion_of[label] for label in labels])
        is_genuine = np.array([int(label == pairs[emotion_of[label]][0]) for label in labels])
        np.savez(os.path.join(self.run_dir, "descriptors.npz"), ids=np.array(ids),
                 descriptors=descriptors, labels=labels, emotions=emotions,
                 is_genuine=is_genuine,
                 subjects=np.array([str(r.get("subject") or "") for r in records]))
        train = np.isin(np.array(ids), splits["train"])
        svms = {e: fit_linear_svm(descriptors[train & (emotions == e)],
                                  is_genuine[train & (emotions == e)], C=self.options.svm_c)
                for e in pairs}
        joblib.dump(svms, os.path.join(self.run_dir, "svm.joblib"))
        self.write_json("training_history.json", history)
        last = f", interval loss {history[0]['loss']:.3f} → {history[-1]['loss']:.3f}" \
            if history else ""
        return {"run_dir": self.run_dir, "history": history,
                "message": f"{self.run_dir}: {self.options.aggregation} descriptors of "
                           f"{len(ids)} videos, {len(svms)} per-emotion SVMs{last}"}

    def evaluate(self, split=None, out_dir=None, data_dir=None):
        import joblib

        from kerasfer.evaluation.genuine_fake import (
            chance_mean_average_precision,
            genuine_fake_metrics,
        )

        split, split_ids = self.evaluation_split(split)
        saved = np.load(os.path.join(self.run_dir, "descriptors.npz"))
        svms = joblib.load(os.path.join(self.run_dir, "svm.joblib"))
        chosen = np.isin(saved["ids"], split_ids)
        emotions = saved["emotions"][chosen]
        scores = np.zeros(int(chosen.sum()))
        for emotion, svm in svms.items():
            rows = emotions == emotion
            if rows.any():
                scores[rows] = svm.decision_function(saved["descriptors"][chosen][rows])
        truth = saved["is_genuine"][chosen]
        metrics = genuine_fake_metrics(truth, scores, emotions, threshold=0.0,  # SVM margin
                                       subjects=self.known_subjects(
                                           saved["subjects"][chosen]
                                           if "subjects" in saved.files else None))
        chance = chance_mean_average_precision(truth, emotions)
        metrics["chance_mean_average_precision"] = chance
        ap, accuracy = metrics["per_emotion_average_precision"], metrics["per_emotion_accuracy"]
        report = {"pipeline": self.name, "aggregation": self.options.aggregation,
                  "pca_components": self.options.pca_components, "split": split,
                  "num_videos": int(chosen.sum()), "metrics": metrics,
                  "ids": saved["ids"][chosen].tolist(), "scores": scores.tolist()}
        report["summary"] = (f"{split}: {report['num_videos']} videos, MAP "
                             f"{100 * metrics['mean_average_precision']:.2f} % "
                             f"({self.options.aggregation}"
                             f"{', PCA' if self.options.pca_components else ''}; chance "
                             f"{100 * chance:.2f} %), accuracy "
                             f"{100 * metrics['accuracy']:.2f} %"
                             f"{self.paired_summary(metrics)}")
        rows = "\n".join(f"| {e} | {100 * v:.2f} % | {100 * accuracy[e]:.2f} % |"
                         for e, v in ap.items())
        markdown = (f"# Real vs fake, {self.options.aggregation} + linear SVM per emotion\n\n"
                    f"{report['summary']}\n\n| emotion | AP | accuracy |\n|---|---|---|\n"
                    f"{rows}\n")
        return self.write_report(report, markdown, out_dir)
