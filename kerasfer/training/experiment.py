"""`Experiment`: wires a config to data, model, sampler, callbacks and `fit`.

The run directory (`config.run_dir`) receives `config.yaml` (resolved config),
`splits.json` (train / validation video ids), `logs/` (TensorBoard), `checkpoints/`
(atomic, with the sampler state), `best_model.keras`, then `evaluation/` and `export/` when
`kerasfer.evaluation` / `kerasfer.export` are installed. Rerunning with the same run
directory resumes from the last checkpoint (same sampler state, same split).

Example:

>>> experiment = Experiment(load_config("configs/cpu_tiny.yaml", ["train.epochs=3"]))
>>> summary = experiment.run()
>>> summary["best"]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import warnings

from kerasfer import schema
from kerasfer.config import save_config, to_dict
from kerasfer.errors import ConfigError
from kerasfer.training.strategy import make_strategy, set_mixed_precision, set_seeds


def synthetic_cache_dir(synthetic_config):
    """Returns the cache directory of a synthetic dataset (`$KERASFER_CACHE` or ~/.cache)."""
    root = os.environ.get("KERASFER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "kerasfer")
    settings = to_dict(synthetic_config)
    if not settings.get("genuine_posed"):
        settings.pop("genuine_posed", None)  # keeps the cache keys of earlier datasets
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    return os.path.join(root, f"synthetic-{key.hexdigest()[:12]}")


def prepare_data_dir(config):
    """Returns `data.dir`, generating the synthetic dataset into its cache when empty."""
    if config.data.dir:
        return config.data.dir
    from kerasfer.data.synthetic import write_synthetic_dataset

    synthetic = config.data.synthetic
    out_dir = synthetic_cache_dir(synthetic)
    return write_synthetic_dataset(
        out_dir, num_videos=synthetic.num_videos, num_subjects=synthetic.num_subjects,
        class_names=tuple(synthetic.class_names), image_size=synthetic.image_size,
        min_frames=synthetic.min_frames, max_frames=synthetic.max_frames,
        apex_fraction=synthetic.apex_fraction, seed=synthetic.seed,
        genuine_posed=synthetic.genuine_posed)


def make_splits(index, data_config, seed):
    """Returns a split dict `{"train", "validation", "test": [ids], ...}` (kerasfer.data.folds).

    `data.split`: "stratified" — subject-independent, class-stratified holdout of
    `validation_fraction` (thesis 2.2.2), the dataset's "test" videos kept for testing;
    "dataset" — AFEW protocol: the dataset's validation videos become the test side and the
    validation subset is held out of its training videos; "given" — the split column as is;
    "loso" / "kfold" — fold `data.fold` is the test side and a holdout of the remaining
    subjects is the validation side (early stopping).
    """
    from kerasfer.data import folds

    records = index.records
    protocol = data_config.split
    fraction = data_config.validation_fraction
    if protocol == "given":
        return folds.dataset_split(records)
    if protocol == "dataset":
        return folds.dataset_split(records, validation_fraction=fraction, seed=seed)
    if protocol == "stratified":
        test = [r for r in records if str(r.get("split", "")).lower() in ("test", "testing")]
        pool = [r for r in records if r not in test]
        split = folds.subject_holdout_split(pool, validation_fraction=fraction, seed=seed)
        split["test"] = [r["id"] for r in test]
        return split
    if protocol in ("loso", "kfold"):
        all_folds = (folds.leave_one_subject_out(records) if protocol == "loso"
                     else folds.subject_k_fold(records, data_config.num_folds, seed=seed))
        if not 0 <= data_config.fold < len(all_folds):
            raise ConfigError("data.fold", f"fold {data_config.fold} out of range "
                              f"[0, {len(all_folds)})", "pick an existing fold")
        split = all_folds[data_config.fold]
        training = folds.select_records(records, split["train"])
        inner = folds.subject_holdout_split(training, validation_fraction=fraction, seed=seed)
        return dict(split, train=inner["train"], validation=inner["validation"])
    raise ConfigError("data.split", f"unknown split {protocol!r}",
                      "use stratified, dataset, given, loso or kfold")


def load_or_make_splits(run_dir, index, config):
    """Reuses `run_dir/splits.json` (resume) or makes and saves the split."""
    path = os.path.join(run_dir, "splits.json")
    if config.data.splits_file:
        path_in = config.data.splits_file
        if not os.path.exists(path_in):
            raise ConfigError(path_in, "splits file not found", "check data.splits_file")
        from kerasfer.data.folds import load_splits

        candidates = load_splits(path_in)
        if not 0 <= config.data.fold < len(candidates):
            raise ConfigError(path_in, f"data.fold={config.data.fold} but the file has "
                              f"{len(candidates)} splits", "pick an existing fold")
        splits = candidates[config.data.fold]
    elif os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            splits = json.load(handle)
    else:
        splits = make_splits(index, config.data, config.seed)
    for name in ("train", "validation"):
        if not splits.get(name):
            raise ConfigError(path, f"the {name} split is empty",
                              "use more videos or another data.split")
    schema.write_json_atomic(path, splits)
    return splits


def build_sampler(config, train_records, index):
    """Returns the sampler of `config.sampler` for the training records.

    The samplers live in the registry `kerasfer.data.sampling.build_sampler`
    (`list_samplers()`); this passes the training videos' lengths and frame labels.
    """
    from kerasfer.data.sampling import build_sampler as build_registered_sampler

    lengths = [int(r["frames_kept"]) for r in train_records]
    return build_registered_sampler(config.sampler, lengths, config.data.clip_length,
                                    config.seed,
                                    frame_labels=lambda: read_frame_labels(index, train_records))


def read_frame_labels(index, records):
    """Reads the frame-level labels (e.g. PSPI) of `records`, one array per video."""
    import numpy as np

    from kerasfer.data.selected_videos import selected_videos

    labels = [None] * len(records)
    for example in selected_videos(index, records):
        labels[int(example["video_index"])] = example["frame_label"].numpy()
    for record, value in zip(records, labels):
        if value is None or np.all(np.isnan(value)):
            raise ConfigError(record["id"], "video has no frame-level labels",
                              "use sampler.kind=softmax, or a dataset built with frame labels")
    return labels


def build_network(config, num_classes):
    """Builds the registry model through the model contract (`kerasfer.models.contract`).

    Clip-level models (`ModelSpec.temporal_output == "clip"`) get `clip_length` frames,
    fully convolutional ones any number (whole-video evaluation). `model.feature_dropout`
    is the contract's `dropout_rate` (None: the family's default); the input dropout
    (`model.input_dropout`) is applied by `ClipScoringModel`, so the model gets none.
    """
    from kerasfer.models import get_model, model_spec

    spec = model_spec(config.model.name)
    frames = config.data.clip_length if spec.temporal_output == "clip" else None
    channels = 1 if config.data.grayscale else 3
    size = config.data.image_size
    kwargs = dict(config.model.kwargs)
    if config.model.feature_dropout is not None:
        kwargs["dropout_rate"] = config.model.feature_dropout
    # The 2D pretraining step (kerasfer.training.pretraining) writes model.kwargs.pretrained.
    pretrained = kwargs.pop("pretrained", config.model.pretrained)
    return get_model(config.model.name, num_classes, input_shape=(frames, size, size, channels),
                     input_dropout_rate=0.0, pretrained=pretrained, **kwargs)


class Experiment:
    """One training run described by an `ExperimentConfig` (see module docstring).

    Args:
        config: `kerasfer.config.ExperimentConfig`.
        extra_callbacks: list of keras callbacks appended to the run's own. Defaults to ().
    """

    def __init__(self, config, extra_callbacks=()):
        self.config = config
        self.extra_callbacks = list(extra_callbacks)
        self.run_dir = config.run_dir
        os.makedirs(self.run_dir, exist_ok=True)

    def setup(self):
        """Builds strategy, data, sampler, model and callbacks; returns `self`."""
        config = self.config
        self.strategy = make_strategy(config.train.devices, config.train.logical_cpu_devices)
        self.precision = set_mixed_precision(config.train.mixed_precision)
        import keras

        from kerasfer.data import ClipPlan, DatasetIndex, folds, training_dataset
        from kerasfer.training.clip_scoring_model import ClipScoringModel
        from kerasfer.training.optimizers import build_optimizer, check_head_layers

        import tensorflow as tf

        # No global TF seed while the datasets are built: with one set,
        # `Dataset.shuffle(seed=<tensor>)` in training_dataset fails to trace (TF's get_seed
        # compares the seed pair with a Python `==`). Seeds are set right after.
        tf.random.set_seed(None)
        self.data_dir = prepare_data_dir(config)
        # The saved config names the resolved dataset (the synthetic cache when data.dir
        # was empty), so `kerasfer.evaluate --run` finds the data.
        config.data.dir = os.path.abspath(self.data_dir)
        save_config(config, os.path.join(self.run_dir, "config.yaml"))
        self.index = DatasetIndex.load(self.data_dir)
        self.splits = load_or_make_splits(self.run_dir, self.index, config)
        self.train_records = self.index.select(ids=self.splits["train"])
        self.validation_records = self.index.select(ids=self.splits["validation"])
        missing = folds.check_split_classes(self.train_records, self.validation_records,
                                            self.index.classes,
                                            os.path.join(self.run_dir, "splits.json"))
        if missing:
            print(f"warning: {self.run_dir}: the validation split has no video of "
                  f"{', '.join(missing)}; validation accuracy ignores those classes",
                  file=sys.stderr)
        self.sampler = build_sampler(config, self.train_records, self.index)
        data = config.data
        common = dict(clip_length=data.clip_length, duration=data.duration,
                      batch_size=data.batch_size,
                      normalization=data.normalization, image_size=data.image_size,
                      grayscale=data.grayscale, cache="memory" if data.cache else None)
        self.plan = ClipPlan(len(self.train_records))
        self.train_dataset = training_dataset(
            self.index, self.train_records, plan=self.plan, augment=data.augment,
            augmentation=dict(data.augmentation), seed=config.seed, clean_copy=config.sampler.score_source == "clean", **common)
        self.validation_dataset = self._validation_clips(common)
        set_seeds(config.seed)
        self.steps_per_epoch = math.ceil(len(self.train_records) / data.batch_size)
        num_classes = self.index.num_classes
        # 2D pretraining on static expressions, then inflation (pretrain.source).
        from kerasfer.training.pretraining import prepare_pretrained_backbone
        if prepare_pretrained_backbone(config, self.index, self.train_records, self.run_dir):
            save_config(config, os.path.join(self.run_dir, "config.yaml"))
        with self.strategy.scope():
            self.network = build_network(config, num_classes)
            if config.train.backbone_learning_rate is not None:
                # Differential learning rates read model.head_layers: every name must match.
                check_head_layers(self.network, config.model.head_layers)
            self.scoring_model = ClipScoringModel(
                self.network, len(self.train_records), config.sampler.score_source,
                config.model.input_dropout,
                None if config.train.class_weights == "none" else
                list(folds.class_weights(self.train_records, num_classes=num_classes).values()))
            optimizer = build_optimizer(config.train, self.steps_per_epoch,
                                        self.network.trainable_variables, config.model.head_layers)
            self.scoring_model.compile(
                optimizer=optimizer,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                jit_compile=config.train.jit_compile,
                steps_per_execution=config.train.steps_per_execution)
        self.callbacks = self._callbacks()
        return self

    def _validation_clips(self, common):
        # Three fixed, un-augmented clips per validation video (at 1/6, 1/2 and 5/6 of the
        # possible starts): a clip-level validation that sees the whole video span.
        import numpy as np

        from kerasfer.data import ClipPlan, training_dataset
        from kerasfer.training.clip_scoring_model import ClipScoringModel

        records = self.validation_records
        num_starts = np.array([max(int(r["frames_kept"]) - self.config.data.clip_length + 1, 1)
                               for r in records])
        datasets = []
        for fraction in (1 / 6, 1 / 2, 5 / 6):
            plan = ClipPlan(len(records))
            plan.assign(np.floor(fraction * num_starts).astype(np.int32))
            datasets.append(training_dataset(self.index, records, plan=plan, augment=False,
                                             seed=self.config.seed, clean_copy=False,
                                             shuffle=False, **common))
        dataset = datasets[0]
        for other in datasets[1:]:
            dataset = dataset.concatenate(other)
        return ClipScoringModel.prepare(dataset, self.strategy.num_replicas_in_sync)

    def _write_dir(self):
        # Under MultiWorkerMirroredStrategy only the chief (worker 0) writes the run
        # directory; the other workers keep their own copy under worker-<index>/.
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task = tf_config.get("task", {})
        kind, index = task.get("type", "worker"), int(task.get("index", 0))
        has_chief = "chief" in tf_config.get("cluster", {})
        if kind == "chief" or (not has_chief and kind == "worker" and index == 0):
            return self.run_dir
        return os.path.join(self.run_dir, f"{kind}-{index}")

    def _callbacks(self):
        import keras

        from kerasfer.training.confusion_matrix_callback import ConfusionMatrixCallback
        from kerasfer.training.run_checkpoint import RunCheckpoint
        from kerasfer.training.sampler_callback import ClipSamplerCallback
        from kerasfer.training.sampling_maps_callback import SamplingMapsCallback

        write_dir = self._write_dir()
        log_dir = os.path.join(write_dir, "logs")
        count = min(self.config.sampler.num_map_videos, len(self.train_records))
        self.sampler_callback = ClipSamplerCallback(
            self.sampler, self.plan, check_starts=self.config.data.duration == "clip")
        # Cue hit rate (Ayral (2021) thesis Ch. 3) when the data has frame labels.
        from kerasfer.training.cue_hit_rate_callback import make_cue_hit_rate_callback
        self.cue_hit_rate = make_cue_hit_rate_callback(self.config, self.index,
                                                       self.train_records, self.sampler, write_dir)
        self.checkpoint = RunCheckpoint(write_dir, self.network, self.sampler,
                                        monitor=self.config.train.monitor,
                                        patience=self.config.train.early_stopping_patience)
        return [
            self.sampler_callback,
            SamplingMapsCallback(self.sampler, log_dir, list(range(count)),
                                 [r["id"] for r in self.train_records[:count]]),
            *([self.cue_hit_rate] if self.cue_hit_rate else []),
            ConfusionMatrixCallback(self.validation_dataset, self.index.classes, log_dir),
            keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch",
                                        write_graph=False),
            *self.extra_callbacks,
            self.checkpoint,
        ]

    def fit(self):
        """Trains (or resumes); returns the Keras history dict of this call."""
        import tensorflow as tf

        from kerasfer.data.shard_check import corrupt_shard_error
        from kerasfer.training.clip_scoring_model import ClipScoringModel

        initial_epoch = self.checkpoint.restore(self.scoring_model)
        self.initial_epoch = initial_epoch
        if self.checkpoint.finished(self.config.train.epochs):
            print(f"{self.run_dir}: training already finished at epoch {initial_epoch}; "
                  "nothing to resume")
            return {}
        if initial_epoch:
            print(f"{self.run_dir}: resuming from the checkpoint of epoch {initial_epoch - 1}")
        with warnings.catch_warnings():
            # One finite pass per epoch is the design (the plan changes every epoch), so
            # Keras' "ran out of data" / "shuffle ignored" warnings are expected.
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
            try:
                history = self.scoring_model.fit(
                    ClipScoringModel.prepare(self.train_dataset,
                                             self.strategy.num_replicas_in_sync),
                    epochs=self.config.train.epochs,
                    initial_epoch=initial_epoch, validation_data=self.validation_dataset,
                    callbacks=self.callbacks, verbose=self.config.train.verbose)
            except tf.errors.DataLossError as exc:
                raise corrupt_shard_error(self.index.shard_paths, exc) from None
        return history.history

    def summary(self):
        """Returns a dict with the best value, its epoch (1-based, as Keras' "Epoch 4/24"
        progress line) and the run directory."""
        best_epoch = self.checkpoint.best_epoch
        return {"run_dir": self.run_dir, "monitor": self.checkpoint.monitor,
                "best": self.checkpoint.best,
                "best_epoch": None if best_epoch is None else best_epoch + 1,
                "epochs_run": len(self.checkpoint.history),
                "stopped_early": self.checkpoint.stopped_early}

    def run(self):
        """setup → fit → evaluation → export; returns `summary()`."""
        self.setup()
        self.fit()
        summary = self.summary()
        with open(os.path.join(self.run_dir, "training_summary.json"), "w",
                  encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
        return summary
