"""Fixtures of the training tests: a tiny synthetic dataset and tiny experiment configs."""

import pytest

from training_helpers import tiny_overrides

TINY_CLASSES = ("Happy", "Sad", "Surprise")


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory):
    """12 synthetic videos of 8–20 frames, 16×16 crops, 3 classes, 4 subjects."""
    from kerasfer.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("tiny_synthetic")
    return write_synthetic_dataset(str(out), num_videos=12, num_subjects=4,
                                   class_names=TINY_CLASSES, image_size=16, min_frames=8,
                                   max_frames=20, seed=0)


@pytest.fixture
def tiny_config(tiny_dataset_dir, tmp_path):
    """Returns `make(**overrides) -> ExperimentConfig` for a run in `tmp_path/run`."""
    from kerasfer.config import load_config

    def make(**extra):
        epochs = extra.pop("epochs", 2)
        return load_config(None, tiny_overrides(tiny_dataset_dir, tmp_path / "run", epochs,
                                                **extra))

    return make
