"""SavedModel export directory: delete only what the marker lists, never follow links."""

import json
import os
import stat
import sys

import numpy as np
import pytest
import tensorflow as tf
from export_helpers import export
from export_helpers import fully_conv_model
from export_helpers import reference_scores
from export_helpers import start
from export_helpers import uint8_video

from kerasfer.export import ExportError
from kerasfer.export import export_run
from kerasfer.export import main as export_main

MARKER = "kerasfer_export_marker.json"


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and not p.is_symlink())


def test_reexport_keeps_user_files_and_replaces_only_marked_ones(tmp_path):
    out = tmp_path / "served"
    export(fully_conv_model(seed=1), out)
    marker = json.loads((out / MARKER).read_text())
    assert marker["files"] == [f for f in files_under(out) if f != MARKER]
    assert {"saved_model.pb", "assets/kerasfer_export.json", "assets/class_names.txt",
            "variables/variables.index"} <= set(marker["files"])
    # The user's notes, a file of theirs inside assets/, and a file an earlier export
    # wrote that the new one does not write (listed in the marker).
    (out / "NOTES.md").write_text("my notes")
    (out / "assets" / "mine.txt").write_text("mine")
    (out / "variables" / "stale.bin").write_text("old export")
    marker["files"].append("variables/stale.bin")
    (out / MARKER).write_text(json.dumps(marker))
    model = fully_conv_model(seed=2)
    export(model, out)
    assert (out / "NOTES.md").read_text() == "my notes"
    assert (out / "assets" / "mine.txt").read_text() == "mine"
    assert not (out / "variables" / "stale.bin").exists()
    new_marker = json.loads((out / MARKER).read_text())
    assert new_marker["files"] == [f for f in files_under(out)
                                   if f not in (MARKER, "NOTES.md", "assets/mine.txt")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]  # no staging left
    video = uint8_video(9, seed=4)
    served = tf.saved_model.load(str(out)).signatures["serving_default"](
        videos=tf.constant(video))
    np.testing.assert_allclose(served["probabilities"][0],
                               reference_scores(model, video, "imagenet").probabilities,
                               rtol=1e-4, atol=1e-5)


def test_refuses_a_file_a_link_and_a_linked_folder(tmp_path):
    model = fully_conv_model()
    a_file = tmp_path / "model.txt"
    a_file.write_text("keep me")
    with pytest.raises(ExportError, match="model.txt: is a file, not a directory. pass --out"):
        export(model, a_file)
    assert a_file.read_text() == "keep me"
    real = tmp_path / "real"
    export(model, real)
    before = {f: (real / f).read_bytes() for f in files_under(real)}
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(ExportError, match="link: is a symbolic link"):
        export(model, link)
    # A folder of the export replaced by a link elsewhere: never followed when deleting.
    elsewhere = tmp_path / "elsewhere"
    (real / "variables").rename(elsewhere)
    (real / "variables").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExportError, match="variables is a symbolic link"):
        export(model, real)
    assert sorted(p.name for p in elsewhere.iterdir()) == [
        "variables.data-00000-of-00001", "variables.index"]
    assert (real / "saved_model.pb").read_bytes() == before["saved_model.pb"]


def test_refuses_files_the_marker_does_not_list(tmp_path):
    out = tmp_path / "served"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"format": "kerasfer-export-marker", "version": 1,
                                          "files": [], "folders": []}))
    (out / "saved_model.pb").write_text("someone else's")
    with pytest.raises(ExportError, match="holds saved_model.pb, which the export would "
                                          "replace but kerasfer_export_marker.json does "
                                          "not list"):
        export(fully_conv_model(), out)
    assert (out / "saved_model.pb").read_text() == "someone else's"
    (out / MARKER).write_text("{not json")
    with pytest.raises(ExportError, match="unreadable export marker"):
        export(fully_conv_model(), out)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_export_keeps_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        out = export(fully_conv_model(), tmp_path / "served")
    finally:
        os.umask(previous)
    for folder in ("", "variables", "assets"):
        assert stat.S_IMODE(os.stat(os.path.join(out, folder)).st_mode) == 0o777 & ~umask
    for name in files_under(tmp_path / "served"):
        assert stat.S_IMODE(os.stat(os.path.join(out, name)).st_mode) == 0o666 & ~umask, name


def test_cli_bad_out_is_one_line_without_traceback(tmp_path):
    a_file = tmp_path / "exported"
    a_file.write_text("keep me")
    process = start([sys.executable, "-m", "kerasfer.export", "--run", str(tmp_path / "run"),
                     "--out", str(a_file)])
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        f"error: {a_file}: is a file, not a directory. pass --out a new or empty directory "
        "(or an earlier export)"]
    assert a_file.read_text() == "keep me"


def test_cli_symlink_out_and_missing_run(tmp_path, capsys):
    (tmp_path / "earlier").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "earlier", target_is_directory=True)
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "link")]) == 2
    assert "link: is a symbolic link" in capsys.readouterr().err
    with pytest.raises(ExportError, match="config.yaml: run config not found"):
        export_run(str(tmp_path / "no_run"))
