"""The sections of an experiment config: one dataclass per YAML section, and allowed values.

`kerasfer.config` reads, checks, overrides and saves them (and re-exports every name here).
The defaults are the CPU-sized experiment of `configs/cpu_tiny.yaml` (240 synthetic
localized-apex videos of 3 classes, a 3D ResNet-18 at 1/8 width, Adam); the sampler defaults
follow Ayral (2021) master's thesis (Sections 3.2.4 and 3.3.1.3: F = 16, 3 warm-up epochs,
5 exploration epochs, γ_s = 1, early stopping after 10 epochs). Paper settings (SGD with
momentum 0.9, gradient accumulation every 4 steps, ...) live in `configs/*.yaml`.

`CHOICES` and `REGISTRY_CHOICES` list the values a string key accepts; `choices(key)` returns
them.
"""

from __future__ import annotations

import dataclasses
import typing


@dataclasses.dataclass
class SyntheticConfig:
    """Synthetic localized-apex videos generated when `data.dir` is empty."""

    num_videos: int = 240
    num_subjects: int = 12
    image_size: int = 32
    min_frames: int = 24
    max_frames: int = 48
    apex_fraction: float = 0.5
    seed: int = 0
    class_names: list = dataclasses.field(default_factory=lambda: ["Happy", "Sad", "Surprise"])
    genuine_posed: bool = False


@dataclasses.dataclass
class DataConfig:
    """Dataset, clip extraction and split settings (thesis 2.2.3, 3.2.3.1)."""

    dir: str = ""
    clip_length: int = 16
    duration: str = "clip"
    image_size: int = 32
    normalization: str = "unit"
    grayscale: bool = False
    batch_size: int = 8
    augment: bool = True
    augmentation: dict = dataclasses.field(
        default_factory=lambda: {"crop_fraction": 0.85, "max_rotation_degrees": 10.0})
    split: str = "stratified"
    validation_fraction: float = 0.2
    num_folds: int = 5
    fold: int = 0
    splits_file: str = ""
    cache: bool = True
    synthetic: SyntheticConfig = dataclasses.field(default_factory=SyntheticConfig)


@dataclasses.dataclass
class ModelConfig:
    """Model from the registry plus the thesis' dropout (2.2.3.4: 30 % input, 90 % features)."""

    name: str = "r3d_18"
    kwargs: dict = dataclasses.field(default_factory=lambda: {"width_multiplier": 0.125})
    input_dropout: float = 0.0
    # Passed to the builder as `dropout_rate` (None: the family's default).
    feature_dropout: typing.Optional[float] = None
    head_layers: list = dataclasses.field(default_factory=lambda: ["classifier", "temporal_pooling"])
    # False: random; True: the family's shipped weights; a path: a saved 2D model to inflate.
    pretrained: typing.Union[bool, str] = False


@dataclasses.dataclass
class TrainConfig:
    """Optimiser, schedule and loop settings.

    Ayral (2021) thesis, Section 3.3.1.3; the EmotiW spatial attention + temporal softmax
    pooling paper, Section 4.2 (differential learning rates, warm restarts).
    """

    epochs: int = 20
    optimizer: str = "adam"
    learning_rate: float = 0.003
    backbone_learning_rate: typing.Optional[float] = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    decay_epochs: int = 10
    decay_rate: float = 0.1
    restart_epochs: int = 10
    restart_multiplier: float = 1.0
    gradient_accumulation_steps: int = 1
    class_weights: str = "none"
    early_stopping_patience: int = 10
    monitor: str = "val_accuracy"
    mixed_precision: bool = False
    jit_compile: bool = False
    devices: list = dataclasses.field(default_factory=list)
    logical_cpu_devices: int = 0
    steps_per_execution: int = 1
    verbose: int = 1
    # Back up weights + optimizer + sampler every N epochs (and after the last one).
    checkpoint_every: int = 1
    # Confusion-matrix and sampling-map images every N epochs (and after the last one);
    # BENCHMARKS.md "Epoch overhead": drawing them every epoch cost as much as training.
    diagnostics_every: int = 5


