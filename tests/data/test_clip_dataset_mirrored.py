"""training_dataset as the input of a MirroredStrategy fit over 2 logical CPU devices.

Runs in a subprocess: logical devices must be configured before TensorFlow initialises
its devices, which the other tests of this session have already done.
"""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from kerasfer.data import ClipPlan, DatasetIndex, training_dataset
    from kerasfer.data.indexed_frames import write_indexed_frames_dataset

    write_indexed_frames_dataset(sys.argv[1], [12, 14, 16, 13, 15, 12, 17, 18], crop_size=16)
    index = DatasetIndex.load(sys.argv[1])
    records = index.select()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        plan = ClipPlan(len(records))
    dataset = training_dataset(index, records, clip_length=4, batch_size=4, plan=plan,
                               image_size=8, drop_remainder=True, seed=1)
    result = {"replicas": strategy.num_replicas_in_sync}

    plan.assign(np.arange(len(records), dtype=np.int32))
    per_replica = []
    for batch in strategy.experimental_distribute_dataset(dataset):
        for clips, videos, starts in zip(
                strategy.experimental_local_results(batch["clip"]),
                strategy.experimental_local_results(batch["video_index"]),
                strategy.experimental_local_results(batch["start"])):
            per_replica.append([clips.shape[0], videos.numpy().tolist(), starts.numpy().tolist()])
    result["per_replica"] = per_replica

    with strategy.scope():
        model = keras.Sequential([keras.Input((4, 8, 8, 3)), keras.layers.GlobalAveragePooling3D(),
                                  keras.layers.Dense(1)])
        model.compile("sgd", "mse", metrics=[keras.metrics.MeanMetricWrapper(
            lambda y_true, y_pred: y_true, name="mean_start")])

    class PlanEachEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            plan.assign(np.full(len(records), epoch + 2, np.int32))

    history = model.fit(dataset.map(lambda b: (b["clip"], tf.cast(b["start"], tf.float32))),
                        epochs=3, callbacks=[PlanEachEpoch()], verbose=0)
    result["mean_start"] = history.history["mean_start"]
    print("RESULT" + json.dumps(result))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_splits_global_batch_and_honours_plan(tmp_path):
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "ds")],
                               capture_output=True, text=True, timeout=300)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, completed.stderr[-3000:]
    result = json.loads(lines[0][len("RESULT"):])
    assert result["replicas"] == 2
    # Global batch 4 split in 2 × 2; every video once, at its planned start.
    assert all(size == 2 for size, _, _ in result["per_replica"])
    videos = [v for _, vs, _ in result["per_replica"] for v in vs]
    starts = [s for _, _, ss in result["per_replica"] for s in ss]
    assert sorted(videos) == list(range(8))
    assert all(start == video for video, start in zip(videos, starts))
    # The plan assigned in on_epoch_begin is the one each fit epoch trained on.
    assert result["mean_start"] == [2.0, 3.0, 4.0]
