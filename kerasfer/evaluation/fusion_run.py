"""`run_audio_visual_fusion`: Fan et al.'s audio-visual system, from videos to accuracy.

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017): video models
(VGG fc6 + Bi-LSTM, `cnn_bilstm`; C3D, `c3d`; Section 4.3, Table 1) and audio models
(random forest and SVC on the 88 eGeMAPS functionals, Section 4.2, Table 2) each give
per-video class probabilities, fused by weighted average, highest confidence or an SVM
with C = 18.5 trained on the validation videos' probabilities (Section 4.4, Table 3).

One run directory holds every stage:

1. data: `data.dir` (built with `tfrecords_builder --audio-features egemaps`), or, when
   empty, synthetic videos with a class-dependent audio track written as mp4 files next
   to their TFRecords (`kerasfer.data.synthetic`, `write_mp4=True`);
2. splits: `splits.json` with subject-independent train / validation / test sides (the
   dataset's own when it has a test side; else `test_fraction` of the subjects, then
   `data.validation_fraction` of the rest), copied into every network run;
3. 2D pretraining (when `pretrain.source` is set, or `model.pretrained` names a run):
   the face-pretrained 2D backbone of `kerasfer.training.pretraining`, trained once in
   `RUN/pretraining/` (the analogue of the paper's VGG-Face / Sports-1M initialisations);
4. network stage: each video model is a `kerasfer.training.Experiment` in
   `RUN/video/<name>/` (the base config with that model's dotted overrides; a model of
   the base config's family, or of any family that loads the 2D backbone (its
   `loaded_by` in `kerasfer.models.backbone_2d_registry`), starts from the pretrained
   backbone), then scored on whole
   videos (`VideoScorer`) of the validation and test sides; each feature model
   (`FusionFeatureLSTM`, VGG fc6 + Bi-LSTM) is a Bi-LSTM on the backbone's frozen
   per-frame features (cached once in `RUN/frame_features/`), in `RUN/video/<name>/`;
5. audio stage: eGeMAPS from the TFRecords' `audio/egemaps`, or extracted from each
   video's source file (`video/source_path`, via `tfrecords_builder.audio`) when the
   dataset has none, cached in `RUN/audio_features.npz`; `AudioClassifier`s fitted on
   the training videos with audio;
6. fusion: `ScoreFusion` fitted on validation, every method's accuracy on test, in
   `RUN/scores.npz` and `RUN/evaluation/report.{json,md}`.

Example:

>>> config = load_config("configs/audio_visual_fusion.yaml")
>>> report = run_audio_visual_fusion(config)
>>> report["accuracy"]["fusion_svm"]
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from kerasfer import schema
from kerasfer.errors import ConfigError
from kerasfer.evaluation.audio_classifier import AudioClassifier
from kerasfer.evaluation.fusion import ScoreFusion
from kerasfer.evaluation.fusion_video_stage import (feature_model_scores,
                                                    prepare_video_backbone, score_videos,
                                                    video_model_config)

# Fan et al. (2017) on AFEW 6.0 validation (Tables 1-3).
PAPER_ACCURACY = {
    "cnn_bilstm": 0.519, "vgg_bilstm": 0.519, "c3d": 0.321, "audio_random_forest": 0.3464, "audio_svc": 0.3964,
    "fusion_average": 0.5013, "fusion_max": 0.4178, "fusion_svm": 0.553,
}
SIDES = ("train", "validation", "test")


@dataclasses.dataclass
class AudioVisualFusionOptions:
    """The `pipeline_options` of the audio-visual fusion run (Fan et al. 2017).

    Args:
        video_models: dict name → dict of dotted config overrides (e.g.
            `{"model.name": "c3d", "data.clip_length": 16}`) applied to the base config
            for that network, trained from clips by `Experiment`. A model whose
            `model.name` is the base config's, or loads the pretrained 2D backbone (its
            `loaded_by`), starts from that backbone (stage 3) unless its overrides set
            `model.pretrained`; its width must match the backbone's. Defaults to cnn_bilstm and
            c3d with the base config.
        feature_models: dict name → dict of `FusionFeatureLSTM` arguments (`lstm_units`,
            `dropout_rate`, `timesteps`, `epochs`, `batch_size`, `learning_rate`): Bi-LSTMs
            on the pretrained 2D backbone's frozen per-frame features (Fan et al.'s
            VGG fc6 + Bi-LSTM). Needs a pretrained backbone. Defaults to none.
        audio_classifiers: list of str. `AudioClassifier` kinds. Defaults to
            ["random_forest", "svc"].
        svc_c: float. Penalty of the audio SVC (assumption, see `AudioClassifier`).
            Defaults to 1.0.
        fusion_methods: list of str. `ScoreFusion` methods. Defaults to all three.
        svm_c: float. Penalty of the fusion SVM. Defaults to 18.5 (paper).
        test_fraction: float. Share of subjects held out for testing when the dataset has
            no test side. Defaults to 0.25.
    """

    video_models: dict = dataclasses.field(default_factory=lambda: {
        "cnn_bilstm": {"model.name": "cnn_bilstm"}, "c3d": {"model.name": "c3d"}})
    feature_models: dict = dataclasses.field(default_factory=dict)
    audio_classifiers: list = dataclasses.field(default_factory=lambda: ["random_forest", "svc"])
    svc_c: float = 1.0
    fusion_methods: list = dataclasses.field(default_factory=lambda: ["average", "max", "svm"])
    svm_c: float = 18.5
    test_fraction: float = 0.25


def options_from_config(config):
    """Reads `config.pipeline_options` into `AudioVisualFusionOptions` (unknown key: error)."""
    mapping = dict(getattr(config, "pipeline_options", None) or {})
    fields = {f.name for f in dataclasses.fields(AudioVisualFusionOptions)}
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise ConfigError("pipeline_options", f"unknown key(s) {unknown} for the audio-visual "
                          "fusion run", f"use {sorted(fields)}")
    return check_options(AudioVisualFusionOptions(**mapping))


def check_options(options):
    """Raises `ConfigError` on an unknown classifier / fusion method or a bad fraction."""
    from kerasfer.evaluation.audio_classifier import AUDIO_CLASSIFIERS
    from kerasfer.evaluation.fusion import FUSION_METHODS
    from kerasfer.evaluation.fusion_feature_lstm import FusionFeatureLSTM

    checks = [("audio_classifiers", options.audio_classifiers, sorted(AUDIO_CLASSIFIERS)),
              ("fusion_methods", options.fusion_methods, list(FUSION_METHODS))]
    for key, values, allowed in checks:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ConfigError(f"pipeline_options.{key}", f"unknown {unknown}",
                              f"choose among {allowed}")
    if not (options.video_models or options.feature_models or options.audio_classifiers):
        raise ConfigError("pipeline_options", "no video model and no audio classifier",
                          "list at least one in video_models, feature_models or "
                          "audio_classifiers")
    both = sorted(set(options.video_models) & set(options.feature_models))
    if both:
        raise ConfigError("pipeline_options.feature_models", f"{both} also in video_models",
                          "give every video model its own name")
    allowed = FusionFeatureLSTM.ARGUMENTS
    for name, kwargs in options.feature_models.items():
        unknown = sorted(set(kwargs or {}) - set(allowed))
        if unknown:
            raise ConfigError(f"pipeline_options.feature_models.{name}", f"unknown {unknown}",
                              f"choose among {list(allowed)}")
    if not 0.0 < float(options.test_fraction) < 1.0:
        raise ConfigError("pipeline_options.test_fraction",
                          f"must be in (0, 1), got {options.test_fraction}", "e.g. 0.25")
    return options


# ---------------------------------------------------------------------------- data


def prepare_audio_visual_data(config):
    """Returns the dataset directory: `data.dir`, or synthetic videos with audio (mp4)."""
    if config.data.dir:
        return config.data.dir
    from kerasfer.data.synthetic import write_synthetic_dataset
    from kerasfer.data.synthetic.synthetic_cache import synthetic_cache_dir

    synthetic = config.data.synthetic
    return write_synthetic_dataset(
        synthetic_cache_dir(synthetic) + "-mp4", num_videos=synthetic.num_videos,
        num_subjects=synthetic.num_subjects, class_names=tuple(synthetic.class_names),
        image_size=synthetic.image_size, min_frames=synthetic.min_frames,
        max_frames=synthetic.max_frames, apex_fraction=synthetic.apex_fraction,
        seed=synthetic.seed, write_mp4=True)


def make_three_way_split(records, validation_fraction, test_fraction, seed):
    """Subject-independent train / validation / test ids (the dataset's own if it has test)."""
    from kerasfer.data import folds

    own = {side: [r["id"] for r in records if str(r.get("split", "")).lower() == side]
           for side in SIDES}
    if own["test"] and own["validation"] and own["train"]:
        return own
    outer = folds.subject_holdout_split(records, validation_fraction=test_fraction, seed=seed)
    rest = folds.select_records(records, outer["train"])
    inner = folds.subject_holdout_split(rest, validation_fraction=validation_fraction, seed=seed)
    return {"train": list(inner["train"]), "validation": list(inner["validation"]),
            "test": list(outer["validation"])}


def read_audio_features(data_dir, records, cache_path=None):
    """eGeMAPS `(videos, 88)` and `present` `(videos,)` of `records`, in their order.

    From the TFRecords' `audio/egemaps` when the builder stored them; else extracted from
    each video's source file (relative paths resolved against `data_dir`) and cached.
    """
    ids = [r["id"] for r in records]
    if cache_path and os.path.exists(cache_path):
        cached = np.load(cache_path, allow_pickle=False)
        if list(cached["ids"]) == ids:
            return cached["features"], cached["present"].astype(bool)
    import tensorflow as tf

    stored = {}
    shards = sorted({os.path.join(data_dir, r["shard"]) for r in records})
    for data in tf.data.TFRecordDataset(shards):
        video = schema.parse_video_example(data)
        stored[video["id"].numpy().decode()] = (video["audio_egemaps"].numpy(),
                                                bool(video["audio_present"].numpy()),
                                                video["source_path"].numpy().decode())
    features = np.zeros((len(ids), schema.NUM_EGEMAPS), np.float32)
    present = np.zeros(len(ids), bool)
    if any(stored[i][1] for i in ids):
        for row, video_id in enumerate(ids):
            features[row], present[row] = stored[video_id][0], stored[video_id][1]
    else:
        from tfrecords_builder.audio import extract_audio_features

        for row, video_id in enumerate(ids):
            source = stored[video_id][2]
            path = source if os.path.isabs(source) else os.path.join(data_dir, source)
            if not source or not os.path.exists(path):
                raise ConfigError(data_dir, f"video {video_id} has no audio features and no "
                                  "source file to extract them from",
                                  "build the dataset with tfrecords_builder --audio-features egemaps")
            values = extract_audio_features(path)
            if values is not None:
                features[row], present[row] = values, True
    if cache_path:
        np.savez(cache_path, ids=np.array(ids), features=features, present=present)
    return features, present


# ---------------------------------------------------------------------------- stages


def _records_by_side(data_dir, splits):
    by_id = {r["id"]: r for r in schema.read_manifest(data_dir)}
    return {side: [by_id[i] for i in splits[side]] for side in SIDES}


def run_audio_visual_fusion(config, options=None):
    """Trains every stage of Fan et al.'s system in `config.run_dir`; returns the report.

    Args:
        config: `kerasfer.config.ExperimentConfig`. The base network config; its
            `pipeline_options` (or `options`) configure the run.
        options: `AudioVisualFusionOptions` or None. Defaults to the config's.

    Returns:
        dict report (see `evaluate_audio_visual_fusion`).
    """
    from kerasfer.config import save_config
    from kerasfer.training.experiment import Experiment

    options = check_options(options or options_from_config(config))
    os.makedirs(config.run_dir, exist_ok=True)
    save_config(config, os.path.join(config.run_dir, "config.yaml"))
    data_dir = os.path.abspath(prepare_audio_visual_data(config))
    splits_path = os.path.join(config.run_dir, "splits.json")
    if os.path.exists(splits_path):
        with open(splits_path, encoding="utf-8") as handle:
            splits = json.load(handle)
    else:
        splits = make_three_way_split(schema.read_manifest(data_dir),
                                      config.data.validation_fraction, options.test_fraction,
                                      config.seed)
        schema.write_json_atomic(splits_path, splits)
    records = _records_by_side(data_dir, splits)
    labels = {side: np.array([r["label"] for r in records[side]]) for side in SIDES}
    num_classes = len(schema.read_classes(data_dir))
    scores = {"validation": {}, "test": {}}
    backbone = prepare_video_backbone(config, data_dir, splits["train"])

    for name, overrides in options.video_models.items():
        model_config = video_model_config(config, name, overrides, data_dir, backbone)
        os.makedirs(model_config.run_dir, exist_ok=True)
        schema.write_json_atomic(os.path.join(model_config.run_dir, "splits.json"), splits)
        finished = all(os.path.exists(os.path.join(model_config.run_dir, name))
                       for name in ("training_summary.json", "best_model.keras"))
        if not finished:  # a finished network is reused when the run is resumed
            Experiment(model_config).run()
        for side in scores:
            scores[side][name] = score_videos(model_config, records[side])

    for side, side_scores in feature_model_scores(config, options.feature_models, data_dir,
                                                  records, labels, backbone).items():
        scores[side].update(side_scores)

    features, present = {}, {}
    for side in SIDES:
        features[side], present[side] = read_audio_features(
            data_dir, records[side], os.path.join(config.run_dir, f"audio_features_{side}.npz"))
    for kind in options.audio_classifiers:
        classifier = AudioClassifier(kind, seed=config.seed, svc_c=options.svc_c).fit(
            features["train"], labels["train"], num_classes, present["train"])
        for side in scores:
            scores[side][f"audio_{kind}"] = classifier.predict_proba(features[side], present[side])

    arrays = {f"{side}/{name}": value for side in scores for name, value in scores[side].items()}
    arrays.update({f"{side}/labels": labels[side] for side in scores})
    arrays.update({f"{side}/ids": np.array(splits[side]) for side in scores})
    np.savez(os.path.join(config.run_dir, "scores.npz"), **arrays)
    schema.write_json_atomic(os.path.join(config.run_dir, "fusion_options.json"),
                             dataclasses.asdict(options))
    return evaluate_audio_visual_fusion(config.run_dir)


def evaluate_audio_visual_fusion(run_dir, split="test", out_dir=None):
    """Accuracy of every model and every fusion on `split` (fusion fitted on validation).

    Args:
        run_dir: str. A run written by `run_audio_visual_fusion`.
        split: str. "test" or "validation" (optimistic: the fusion is fitted there).
            Defaults to "test".
        out_dir: str or None. Defaults to `RUN/evaluation`.

    Returns:
        dict with "accuracy" (model or `fusion_<method>` → accuracy), "audio_modality",
        "video_modality" (best single model of each), "chance", "paper", "split",
        "videos", "videos_without_audio" and "summary" (one line).
    """
    path = os.path.join(run_dir, "scores.npz")
    if not os.path.exists(path):
        raise ConfigError(path, "no fusion scores", "run python -m kerasfer.fit with the "
                          "audio-visual fusion config first")
    with open(os.path.join(run_dir, "fusion_options.json"), encoding="utf-8") as handle:
        options = AudioVisualFusionOptions(**json.load(handle))
    stored = np.load(path, allow_pickle=False)
    names = sorted(k.split("/", 1)[1] for k in stored.files
                   if k.startswith("validation/") and k.split("/", 1)[1] not in ("labels", "ids"))
    if split not in ("test", "validation"):
        raise ConfigError(path, f"split {split!r} has no scores", "use test or validation")
    val = {n: stored[f"validation/{n}"] for n in names}
    test = {n: stored[f"{split}/{n}"] for n in names}
    labels = stored[f"{split}/labels"]
    accuracy = {n: float(np.mean(np.argmax(np.nan_to_num(test[n], nan=-1.0), axis=1) == labels))
                for n in names}
    for method in options.fusion_methods:
        fusion = ScoreFusion(method, svm_c=options.svm_c).fit(val, stored["validation/labels"])
        accuracy[f"fusion_{method}"] = fusion.accuracy(test, labels)
    audio = [n for n in names if n.startswith("audio_")]
    video = [n for n in names if not n.startswith("audio_")]
    report = {
        "split": split, "videos": int(len(labels)),
        "videos_without_audio": int(np.isnan(test[audio[0]]).any(axis=1).sum()) if audio else 0,
        "chance": float(1.0 / test[names[0]].shape[1]),
        "majority": float(np.bincount(labels).max() / len(labels)),
        "accuracy": accuracy,
        "audio_modality": max((accuracy[n] for n in audio), default=None),
        "video_modality": max((accuracy[n] for n in video), default=None),
        "paper": {k: v for k, v in PAPER_ACCURACY.items() if k in accuracy},
    }
    best = max(options.fusion_methods, key=lambda m: accuracy[f"fusion_{m}"], default=None)
    def text(value):
        return "n/a" if value is None else f"{value:.3f}"

    report["summary"] = (f"{split}: accuracy video {text(report['video_modality'])}, audio "
                         f"{text(report['audio_modality'])}, fusion_svm "
                         f"{text(accuracy.get('fusion_svm'))} (best fusion {best}); "
                         f"chance {report['chance']:.3f}, {report['videos']} videos")
    out_dir = out_dir or os.path.join(run_dir, "evaluation")
    os.makedirs(out_dir, exist_ok=True)
    schema.write_json_atomic(os.path.join(out_dir, "report.json"), report)
    lines = ["# Audio-visual fusion (Fan et al. 2017)", "", report["summary"], "",
             "| model | accuracy | paper (AFEW 6.0) |", "| --- | --- | --- |"]
    lines += [f"| {n} | {a:.3f} | {PAPER_ACCURACY.get(n, float('nan')):.3f} |"
              for n, a in accuracy.items()]
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return report
