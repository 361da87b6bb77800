"""Bad training input ends in one line naming the file and the fix (issue: 44 probes)."""

import json
import shutil

import pytest

from kerasfer.errors import ConfigError, LabelError
from kerasfer.fit import main
from training_helpers import fit_argv


def _manifest(data_dir):
    with open(data_dir / "manifest.jsonl") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_truncated_shard_names_the_shard_and_the_fix(tiny_dataset_dir, tmp_path, capsys):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_dataset_dir, data_dir)
    shard = data_dir / _manifest(data_dir)[0]["shard"]
    with open(shard, "r+b") as handle:
        handle.truncate(shard.stat().st_size * 3 // 4)
    argv = fit_argv(data_dir, tmp_path / "run", epochs=1)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "DataLossError" not in err
    assert err.startswith(f"error: {shard}: corrupt shard: "), err
    assert "truncated record" in err or "corrupted record" in err
    assert "rerun `python -m tfrecords_builder` with the same --source and --out and --overwrite" in err


def _splits_file(tmp_path, data_dir, train_labels, validation_labels):
    from kerasfer.data.folds import save_splits

    records = _manifest(data_dir)
    train = [r["id"] for r in records if r["label"] in train_labels]
    validation = [r["id"] for r in records
                  if r["label"] in validation_labels and r["id"] not in train]
    return save_splits(str(tmp_path / "splits.json"), {
        "name": "probe", "train": train, "validation": validation, "test": []})


def test_one_class_in_the_training_split_is_refused(tiny_dataset_dir, tmp_path, capsys):
    from pathlib import Path

    splits = _splits_file(tmp_path, Path(tiny_dataset_dir), {0}, {1, 2})
    argv = fit_argv(tiny_dataset_dir, tmp_path / "run", epochs=1,
                          **{"data.splits_file": splits})
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "the training split holds 1 class (Happy)" in err and "at least two" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_validation_split_missing_a_class_warns(tiny_config, tiny_dataset_dir, tmp_path, capsys):
    from pathlib import Path

    from kerasfer.training.experiment import Experiment

    splits = _splits_file(tmp_path, Path(tiny_dataset_dir), {0, 1}, {2, 0})
    # Training keeps classes 0 and 1; validation gets the class-2 videos only.
    Experiment(tiny_config(**{"data.splits_file": splits})).setup()
    err = capsys.readouterr().err
    assert "warning:" in err and "validation split has no video of Happy, Sad" in err


def test_check_split_classes_direct():
    from kerasfer.data.folds import check_split_classes

    records = [{"label": label} for label in (0, 1, 1)]
    assert check_split_classes(records, records[:1], ["a", "b", "c"]) == ["b"]
    with pytest.raises(LabelError, match="holds 0 class"):
        check_split_classes([], records, ["a", "b"])


def test_unknown_head_layer_is_an_error_at_start(tiny_config):
    from kerasfer.training.experiment import Experiment

    # With differential learning rates (the reader of model.head_layers) every name must
    # match a layer of the model (c3d's classifier is fc8).
    config = tiny_config(**{"model.head_layers": "[fc8, classifier]",
                            "train.backbone_learning_rate": 0.001})
    with pytest.raises(ConfigError) as info:
        Experiment(config).setup()
    message = str(info.value)
    assert "model.head_layers: ['classifier'] match no layer of model 'c3d'" in message
    assert "'fc8'" in message.split("last layers are", 1)[1]


def test_default_head_layers_match_the_default_model():
    import keras

    from kerasfer.config import ExperimentConfig
    from kerasfer.training.experiment import build_network
    from kerasfer.training.optimizers import check_head_layers, head_variable_paths

    config = ExperimentConfig()
    keras.utils.set_random_seed(0)
    network = build_network(config, 3)
    check_head_layers(network, config.model.head_layers)
    assert head_variable_paths(network.trainable_variables, config.model.head_layers)
