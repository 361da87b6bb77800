"""The cache of synthetic datasets that `kerasfer.fit` trains on when `data.dir` is empty.

The dataset is generated deterministically from `config.data.synthetic`, into
`$KERASFER_CACHE/synthetic-<hash of the settings>` (default `~/.cache/kerasfer/`), once;
later runs and `kerasfer.evaluate` find it there (or regenerate it if the cache was cleared).

Example:

>>> data_dir = prepare_data_dir(load_config(None))     # generates on first use
>>> synthetic_cache_dir(load_config(None).data.synthetic)
'/root/.cache/kerasfer/synthetic-…'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from kerasfer import schema


def synthetic_cache_dir(synthetic_config):
    """Returns the cache directory of a synthetic dataset (`$KERASFER_CACHE` or ~/.cache).

    Args:
        synthetic_config: `kerasfer.config.SyntheticConfig`.
    """
    root = os.environ.get("KERASFER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "kerasfer")
    settings = dataclasses.asdict(synthetic_config)
    if not settings.get("genuine_posed"):
        settings.pop("genuine_posed", None)  # keeps the cache keys of earlier datasets
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    return os.path.join(root, f"synthetic-{key.hexdigest()[:12]}")


def synthetic_cache_ready(synthetic_config):
    """True when the cache already holds the finished dataset (no generation needed)."""
    out_dir = synthetic_cache_dir(synthetic_config)
    return (os.path.exists(os.path.join(out_dir, schema.MANIFEST_FILENAME))
            and os.path.exists(os.path.join(out_dir, "synthetic.json")))


def prepare_data_dir(config, progress=False):
    """Returns `data.dir`, generating the synthetic dataset into its cache when empty.

    Args:
        config: `kerasfer.config.ExperimentConfig`.
        progress: bool. Show a progress bar while generating. Defaults to False.
    """
    if config.data.dir:
        return config.data.dir
    from kerasfer.data.synthetic.dataset_writer import write_synthetic_dataset

    synthetic = config.data.synthetic
    return write_synthetic_dataset(
        synthetic_cache_dir(synthetic), num_videos=synthetic.num_videos,
        num_subjects=synthetic.num_subjects, class_names=tuple(synthetic.class_names),
        image_size=synthetic.image_size, min_frames=synthetic.min_frames,
        max_frames=synthetic.max_frames, apex_fraction=synthetic.apex_fraction,
        seed=synthetic.seed, genuine_posed=synthetic.genuine_posed, progress=progress)
