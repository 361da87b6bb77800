"""Subject-independent train / validation / test splits and class weights.

Protocols of the thesis (Ayral 2021):

- AFEW (Sec. 2.2.2): the dataset's own Train / Val split, with Train divided 80 % / 20 %
  into training and validation subsets by subject (actors never on both sides), stratified
  by class; the original Val set becomes the test set: `dataset_split(records,
  validation_fraction=0.2)`. `subject_holdout_split` alone gives the 80/20 division and
  `repeated_subject_splits` repeats it over seeds.
- UNBC-McMaster: leave-one-subject-out cross-validation (25 subjects):
  `leave_one_subject_out`.
- BioVid: 8-fold subject-independent cross-validation: `subject_k_fold(records, 8)`.

Every function takes manifest records (`kerasfer.schema.read_manifest`): dicts with at
least "id", "label", "subject" and, for `dataset_split`, "split". A record without a subject
counts as its own subject. A split is a JSON-ready dict `{"name", "protocol", "seed",
"train", "validation", "test"}` whose sides are lists of video ids in record order;
`save_splits` / `load_splits` store a list of them with the run. The searches that place
the subjects are in `kerasfer.data.subject_assignment`.

Example:

>>> records = kerasfer.schema.read_manifest("synthetic_out")
>>> split = subject_holdout_split(records, validation_fraction=0.2, seed=0)
>>> weights = class_weights(records, split["train"])
"""

from __future__ import annotations

import json
import os

import numpy as np

from kerasfer.data.subject_assignment import deal_subjects_to_folds
from kerasfer.data.subject_assignment import holdout_subjects
from kerasfer.errors import LabelError, SchemaError

