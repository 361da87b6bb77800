"""The split-protocol registry behind `data.split`: every protocol, the config's choices."""

import pytest

from kerasfer.config import DataConfig, choices, load_config
from kerasfer.data import folds
from kerasfer.data.splits import make_split, register_split_protocol, split_protocol_names
from kerasfer.errors import ConfigError


def _records(num_subjects=10, num_classes=3):
    # Every subject shows every class twice; the dataset's own split is by subject.
    sides = {8: "test", 9: "test", 6: "val", 7: "val"}
    return [{"id": f"v{i:03d}", "label": i % num_classes,
             "subject": f"S{(i // num_classes) % num_subjects:02d}",
             "split": sides.get((i // num_classes) % num_subjects, "train")}
            for i in range(num_subjects * num_classes * 2)]


@pytest.mark.parametrize("name", ["stratified", "dataset", "given", "loso", "kfold"])
def test_every_builtin_protocol_is_subject_independent(name):
    records = _records()
    split = make_split(name, records, DataConfig(split=name, fold=1, num_folds=5), seed=0)
    assert split["train"] and split["validation"]
    folds.check_subject_independent(records, split)
    ids = split["train"] + split["validation"] + split["test"]
    assert len(ids) == len(set(ids))


def test_config_choices_come_from_the_registry():
    @register_split_protocol("every_other_subject")
    def every_other_subject(records, data_config, seed):
        return folds.subject_holdout_split(records, validation_fraction=0.5, seed=seed)

    assert "every_other_subject" in split_protocol_names()
    assert "every_other_subject" in choices("data.split")
    assert load_config(None, ["data.split=every_other_subject"]).data.split == \
        "every_other_subject"
    with pytest.raises(ConfigError, match="not one of stratified, dataset, given, loso, kfold"):
        load_config(None, ["data.split=bogus"])


def test_fold_out_of_range_names_the_key():
    with pytest.raises(ConfigError, match="data.fold: fold 9 out of range"):
        make_split("kfold", _records(), DataConfig(fold=9, num_folds=5))
