"""Shared fixtures. TensorFlow's C++ logging is silenced before anything imports it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def carphone_path():
    from kerasfer.assets import sample_video_path

    return sample_video_path("carphone")


@pytest.fixture(scope="session")
def bikes_path():
    from kerasfer.assets import sample_video_path

    return sample_video_path("bikes")
