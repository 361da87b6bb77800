"""The split protocols of Ayral (2021) master's thesis and its datasets, registered by name.

* `stratified`: subject-independent, class-stratified holdout of `validation_fraction`
  (thesis Section 2.2.2); the dataset's own "test" videos are kept for testing.
* `dataset`: the AFEW protocol: the dataset's validation videos become the test side and a
  validation subset is held out of its training videos.
* `given`: the dataset's split column as is.
* `loso` / `kfold`: fold `data.fold` of leave-one-subject-out (UNBC-McMaster) or
  subject k-fold (BioVid, `data.num_folds`) is the test side, and a holdout of the remaining
  subjects is the validation side (early stopping).
"""

from __future__ import annotations

from kerasfer.data import folds
from kerasfer.data.splits.split_protocol_registry import register_split_protocol
from kerasfer.errors import ConfigError


@register_split_protocol("stratified")
def stratified(records, data_config, seed):
    test = [r for r in records if str(r.get("split", "")).lower() in ("test", "testing")]
    pool = [r for r in records if r not in test]
    split = folds.subject_holdout_split(pool, validation_fraction=data_config.validation_fraction,
                                        seed=seed)
    split["test"] = [r["id"] for r in test]
    return split


@register_split_protocol("dataset")
def dataset(records, data_config, seed):
    return folds.dataset_split(records, validation_fraction=data_config.validation_fraction,
                               seed=seed)


@register_split_protocol("given")
def given(records, data_config, seed):
    return folds.dataset_split(records)


def _fold_with_holdout(records, all_folds, data_config, seed):
    if not 0 <= data_config.fold < len(all_folds):
        raise ConfigError("data.fold", f"fold {data_config.fold} out of range "
                          f"[0, {len(all_folds)})", "pick an existing fold")
    split = all_folds[data_config.fold]
    training = folds.select_records(records, split["train"])
    inner = folds.subject_holdout_split(training,
                                        validation_fraction=data_config.validation_fraction,
                                        seed=seed)
    return dict(split, train=inner["train"], validation=inner["validation"])


@register_split_protocol("loso")
def loso(records, data_config, seed):
    return _fold_with_holdout(records, folds.leave_one_subject_out(records), data_config, seed)


@register_split_protocol("kfold")
def kfold(records, data_config, seed):
    return _fold_with_holdout(records, folds.subject_k_fold(records, data_config.num_folds,
                                                            seed=seed), data_config, seed)
