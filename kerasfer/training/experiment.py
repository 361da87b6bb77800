"""`Experiment`: wires a config to data, model, sampler, callbacks and `fit`.

The run directory (`config.run_dir`) receives `config.yaml` (resolved config),
`splits.json` (train / validation / test video ids), `logs/` (TensorBoard), `checkpoints/`
(`TrainingBackup`: atomic, with the sampler state), `best_model.keras`
(`BestModelCheckpoint`) and `training_summary.json`. `run()` trains only; the whole-video
evaluation and the SavedModel export are `kerasfer.evaluate.evaluate_run` and
`kerasfer.export`, which `python -m kerasfer.fit` calls afterwards. Rerunning with the same
run directory resumes from the last checkpoint (same sampler state, same split).

Under `MultiWorkerMirroredStrategy` only the chief writes the run directory (config,
splits, checkpoints, TensorBoard, best model, summary); the other workers run the same
callbacks into a temporary directory that the run creates and removes at its end, and every
worker resumes from the chief's `checkpoints/` (see docs/distributed.md).

Example:

>>> experiment = Experiment(load_config("configs/cpu_tiny.yaml", ["train.epochs=3"]))
>>> summary = experiment.run()
>>> summary["best"]
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from kerasfer.config import check_pretrained_key
from kerasfer.config import save_config
from kerasfer.data import ClipPlan, DatasetIndex, folds, training_dataset
from kerasfer.data.selected_videos import selected_videos
from kerasfer.data.shard_check import corrupt_shard_error
# Re-exported: other modules import the synthetic cache from here.
from kerasfer.data.synthetic.synthetic_cache import (  # noqa: F401
    prepare_data_dir,
    synthetic_cache_dir,
    synthetic_cache_ready,
)
from kerasfer.errors import ConfigError
from kerasfer.training.best_model_checkpoint import BestModelCheckpoint
from kerasfer.training.clip_scoring_model import ClipScoringModel
from kerasfer.training.confusion_matrix_callback import ConfusionMatrixCallback
from kerasfer.training.nan_stop import NaNStop
from kerasfer.training.optimizers import build_optimizer, check_head_layers
from kerasfer.training.resumable_early_stopping import ResumableEarlyStopping
# make_splits is re-exported: callers import it from here.
from kerasfer.training.run_splits import load_or_make_splits, make_splits  # noqa: F401
from kerasfer.training.sampler_callback import ClipSamplerCallback
from kerasfer.training.sampling_maps_callback import SamplingMapsCallback
from kerasfer.training.strategy import (
    make_strategy,
    set_mixed_precision,
    set_seeds,
    worker_task,
)
from kerasfer.training.training_backup import TrainingBackup


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
    check_pretrained_key(config)  # the weights come from model.pretrained only
    kwargs = dict(config.model.kwargs)
    if config.model.feature_dropout is not None:
        kwargs["dropout_rate"] = config.model.feature_dropout
    return get_model(config.model.name, num_classes, input_shape=(frames, size, size, channels),
                     input_dropout_rate=0.0, pretrained=config.model.pretrained, **kwargs)


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
        # Multi-worker: the chief writes the run directory; see _write_dir.
        self.task_type, self.task_index, self.is_chief = worker_task()
        self.scratch_dir = None

    def setup(self):
        """Builds strategy, data, sampler, model and callbacks; returns `self`.

        A corrupt shard met while reading the data (frame labels, ...) raises a
        `SchemaError` naming it, as during `fit`.
        """
        try:
            return self._setup()
        except tf.errors.DataLossError as exc:
            raise corrupt_shard_error(self.index.shard_paths, exc) from None

    def _setup(self):
        config = self.config
        self.strategy = make_strategy(config.train.devices, config.train.logical_cpu_devices)
        self.precision = set_mixed_precision(config.train.mixed_precision)
        # No global TF seed while the datasets are built: with one set,
        # `Dataset.shuffle(seed=<tensor>)` in training_dataset fails to trace (TF's get_seed
        # compares the seed pair with a Python `==`). Seeds are set right after.
        tf.random.set_seed(None)
        self.data_dir = self._prepare_data()
        # The saved config names the resolved dataset (the synthetic cache when data.dir
        # was empty), so `kerasfer.evaluate --run` finds the data.
        config.data.dir = os.path.abspath(self.data_dir)
        if self.is_chief:
            save_config(config, os.path.join(self.run_dir, "config.yaml"))
        self.index = DatasetIndex.load(self.data_dir)
        self.splits = load_or_make_splits(self.run_dir, self.index, config, write=self.is_chief)
        self.train_records = self.index.select(ids=self.splits["train"])
        self.validation_records = self.index.select(ids=self.splits["validation"])
        missing = folds.check_split_classes(self.train_records, self.validation_records,
                                            self.index.classes,
                                            os.path.join(self.run_dir, "splits.json"))
        if missing:
            print(f"warning: {self.run_dir}: the validation split has no video of "
                  f"{', '.join(missing)}; validation accuracy ignores those classes",
                  file=sys.stderr)
        self._say(f"      {len(self.index)} videos, {self.index.num_classes} classes "
                  f"({', '.join(self.index.classes)}); split {config.data.split!r}: "
                  f"{len(self.train_records)} training / {len(self.validation_records)} "
                  "validation videos")
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
        if prepare_pretrained_backbone(config, self.index, self.train_records, self.run_dir,
                                       is_chief=self.is_chief) and self.is_chief:
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
        replicas = self.strategy.num_replicas_in_sync
        self._say(f"model: {config.model.name}, {self.network.count_params():,} parameters; "
                  f"sampler: {config.sampler.kind}; {replicas} device"
                  f"{'s' if replicas > 1 else ''} ({type(self.strategy).__name__}); "
                  f"run dir: {self.run_dir}")
        return self

    def _say(self, text):
        # Start-up lines of the CLI (silent with train.verbose=0, e.g. in tests).
        if self.config.train.verbose:
            print(text, flush=True)

    def _prepare_data(self):
        config = self.config
        if config.data.dir:
            self._say(f"data: {config.data.dir}")
            return config.data.dir
        synthetic = config.data.synthetic
        path = synthetic_cache_dir(synthetic)
        if synthetic_cache_ready(synthetic):
            self._say(f"data: synthetic videos, cached in {path}")
        else:
            self._say(f"data: generating {synthetic.num_videos} synthetic videos into the "
                      f"cache {path} (once; later runs reuse it)")
        return prepare_data_dir(config, progress=bool(config.train.verbose))

    def _validation_clips(self, common):
        # Three fixed, un-augmented clips per validation video (at 1/6, 1/2 and 5/6 of the
        # possible starts): a clip-level validation that sees the whole video span.
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
        # Under MultiWorkerMirroredStrategy only the chief writes the run directory. The
        # other workers must still run every callback (saving and validation take part in
        # collectives), so they write into a temporary directory this run creates and
        # removes in run() (TensorFlow's multi-worker Keras guide).
        if self.is_chief:
            return self.run_dir
        if self.scratch_dir is None:
            self.scratch_dir = tempfile.mkdtemp(
                prefix=f"kerasfer-{self.task_type}-{self.task_index}-")
        return self.scratch_dir

    def remove_scratch_dir(self):
        """Removes the temporary directory of a non-chief worker (only the one it made)."""
        if self.scratch_dir is not None and not os.path.islink(self.scratch_dir):
            shutil.rmtree(self.scratch_dir, ignore_errors=True)
        self.scratch_dir = None

    def _callbacks(self):
        write_dir = self._write_dir()
        log_dir = os.path.join(write_dir, "logs")
        count = min(self.config.sampler.num_map_videos, len(self.train_records))
        self.sampler_callback = ClipSamplerCallback(
            self.sampler, self.plan, check_starts=self.config.data.duration == "clip")
        # Cue hit rate (Ayral (2021) thesis Ch. 3) when the data has frame labels.
        from kerasfer.training.cue_hit_rate_callback import make_cue_hit_rate_callback
        self.cue_hit_rate = make_cue_hit_rate_callback(self.config, self.index,
                                                       self.train_records, self.sampler, write_dir)
        train = self.config.train
        # Keras' BackupAndRestore / ModelCheckpoint / EarlyStopping / TerminateOnNaN roles;
        # the backup runs last so it records what the others decided (stop_training).
        self.backup = TrainingBackup(write_dir, self.network, self.sampler,
                                     every=train.checkpoint_every)
        self.best_model = BestModelCheckpoint(os.path.join(write_dir, "best_model.keras"),
                                              monitor=train.monitor)
        self.early_stopping = (ResumableEarlyStopping(train.monitor,
                                                      train.early_stopping_patience)
                               if train.early_stopping_patience else None)
        state_callbacks = [NaNStop(write_dir, self.backup), self.best_model,
                           *([self.early_stopping] if self.early_stopping else []), self.backup]
        return [
            self.sampler_callback,
            SamplingMapsCallback(self.sampler, log_dir, list(range(count)),
                                 [r["id"] for r in self.train_records[:count]],
                                 every=self.config.train.diagnostics_every),
            *([self.cue_hit_rate] if self.cue_hit_rate else []),
            ConfusionMatrixCallback(self.validation_dataset, self.index.classes, log_dir,
                                    every=self.config.train.diagnostics_every),
            keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch",
                                        write_graph=False),
            *self.extra_callbacks,
            *state_callbacks,
        ]

    def fit(self):
        """Trains (or resumes); returns the Keras history dict of this call."""
        # Every worker resumes from the chief's checkpoints, so all start the same epoch.
        # In the strategy's scope: restoring may build the optimizer's variables.
        source = None if self.is_chief else os.path.join(self.run_dir, "checkpoints")
        with self.strategy.scope():
            initial_epoch = self.backup.restore(self.scoring_model, source)
        self.initial_epoch = initial_epoch
        if self.backup.finished(self.config.train.epochs):
            print(f"{self.run_dir}: training already finished after epoch {initial_epoch}; "
                  "nothing to resume")
            return {}
        if initial_epoch:
            print(f"{self.run_dir}: resuming after epoch {initial_epoch} "
                  f"({self.backup.latest_checkpoint() if source is None else source})")
            self.best_model.best = self.best()[0]
            if self.early_stopping is not None:
                self.early_stopping.resume(self.backup.history)
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

    def best(self):
        """Returns `(best monitored value, its epoch 1-based)` of the epochs run, or Nones.

        The first epoch reaching the best value, as `BestModelCheckpoint` saves only on a
        strict improvement.
        """
        monitor = self.config.train.monitor
        values = [(h[monitor], h["epoch"]) for h in self.backup.history
                  if h.get(monitor) is not None and math.isfinite(h[monitor])]
        if not values:
            return None, None
        sign = -1.0 if "loss" in monitor else 1.0
        best = max(values, key=lambda item: (sign * item[0], -item[1]))
        return best

    def summary(self):
        """Returns a dict with the best value, its epoch (1-based, as Keras' "Epoch 4/24"
        progress line) and the run directory."""
        best, best_epoch = self.best()
        return {"run_dir": self.run_dir, "monitor": self.config.train.monitor,
                "best": best, "best_epoch": best_epoch,
                "epochs_run": len(self.backup.history),
                "stopped_early": self.backup.stopped_early}

    def run(self):
        """setup → fit (no evaluation or export: `kerasfer.fit` calls those); returns
        `summary()` (+ `is_chief`)."""
        try:
            self.setup()
            self.fit()
        finally:
            self.remove_scratch_dir()
        summary = self.summary()
        if self.is_chief:
            with open(os.path.join(self.run_dir, "training_summary.json"), "w",
                      encoding="utf-8") as handle:
                json.dump(summary, handle, indent=1)
        summary["is_chief"] = self.is_chief
        return summary
