"""Helpers of the training tests (a module with a unique name, importable from the tests)."""

import os
import subprocess
import sys


# `python -m kerasfer.fit` without --config runs the sparse-cue pretrained preset; the CLI
# tests start from the CPU-tiny experiment (the config dataclasses' defaults) instead.
CPU_TINY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "configs", "cpu_tiny.yaml")


def fit_argv(data_dir, run_dir, epochs=2, **extra):
    """`kerasfer.fit` arguments of the CPU-tiny experiment with `tiny_overrides`."""
    return ["--config", CPU_TINY, *tiny_overrides(data_dir, run_dir, epochs, **extra)]


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


def run_python(code, timeout=240, env_extra=None):
    """Runs `code` in a fresh Python process; returns CompletedProcess (text)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)
