import json

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from kerasfer.data import folds
from kerasfer.errors import LabelError, SchemaError


def _imbalanced_records(num_videos=400, num_subjects=60, seed=1):
    rng = np.random.default_rng(seed)
    return [{"id": f"v{i:04d}", "label": int(rng.choice(7, p=[.3, .05, .1, .2, .15, .1, .1])),
             "subject": f"s{int(rng.integers(num_subjects)):02d}", "split": ""}
            for i in range(num_videos)]


def _balanced_records(num_subjects=20, num_classes=7):
    # The synthetic generator's layout: every subject has one video of every class.
    return [{"id": f"syn{i:05d}", "label": i % num_classes,
             "subject": f"S{(i // num_classes) % num_subjects:03d}", "split": ""}
            for i in range(num_subjects * num_classes)]


def _subjects(records, ids):
    by_id = {r["id"]: r["subject"] for r in records}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize("records", [_imbalanced_records(), _balanced_records()],
                         ids=["imbalanced", "balanced"])
def test_holdout_is_subject_independent_and_stratified(records):
    labels = np.array([r["label"] for r in records])
    totals = np.bincount(labels, minlength=7)
    for seed in range(4):
        split = folds.subject_holdout_split(records, validation_fraction=0.2, seed=seed)
        train, validation = split["train"], split["validation"]
        assert not _subjects(records, train) & _subjects(records, validation)
        assert sorted(train + validation) == sorted(r["id"] for r in records)
        assert split["test"] == []
        val_labels = np.array([r["label"] for r in folds.select_records(records, validation)])
        deviation = np.bincount(val_labels, minlength=7) - 0.2 * totals
        assert np.all(np.abs(deviation) <= 1.0 + 1e-9), deviation
        folds.check_subject_independent(records, split)


def test_holdout_differs_across_seeds_and_repeats():
    records = _imbalanced_records()
    splits = folds.repeated_subject_splits(records, seeds=range(5))
    assert len(splits) == 5
    assert len({tuple(sorted(s["validation"])) for s in splits}) >= 3
    again = folds.subject_holdout_split(records, seed=3)
    assert again["validation"] == splits[3]["validation"]


def test_check_subject_independent_catches_leak():
    records = _balanced_records(num_subjects=4)
    leaky = {"name": "bad", "train": [records[0]["id"]], "validation": [records[1]["id"]],
             "test": []}
    with pytest.raises(LabelError, match="both train and validation"):
        folds.check_subject_independent(records, leaky)


def test_leave_one_subject_out_covers_each_subject_once():
    records = _imbalanced_records(num_videos=120, num_subjects=25)
    splits = folds.leave_one_subject_out(records)
    subjects = sorted({r["subject"] for r in records})
    assert len(splits) == len(subjects)
    tested = [_subjects(records, s["test"]) for s in splits]
    assert all(len(t) == 1 for t in tested)
    assert sorted(next(iter(t)) for t in tested) == subjects
    for split in splits:
        assert not _subjects(records, split["train"]) & _subjects(records, split["test"])
        assert len(split["train"]) + len(split["test"]) == len(records)


def test_k_fold_covers_each_subject_once():
    records = _imbalanced_records(num_videos=500, num_subjects=87)
    splits = folds.subject_k_fold(records, 8, seed=0)
    assert len(splits) == 8
    tested_ids = [i for s in splits for i in s["test"]]
    assert sorted(tested_ids) == sorted(r["id"] for r in records)
    tested_subjects = [subject for s in splits for subject in _subjects(records, s["test"])]
    assert len(tested_subjects) == len(set(tested_subjects)) == 87
    sizes = [len(s["test"]) for s in splits]
    assert min(sizes) > 0.7 * len(records) / 8 and max(sizes) < 1.3 * len(records) / 8
    for split in splits:
        folds.check_subject_independent(records, split)


def test_k_fold_rejects_more_folds_than_subjects():
    with pytest.raises(ValueError, match="Received: num_folds=9"):
        folds.subject_k_fold(_balanced_records(num_subjects=4), 9)


