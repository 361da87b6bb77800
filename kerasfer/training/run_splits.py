"""The train / validation / test split of a run: made once, saved, reused on resume.

`load_or_make_splits` decides a run's split from `data.splits_file` (a fold of a saved
list), an earlier `RUN/splits.json` (resume), or the split protocol `data.split`
(`kerasfer.data.splits` registry, subject-independent), and saves it as
`RUN/splits.json`.

Example:

>>> splits = load_or_make_splits("runs/x", DatasetIndex.load("tfr"), config)
>>> sorted(splits)
['test', 'train', 'validation']
"""

from __future__ import annotations

import json
import os

from kerasfer import schema
from kerasfer.data.folds import load_splits
from kerasfer.data.splits import make_split
from kerasfer.errors import ConfigError


def make_splits(index, data_config, seed):
    """Returns the split dict of protocol `data.split` (`kerasfer.data.splits` registry)."""
    return make_split(data_config.split, index.records, data_config, seed)


def load_or_make_splits(run_dir, index, config, write=True):
    """Reuses `run_dir/splits.json` (resume) or makes and saves the split (`write`)."""
    path = os.path.join(run_dir, "splits.json")
    if config.data.splits_file:
        path_in = config.data.splits_file
        if not os.path.exists(path_in):
            raise ConfigError(path_in, "splits file not found", "check data.splits_file")
        candidates = load_splits(path_in)
        if not 0 <= config.data.fold < len(candidates):
            raise ConfigError(path_in, f"data.fold={config.data.fold} but the file has "
                              f"{len(candidates)} splits", "pick an existing fold")
        splits = candidates[config.data.fold]
    elif os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            splits = json.load(handle)
    else:
        splits = make_splits(index, config.data, config.seed)
    for name in ("train", "validation"):
        if not splits.get(name):
            raise ConfigError(path, f"the {name} split is empty",
                              "use more videos or another data.split")
    if write:
        schema.write_json_atomic(path, splits)
    return splits