SIDES = ("train", "validation", "test")
SPLITS_VERSION = 1
_SPLIT_ALIASES = {
    "train": "train", "training": "train", "trainval": "train",
    "val": "validation", "valid": "validation", "validation": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


def _check_records(records):
    records = list(records)
    if not records:
        raise LabelError(None, "no videos to split", "pass the records of a non-empty manifest")
    seen = set()
    for position, record in enumerate(records):
        missing = [key for key in ("id", "label") if key not in record]
        if missing:
            raise LabelError(None, f"record {position} has no {', '.join(missing)}",
                             "pass records read with kerasfer.schema.read_manifest")
        if record["id"] in seen:
            raise LabelError(None, f"video id {record['id']!r} appears twice",
                             "give every video a unique id")
        seen.add(record["id"])
    return records


def _subject(record):
    subject = str(record.get("subject", "") or "")
    return subject if subject else f"video:{record['id']}"


def _subject_table(records):
    """Returns (subjects, per-subject class counts `(S, C)`, subject index per record)."""
    subjects = sorted({_subject(record) for record in records})
    index = {subject: position for position, subject in enumerate(subjects)}
    labels = sorted({int(record["label"]) for record in records})
    label_index = {label: position for position, label in enumerate(labels)}
    counts = np.zeros((len(subjects), len(labels)))
    owner = np.array([index[_subject(record)] for record in records])
    for record, subject in zip(records, owner):
        counts[subject, label_index[int(record["label"])]] += 1
    return subjects, counts, owner


def _make_split(name, protocol, seed, records, sides):
    split = {"name": name, "protocol": protocol, "seed": seed}
    for side in SIDES:
        split[side] = [str(record["id"]) for record, s in zip(records, sides) if s == side]
    return split


def subject_holdout_split(records, *, validation_fraction=0.2, seed=0, restarts=16,
                          name=None):
    """Subject-independent train/validation split stratified by class (thesis Sec. 2.2.2).

    Searches (local moves and swaps of whole subjects from a seeded random start, restarted
    until a solution is found) for a set of validation subjects whose per-class video
    counts are within ±1 of `validation_fraction` × the class count, descending the
    squared error. Every subject lands on exactly one side. When the subjects make ±1
    impossible (e.g. one subject holds most of a class) the closest split found is
    returned.

    Args:
        records: list of dict. Manifest records with "id", "label", "subject".
        validation_fraction: float. Share of each class in validation, in (0, 1).
            Defaults to 0.2.
        seed: int. Seed of the search; different seeds give different splits.
            Defaults to 0.
        restarts: int. Random restarts of the search. Defaults to 16.
        name: str or None. Split name. Defaults to "holdout-<seed>".

    Returns:
        dict split with "train" and "validation" ids ("test" empty).
    """
    if not 0.0 < float(validation_fraction) < 1.0:
        raise ValueError("`validation_fraction` must be in (0, 1). "
                         f"Received: validation_fraction={validation_fraction}")
    records = _check_records(records)
    subjects, counts, owner = _subject_table(records)
    if len(subjects) < 2:
        raise LabelError(None, "a subject-independent split needs at least 2 subjects, got "
                         f"{len(subjects)}", "add subjects or use the dataset's own split")
    chosen = holdout_subjects(counts, float(validation_fraction),
                              np.random.default_rng(seed), int(restarts))
    sides = ["validation" if chosen[s] else "train" for s in owner]
    return _make_split(name or f"holdout-{seed}", "holdout", int(seed), records, sides)


def repeated_subject_splits(records, *, seeds=(0, 1, 2, 3, 4), validation_fraction=0.2):
    """`subject_holdout_split` once per seed; returns a list of splits."""
    return [subject_holdout_split(records, validation_fraction=validation_fraction,
                                  seed=int(seed)) for seed in seeds]


def leave_one_subject_out(records):
    """Leave-one-subject-out cross-validation (UNBC-McMaster protocol).

    Returns:
        list of splits, one per subject in sorted order: "test" holds that subject's
        videos, "train" all the others.
    """
    records = _check_records(records)
    subjects, _, owner = _subject_table(records)
    splits = []
    for index, subject in enumerate(subjects):
        sides = ["test" if s == index else "train" for s in owner]
        splits.append(_make_split(f"loso-{subject}", "loso", None, records, sides))
    return splits


def subject_k_fold(records, num_folds=8, *, seed=0):
    """K-fold subject-independent cross-validation (BioVid: 8 folds).

    Subjects are dealt to folds largest first (ties in a seeded random order), each to the
    fold whose per-class counts stay closest to 1/K of every class.

    Args:
        records: list of dict. Manifest records.
        num_folds: int. K. Defaults to 8.
        seed: int. Seed of the tie-breaking order. Defaults to 0.

    Returns:
        list of K splits: fold k has its subjects in "test" and all others in "train";
        every subject is in exactly one test side.
    """
    records = _check_records(records)
    subjects, counts, owner = _subject_table(records)
    if int(num_folds) < 2 or int(num_folds) > len(subjects):
        raise ValueError(f"`num_folds` must be in [2, number of subjects = {len(subjects)}]. "
                         f"Received: num_folds={num_folds}")
    num_folds = int(num_folds)
    fold_of = deal_subjects_to_folds(counts, num_folds, np.random.default_rng(seed))
    splits = []
    for fold in range(num_folds):
        sides = ["test" if fold_of[s] == fold else "train" for s in owner]
        splits.append(_make_split(f"fold-{fold}", "kfold", int(seed), records, sides))
    return splits


def dataset_split(records, *, validation_fraction=None, seed=0):
    """The dataset's own split column ("train" / "val" / "test" and common spellings).

    Args:
        records: list of dict. Manifest records with "split".
        validation_fraction: float or None. When set (AFEW protocol, thesis Sec. 2.2.2), the
            dataset's validation videos join the test side and a subject-independent,
            class-stratified validation subset of this size is taken from its training
            videos. Defaults to None (use the column as is).
        seed: int. Seed of that validation subset. Defaults to 0.

    Returns:
        dict split.
    """
    records = _check_records(records)
    sides = []
    for record in records:
        value = str(record.get("split", "") or "").strip().lower()
        if value not in _SPLIT_ALIASES:
            raise LabelError(None, f"video {record['id']!r} has split {value!r}, not one of "
                             "train/val/test", "use another protocol (holdout, loso, kfold) "
                             "or fix the split column and rebuild")
        sides.append(_SPLIT_ALIASES[value])
    if validation_fraction is None:
        return _make_split("dataset", "dataset", None, records, sides)
    sides = ["test" if side == "validation" else side for side in sides]
    training = [record for record, side in zip(records, sides) if side == "train"]
    inner = subject_holdout_split(training, validation_fraction=validation_fraction, seed=seed)
    moved = set(inner["validation"])
    sides = ["validation" if str(record["id"]) in moved else side
             for record, side in zip(records, sides)]
    return _make_split(f"dataset-holdout-{seed}", "dataset", int(seed), records, sides)


def make_splits(records, protocol="holdout", *, seeds=(0,), validation_fraction=0.2,
                num_folds=8):
    """Splits of a named protocol: "holdout" (one per seed), "loso", "kfold", "dataset".

    Returns:
        list of dict splits.
    """
    if protocol == "holdout":
        return repeated_subject_splits(records, seeds=seeds,
                                       validation_fraction=validation_fraction)
    if protocol == "loso":
        return leave_one_subject_out(records)
    if protocol == "kfold":
        return subject_k_fold(records, num_folds, seed=int(seeds[0]))
    if protocol == "dataset":
        return [dataset_split(records, validation_fraction=validation_fraction,
                              seed=int(seed)) for seed in seeds]
    raise ValueError("`protocol` must be one of holdout, loso, kfold, dataset. "
                     f"Received: protocol={protocol}")


def select_records(records, ids):
    """Returns the records whose "id" is in `ids`, in record order."""
    wanted = {str(i) for i in ids}
    return [record for record in records if str(record["id"]) in wanted]


def check_subject_independent(records, split):
    """Raises `LabelError` if a subject appears on two sides of `split`."""
    side_of = {}
    by_id = {str(record["id"]): record for record in records}
    for side in SIDES:
        for video_id in split.get(side, []):
            subject = _subject(by_id[video_id])
            if side_of.setdefault(subject, side) != side:
                raise LabelError(None, f"subject {subject!r} is in both {side_of[subject]} and "
                                 f"{side} of split {split.get('name')!r}",
                                 "make splits with kerasfer.data.folds")


def class_weights(records, ids=None, num_classes=None):
    """Balanced class weights `n / (C · n_c)` (as scikit-learn's "balanced").

    Args:
        records: list of dict. Manifest records.
        ids: iterable of str or None. Only these videos (e.g. `split["train"]`); all when
            None. Defaults to None.
        num_classes: int or None. Classes to return; defaults to max label + 1.

    Returns:
        dict `{class index: weight}` for `keras.Model.fit(class_weight=...)`; C counts the
        classes present, and absent classes get 1.0.
    """
    chosen = records if ids is None else select_records(records, ids)
    labels = np.array([int(record["label"]) for record in chosen if int(record["label"]) >= 0])
    if labels.size == 0:
        raise LabelError(None, "no labelled videos to weight", "check the split is not empty")
    num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    counts = np.bincount(labels, minlength=num_classes)
    present = int((counts > 0).sum())
    return {c: (float(labels.size / (present * counts[c])) if counts[c] else 1.0)
            for c in range(num_classes)}


def save_splits(path, splits):
    """Writes a list of splits (or one split) as JSON, atomically."""
    from kerasfer.schema import write_json_atomic

    splits = [splits] if isinstance(splits, dict) else list(splits)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    write_json_atomic(path, {"version": SPLITS_VERSION, "splits": splits})
    return path


def load_splits(path):
    """Reads splits written by `save_splits`; returns a list of split dicts."""
    if not os.path.exists(path):
        raise SchemaError(path, "no splits file", "write it with kerasfer.data.folds.save_splits")
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except json.JSONDecodeError as exc:
        raise SchemaError(path, f"invalid JSON ({exc.msg})",
                          "delete the file and make the splits again") from exc
    splits = payload.get("splits") if isinstance(payload, dict) else None
    if not isinstance(splits, list) or not all(
            isinstance(s, dict) and all(isinstance(s.get(side), list) for side in SIDES)
            for s in splits):
        raise SchemaError(path, "not a splits file (needs a list of splits with train, "
                          "validation and test lists)",
                          "write it with kerasfer.data.folds.save_splits")
    return splits


def check_split_classes(train_records, validation_records, class_names, source=None):
    """Refuses a training side with fewer than two classes; lists validation's missing ones.

    A classifier trained on one class reaches loss 0 and accuracy 1 and learns nothing.

    Args:
        train_records: list of dict. Manifest records of the training side.
        validation_records: list of dict. Manifest records of the validation side.
        class_names: list of str. The dataset's classes (index = label).
        source: str or None. What to name in the error (e.g. the splits file). Defaults
            to None.

    Returns:
        list of str, the class names with no validation video (a warning for the caller).

    Raises:
        LabelError: the training side holds fewer than two classes.
    """
    names = list(class_names)

    def present(records):
        return sorted({int(r["label"]) for r in records if int(r["label"]) >= 0})

    trained = present(train_records)
    if len(trained) < 2:
        held = ", ".join(names[c] if c < len(names) else str(c) for c in trained) or "none"
        raise LabelError(source, f"the training split holds {len(trained)} class ({held}) in "
                         f"{len(train_records)} videos; a classifier needs at least two",
                         "add videos of other classes, check the labels (classes.json, the "
                         "builder's label source) or choose another data.split")
    validated = set(present(validation_records))
    return [name for c, name in enumerate(names) if c in trained and c not in validated]
