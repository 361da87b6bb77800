"""Distribution strategy and numeric switches (mixed precision, XLA, seeds).

* `TF_CONFIG` set in the environment → `tf.distribute.MultiWorkerMirroredStrategy` (one
  process per worker, every worker runs the same command; see README "Multi-GPU").
* `devices` listed (e.g. `["/gpu:0", "/gpu:1"]`, or `["/cpu:0", "/cpu:1"]` after
  `logical_cpu_devices=2`) → `tf.distribute.MirroredStrategy(devices)`.
* otherwise more than one GPU → `MirroredStrategy()` over all of them; else the default
  (single-device) strategy.

`logical_cpu_devices` splits the CPU into that many logical devices; it must run before
TensorFlow initialises its devices (first thing in a process), which is how the tests and a
laptop can exercise MirroredStrategy without GPUs.

Example:

>>> strategy = make_strategy(devices=["/cpu:0", "/cpu:1"], logical_cpu_devices=2)
>>> strategy.num_replicas_in_sync
2
"""

from __future__ import annotations

import json
import os
import random

import numpy as np

from kerasfer.errors import ConfigError


def split_cpu(logical_cpu_devices):
    """Splits the first physical CPU into `logical_cpu_devices` logical devices."""
    import tensorflow as tf

    if logical_cpu_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current and len(current) == logical_cpu_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * int(logical_cpu_devices))
    except RuntimeError as exc:
        raise ConfigError("train.logical_cpu_devices", "TensorFlow devices were already "
                          "initialised", "set it before any TensorFlow op runs (fresh "
                          "process)") from exc


def make_strategy(devices=(), logical_cpu_devices=0):
    """Returns the `tf.distribute.Strategy` for this process (see module docstring)."""
    import tensorflow as tf

    split_cpu(logical_cpu_devices)
    if os.environ.get("TF_CONFIG"):
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise ConfigError("TF_CONFIG", f"not valid JSON ({exc.msg})",
                              'set it like {"cluster": {"worker": ["host:port", ...]}, '
                              '"task": {"type": "worker", "index": 0}}') from exc
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices:
        def short(name):
            return name.lower().split("device:")[-1].lstrip("/")

        available = {short(d.name) for d in tf.config.list_logical_devices()}
        for device in devices:
            if short(device) not in available:
                raise ConfigError("train.devices", f"device {device!r} not available "
                                  f"(have {sorted(available)})",
                                  "list existing devices, or set train.logical_cpu_devices")
        return tf.distribute.MirroredStrategy(list(devices))
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def worker_task():
    """Returns `(task type, index, is_chief)` of this process from `TF_CONFIG`.

    The chief is the `"chief"` task, or worker 0 when the cluster has no chief (TensorFlow's
    multi-worker Keras convention). Without `TF_CONFIG`: `("worker", 0, True)`.
    """
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError:
        tf_config = {}
    task = tf_config.get("task", {})
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = "chief" in tf_config.get("cluster", {})
    return kind, index, kind == "chief" or (not has_chief and kind == "worker" and index == 0)


def set_seeds(seed):
    """Seeds Python, NumPy, TensorFlow and Keras."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def set_mixed_precision(enabled):
    """`mixed_float16` on GPU, `mixed_bfloat16` on CPU-only machines, or float32."""
    import keras
    import tensorflow as tf

    if not enabled:
        keras.mixed_precision.set_global_policy("float32")
        return "float32"
    policy = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy)
    return policy
