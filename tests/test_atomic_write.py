"""`kerasfer.atomic_write`: a link planted at the temporary name is never written through,
a failed write keeps the old file, and the tools that replace files in place use it."""

import os
import pickle
import threading

import numpy as np
import pytest

from kerasfer import atomic_write
from kerasfer.atomic_write import atomic_writer, write_bytes_atomic, write_text_atomic


def _plant(tmp_path, path):
    """A precious file outside the output and a link to it at `path`'s temporary name."""
    precious = tmp_path / "outside" / "precious.txt"
    precious.parent.mkdir(exist_ok=True)
    precious.write_text("keep")
    link = f"{path}.tmp-{os.getpid()}"
    os.symlink(precious, link)
    return precious, link


def test_a_link_at_the_temporary_name_is_neither_followed_nor_deleted(tmp_path):
    target = tmp_path / "report.json"
    precious, link = _plant(tmp_path, target)
    write_text_atomic(target, "new")
    assert precious.read_text() == "keep"                     # the outside file untouched
    assert os.path.islink(link)                               # the link is not ours: left
    assert target.read_text() == "new" and not target.is_symlink()
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01" and precious.read_text() == "keep"
    assert sorted(os.listdir(tmp_path)) == sorted(["outside", "report.json",
                                                   os.path.basename(link)])


def test_a_link_at_the_destination_is_replaced_not_written_through(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    target = tmp_path / "config.yaml"
    os.symlink(precious, target)
    write_text_atomic(target, "seed: 1\n")
    assert precious.read_text() == "keep" and not target.is_symlink()
    assert target.read_text() == "seed: 1\n"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "cache.pkl"
    write_bytes_atomic(target, pickle.dumps({"old": 1}))
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        with atomic_writer(target, binary=True) as handle:
            handle.write(b"half of a new file")
            pickle.dump(threading.Lock(), handle)             # cannot be pickled
    assert pickle.loads(target.read_bytes()) == {"old": 1}
    assert os.listdir(tmp_path) == ["cache.pkl"]


def test_when_every_temporary_name_is_taken_nothing_is_written(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    target.write_text("old")
    monkeypatch.setattr(atomic_write.secrets, "token_hex", lambda n: "ff")
    (tmp_path / f"a.json.tmp-{os.getpid()}").write_text("someone's")
    (tmp_path / f"a.json.tmp-{os.getpid()}-ff").write_text("someone else's")
    with pytest.raises(FileExistsError, match="a.json"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert (tmp_path / f"a.json.tmp-{os.getpid()}").read_text() == "someone's"


def test_save_config_never_writes_through_a_planted_link(tmp_path, monkeypatch):
    import yaml

    from kerasfer.config import load_config, save_config

    path = tmp_path / "config.yaml"
    precious, _ = _plant(tmp_path, path)
    config = load_config(None, ["train.epochs=7"])
    save_config(config, str(path))
    assert precious.read_text() == "keep" and load_config(str(path)) == config

    def broken_dump(*args, **kwargs):
        raise yaml.YAMLError("disk full")

    monkeypatch.setattr(yaml, "safe_dump", broken_dump)
    with pytest.raises(yaml.YAMLError):
        save_config(load_config(None, ["train.epochs=9"]), str(path))
    assert load_config(str(path)).train.epochs == 7           # the old config kept


def test_cue_hit_rate_report_never_writes_through_a_planted_link(tmp_path):
    import json

    from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler
    from kerasfer.training.cue_hit_rate_callback import CueHitRateCallback

    sampler = TemporalStochasticSoftmaxSampler([20], 8, 1.0, warmup_epochs=1,
                                               exploration_epochs=0)
    callback = CueHitRateCallback(sampler, [np.r_[np.ones(2), np.zeros(18)]], 8,
                                  out_dir=str(tmp_path))
    path = tmp_path / "cue_hit_rate.json"
    precious, _ = _plant(tmp_path, path)
    os.symlink(precious, f"{path}.tmp")                       # the name used before
    sampler.history[0] = np.array([0])
    callback.on_epoch_end(0, {})
    callback.on_train_end()
    assert precious.read_text() == "keep"
    assert json.loads(path.read_text())["epochs"][0]["cue_hit_rate"] == 1.0
