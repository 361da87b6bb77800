"""Issue 13, data lost: the builder deletes or replaces only what its own records say it wrote."""

import os
import subprocess
import sys

from kerasfer import schema
from tfrecords_builder.cli import main

FAST = ["--detect-every", "10", "--frame-stride", "8", "--crop-size", "32", "--no-progress"]


def write_csv(path, rows):
    path.write_text("path,label\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return str(path)


def test_builder_without_overwrite_keeps_a_foreign_shard(tmp_path, carphone_path):
    """`mkdir b; echo foreign > b/part-00000.tfrecord; python -m tfrecords_builder --out b`."""
    good = write_csv(tmp_path / "good.csv", [(carphone_path, "happy")])
    out = tmp_path / "b"
    out.mkdir()
    (out / "part-00000.tfrecord").write_text("foreign\n")
    result = subprocess.run([sys.executable, "-m", "tfrecords_builder", "--source",
                             f"csv:{good}", "--out", str(out)] + FAST,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert (out / "part-00000.tfrecord").read_text() == "foreign\n"
    assert sorted(os.listdir(out)) == ["part-00000.tfrecord"]  # nothing added either
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [f"ERROR {out}: is not empty and kerasfer did not create it (it holds "
                      f"part-00000.tfrecord). pass a new or empty --out directory; nothing "
                      f"was deleted"]
    assert "interrupted run" not in result.stderr and "Traceback" not in result.stderr


def test_overwrite_keeps_files_in_a_directory_kerasfer_did_not_create(tmp_path, carphone_path,
                                                                      capsys):
    good = write_csv(tmp_path / "good.csv", [(carphone_path, "happy")])
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "part-00003.tfrecord").write_bytes(b"their shard")
    (out / "classes.json").write_text('["theirs"]')
    assert main(["--source", f"csv:{good}", "--out", str(out), "--overwrite"] + FAST) == 1
    assert "is not empty and kerasfer did not create it (it holds classes.json, " \
        "part-00003.tfrecord)" in capsys.readouterr().err
    assert (out / "part-00003.tfrecord").read_bytes() == b"their shard"
    assert (out / "classes.json").read_text() == '["theirs"]'
    assert sorted(os.listdir(out)) == ["classes.json", "part-00003.tfrecord"]


def test_overwrite_in_our_directory_removes_only_listed_files(tmp_path, carphone_path):
    good = write_csv(tmp_path / "good.csv", [(carphone_path, "happy")])
    out = tmp_path / "ours"
    assert main(["--source", f"csv:{good}", "--out", str(out)] + FAST) == 0
    first = schema.read_manifest(out)
    (out / "NOTES.md").write_text("my notes")
    (out / "extra.tfrecord").write_bytes(b"not a part- shard, never listed")
    assert main(["--source", f"csv:{good}", "--out", str(out), "--overwrite"] + FAST) == 0
    assert (out / "NOTES.md").read_text() == "my notes"
    assert (out / "extra.tfrecord").read_bytes() == b"not a part- shard, never listed"
    assert [r["id"] for r in schema.read_manifest(out)] == [r["id"] for r in first]
