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
    """True when the cache holds the finished dataset of these settings (no generation needed).

    "Finished" is what the generator's own records say (`write_synthetic_dataset`):
    `synthetic.json` has `"complete": true`, the current generator version and these
    settings, and `manifest.jsonl` exists. A generation that was killed (or is still running
    in another process) has `"complete": false` until its last file is in place, so its
    partial directory is never taken as ready, even when its manifest is already written.

    Args:
        synthetic_config: `kerasfer.config.SyntheticConfig`.
    """
    from kerasfer.data.synthetic.dataset_writer import GENERATOR_VERSION, PARAMETERS_FILENAME

    out_dir = synthetic_cache_dir(synthetic_config)
    try:
        with open(os.path.join(out_dir, PARAMETERS_FILENAME), encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return False
    if not isinstance(stored, dict) or stored.get("complete") is not True:
        return False
    parameters = stored.get("parameters")
    expected = {
        "generator_version": GENERATOR_VERSION, "write_mp4": False,
        "num_videos": int(synthetic_config.num_videos),
        "num_subjects": int(synthetic_config.num_subjects),
        "class_names": [str(name) for name in synthetic_config.class_names],
        "image_size": int(synthetic_config.image_size),
        "min_frames": int(synthetic_config.min_frames),
        "max_frames": int(synthetic_config.max_frames),
        "apex_fraction": float(synthetic_config.apex_fraction),
        "seed": int(synthetic_config.seed),
        "genuine_posed": bool(synthetic_config.genuine_posed),
    }
    return (isinstance(parameters, dict)
            and all(parameters.get(key) == value for key, value in expected.items())
            and os.path.exists(os.path.join(out_dir, schema.MANIFEST_FILENAME)))


def prepare_data_dir(config, progress=False):
    """Returns `data.dir`, generating the synthetic dataset into its cache when empty.

    Safe when several processes (the workers of a `MultiWorkerMirroredStrategy` run, two
    `kerasfer.fit` started together) prepare the same cache at once: `write_synthetic_dataset`
    claims the directory, then serialises the writers with an exclusive `fcntl.flock` on
    `.synthetic.lock` inside it. The first one generates; the others wait on the lock and then
    find the dataset complete and reuse it. A generator killed half-way leaves
    `"complete": false` in `synthetic.json`, so the next call deletes only the files those
    records list and generates again (`synthetic_cache_ready` is False meanwhile).

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