@dataclasses.dataclass
class SamplerConfig:
    """Training-clip sampler (thesis Ch. 3: Eq. 3.5, 3.8, 3.9, Section 3.2.4)."""

    kind: str = "softmax"
    sampling_temperature: float = 1.0
    warmup_epochs: int = 3
    exploration_epochs: int = 5
    score_source: str = "clean"
    reinforce_learning_rate: float = 0.1
    reinforce_baseline_decay: float = 0.9
    label_temperature: float = 0.8
    num_map_videos: int = 2
    exploration: str = "segments"
    cue_threshold: float = 0.5


@dataclasses.dataclass
class PretrainConfig:
    """2D pretraining on static expressions, then inflation (Ayral (2021) thesis 1.2.5, 2.1.3).

    See `kerasfer.training.pretraining`: `source` "static_faces" (synthetic faces of other
    subjects, the FER2013 analogue), "cue_frames" (training frames whose frame label shows
    the expression), "all_frames" (weak: every training frame with the video label) or
    "none". The saved 2D model becomes `model.pretrained`.
    """

    source: str = "none"
    model: str = "fer_mini_xception_2d"
    init: str = "random"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 0.001
    static_subjects: int = 60
    static_images_per_subject: int = 40
    cue_threshold: float = 0.5
    frames_per_video: int = 0


@dataclasses.dataclass
class EvalConfig:
    """Whole-video evaluation (thesis Eq. 3.3 with γ_p, decoupled from γ_s, Table 3.3)."""

    pooling_temperature: float = 1.0
    split: str = "validation"
    run_after_fit: bool = True
    export_after_fit: bool = True


@dataclasses.dataclass
class ExperimentConfig:
    """A whole experiment: `run_dir` holds config.yaml, splits.json, logs/, checkpoints/...

    `pipeline` names the system run end to end (`kerasfer.pipelines` registry; the default
    `clip_classifier` is `kerasfer.training.Experiment`); `pipeline_options` holds that
    system's own settings, checked against its options dataclass.
    """

    run_dir: str = "runs/cpu_tiny"
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    sampler: SamplerConfig = dataclasses.field(default_factory=SamplerConfig)
    pretrain: PretrainConfig = dataclasses.field(default_factory=PretrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    pipeline: str = "clip_classifier"
    pipeline_options: dict = dataclasses.field(default_factory=dict)


CHOICES = {
    "data.normalization": ("imagenet", "minus_one_one", "unit"),
    "data.duration": ("clip", "resize", "random_segments"),
    "train.optimizer": ("sgd", "adam", "adamw"),
    "train.schedule": ("constant", "step", "cosine_restarts"),
    "train.class_weights": ("none", "balanced"),
    # Keys the training loop logs every epoch (a key it never logs would leave no best
    # model and early stopping comparing None).
    "train.monitor": ("val_accuracy", "val_loss", "accuracy", "loss"),
    "sampler.score_source": ("clean", "training_pass"),
    "sampler.exploration": ("segments", "author"),
    "pretrain.source": ("none", "static_faces", "cue_frames", "all_frames"),
    "pretrain.init": ("random", "fer2013"),
    "eval.split": ("validation", "test", "train"),
}


# Choices that come from a registry (adding an entry is one file and one decorator there),
# looked up when a value is checked so `import kerasfer.config` stays light.
REGISTRY_CHOICES = {
    "data.split": ("kerasfer.data.splits", "split_protocol_names"),
    "sampler.kind": ("kerasfer.data.sampling", "list_samplers"),
    "pretrain.model": ("kerasfer.models", "list_backbones_2d"),
}


def choices(key):
    """Returns the allowed values of `key` (a tuple), or None when any value of its type goes."""
    if key in REGISTRY_CHOICES:
        import importlib

        module, function = REGISTRY_CHOICES[key]
        return tuple(getattr(importlib.import_module(module), function)())
    return CHOICES.get(key)
