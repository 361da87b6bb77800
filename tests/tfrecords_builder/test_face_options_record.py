"""`face_options.json`: the builder records its face pipeline for export / predict."""

import dataclasses
import json
import os

import pytest

from kerasfer import schema
from tfrecords_builder import alignment
from tfrecords_builder.cli import build_parser, face_options, main

FAST = ["--detect-every", "10", "--frame-stride", "8", "--crop-size", "32", "--no-progress",
        "--jpeg-quality", "80", "--keep-frames-without-face"]


@pytest.mark.slow  # four builds of carphone: ~48 s on the loaded machine
def test_settings_are_recorded_and_a_mixed_resume_is_refused(tmp_path, carphone_path, capsys):
    (tmp_path / "list.csv").write_text(f"path,label\n{carphone_path},happy\n")
    out = tmp_path / "out"
    argv = ["--source", f"csv:{tmp_path / 'list.csv'}", "--out", str(out)] + FAST
    assert main(argv) == 0
    recorded = json.loads((out / schema.FACE_OPTIONS_FILENAME).read_text())
    options = face_options(build_parser().parse_args(argv))
    settings = recorded["face_options"]
    assert recorded["written_by"] == "tfrecords_builder"
    assert {k: settings[k] for k in dataclasses.asdict(options)} == dataclasses.asdict(options)
    assert settings["jpeg_quality"] == 80 and settings["keep_frames_without_face"] is True
    assert settings["crop_size"] == 32 and settings["grayscale"] is False
    assert settings["alignment"]["weights"] == [4.0, 4.0, 1.0, 1.0, 1.0]
    assert settings["alignment"]["template"] == [[round(float(v), 6) for v in p]
                                                 for p in alignment.TEMPLATE]
    assert "shape_predictor_68" in settings["landmarks_model"]
    stamp = os.stat(out / schema.FACE_OPTIONS_FILENAME).st_mtime_ns

    assert main(argv) == 0  # same options: resumes, file untouched
    assert os.stat(out / schema.FACE_OPTIONS_FILENAME).st_mtime_ns == stamp
    capsys.readouterr()
    other = [a if a != "--keep-frames-without-face" else "--detect-every=5" for a in argv]
    assert main(other) == 1  # other options: would mix two pipelines in one dataset
    assert ("built with other face options (detect_every 10 -> 5; keep_frames_without_face "
            "True -> False). pass the recorded options to resume, or --overwrite") \
        in capsys.readouterr().err
    assert json.loads((out / schema.FACE_OPTIONS_FILENAME).read_text()) == recorded
    assert main(other + ["--overwrite"]) == 0
    assert json.loads((out / schema.FACE_OPTIONS_FILENAME).read_text())[
        "face_options"]["detect_every"] == 5