def test_dataset_split_column_and_afew_protocol():
    records = _balanced_records(num_subjects=10)
    for record in records[:56]:
        record["split"] = "Train"
    for record in records[56:]:
        record["split"] = "Val"
    plain = folds.dataset_split(records)
    assert len(plain["train"]) == 56 and len(plain["validation"]) == 14 and not plain["test"]
    afew = folds.dataset_split(records, validation_fraction=0.2, seed=0)
    assert sorted(afew["test"]) == sorted(plain["validation"])
    assert sorted(afew["train"] + afew["validation"]) == sorted(plain["train"])
    assert not _subjects(records, afew["train"]) & _subjects(records, afew["validation"])
    records[0]["split"] = "holdout"
    with pytest.raises(LabelError, match="split 'holdout'"):
        folds.dataset_split(records)


def test_videos_without_subject_count_as_their_own_subject():
    records = [{"id": f"v{i}", "label": i % 2, "subject": "", "split": ""} for i in range(20)]
    split = folds.subject_holdout_split(records, seed=0)
    assert len(split["validation"]) == 4


def test_bad_records():
    with pytest.raises(LabelError, match="appears twice"):
        folds.subject_holdout_split([{"id": "a", "label": 0, "subject": "x"}] * 2)
    with pytest.raises(LabelError, match="no label"):
        folds.leave_one_subject_out([{"id": "a", "subject": "x"}])
    with pytest.raises(LabelError, match="at least 2 subjects"):
        folds.subject_holdout_split([{"id": str(i), "label": 0, "subject": "x"}
                                     for i in range(5)])
    with pytest.raises(ValueError, match="Received: validation_fraction=1.5"):
        folds.subject_holdout_split(_balanced_records(), validation_fraction=1.5)
    with pytest.raises(ValueError, match="Received: protocol=bogus"):
        folds.make_splits(_balanced_records(), "bogus")


def test_make_splits_protocols():
    records = _balanced_records(num_subjects=16)
    assert len(folds.make_splits(records, "holdout", seeds=(0, 1))) == 2
    assert len(folds.make_splits(records, "loso")) == 16
    assert len(folds.make_splits(records, "kfold", num_folds=8)) == 8


def test_json_round_trip(tmp_path):
    records = _imbalanced_records()
    splits = folds.repeated_subject_splits(records, seeds=(0, 1)) + folds.subject_k_fold(
        records, 4)
    path = folds.save_splits(str(tmp_path / "run" / "splits.json"), splits)
    assert folds.load_splits(path) == splits
    single = tmp_path / "one.json"
    folds.save_splits(str(single), splits[0])
    assert folds.load_splits(str(single)) == [splits[0]]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="bad.json: invalid JSON"):
        folds.load_splits(str(bad))
    bad.write_text(json.dumps({"splits": [{"train": []}]}))
    with pytest.raises(SchemaError, match="not a splits file"):
        folds.load_splits(str(bad))
    with pytest.raises(SchemaError, match="no splits file"):
        folds.load_splits(str(tmp_path / "missing.json"))


def test_class_weights_match_sklearn_balanced():
    records = _imbalanced_records()
    labels = np.array([r["label"] for r in records])
    expected = compute_class_weight("balanced", classes=np.arange(7), y=labels)
    weights = folds.class_weights(records)
    np.testing.assert_allclose([weights[c] for c in range(7)], expected)
    # Weighted class totals are equal: n_c * w_c = n / C.
    counts = np.bincount(labels, minlength=7)
    np.testing.assert_allclose(counts * np.array([weights[c] for c in range(7)]),
                               len(labels) / 7)
    split = folds.subject_holdout_split(records, seed=0)
    train_labels = [r["label"] for r in folds.select_records(records, split["train"])]
    np.testing.assert_allclose(
        [folds.class_weights(records, split["train"])[c] for c in range(7)],
        compute_class_weight("balanced", classes=np.arange(7), y=train_labels))
    padded = folds.class_weights(records[:10], num_classes=9)
    assert set(padded) == set(range(9)) and padded[8] == 1.0


@pytest.mark.parametrize("seed", range(12))
def test_holdout_on_few_subjects_never_empties_a_side(seed):
    # 4 subjects × 2 videos at 50 %: a random start can pick every subject; the search
    # must still end with subjects on both sides (this crashed with an empty argmin).
    records = _balanced_records(num_subjects=4, num_classes=2)
    split = folds.subject_holdout_split(records, validation_fraction=0.5, seed=seed)
    assert split["train"] and split["validation"]
    assert not _subjects(records, split["train"]) & _subjects(records, split["validation"])
