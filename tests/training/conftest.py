"""Fixtures of the training tests: a tiny synthetic dataset and tiny experiment configs."""

import os
import subprocess
import sys

import pytest

TINY_CLASSES = ("Happy", "Sad", "Surprise")


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory):
    """12 synthetic videos of 8–20 frames, 16×16 crops, 3 classes, 4 subjects."""
    from kerasfer.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("tiny_synthetic")
    return write_synthetic_dataset(str(out), num_videos=12, num_subjects=4,
                                   class_names=TINY_CLASSES, image_size=16, min_frames=8,
                                   max_frames=20, seed=0)


def tiny_overrides(data_dir, run_dir, epochs=2, **extra):
    """Dotted overrides of a CPU-tiny experiment (F = 4, 16×16, C3D width 1/16)."""
    values = {
        "run_dir": str(run_dir), "data.dir": str(data_dir), "data.clip_length": 4,
        "data.image_size": 16, "data.batch_size": 4, "data.validation_fraction": 0.25,
        "model.name": "c3d", "model.kwargs": "{width_multiplier: 0.0625}",
        "train.epochs": epochs, "train.verbose": 0, "train.learning_rate": 0.01,
        "sampler.warmup_epochs": 1, "sampler.exploration_epochs": 1,
        "sampler.num_map_videos": 2, "eval.run_after_fit": False,
        "eval.export_after_fit": False,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


@pytest.fixture
def tiny_config(tiny_dataset_dir, tmp_path):
    """Returns `make(**overrides) -> ExperimentConfig` for a run in `tmp_path/run`."""
    from kerasfer.config import load_config

    def make(**extra):
        epochs = extra.pop("epochs", 2)
        return load_config(None, tiny_overrides(tiny_dataset_dir, tmp_path / "run", epochs,
                                                **extra))

    return make


def run_python(code, timeout=240, env_extra=None):
    """Runs `code` in a fresh Python process; returns CompletedProcess (text)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)
