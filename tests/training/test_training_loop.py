"""The fit loop on a tiny synthetic dataset: planned clips, checkpoints, TensorBoard, NaN."""

import json
import os

import keras
import numpy as np
import pytest

from kerasfer.errors import TrainingError
from kerasfer.training.experiment import Experiment


@pytest.fixture(scope="module")
def trained(tiny_dataset_dir, tmp_path_factory):
    """A 3-epoch run: warm-up (epoch 0), exploration (1), exploitation (2)."""
    from kerasfer.config import load_config

    from training_helpers import tiny_overrides

    run_dir = tmp_path_factory.mktemp("loop") / "run"
    config = load_config(None, tiny_overrides(tiny_dataset_dir, run_dir, epochs=3))
    experiment = Experiment(config).setup()
    trained_starts = {}

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # Runs after the sampler callback: the starts recorded in the train step.
            trained_starts[epoch] = experiment.sampler_callback.last_starts.copy()

    experiment.callbacks.insert(1, Spy())
    experiment.fit()
    return experiment, trained_starts


@pytest.mark.slow
def test_clips_trained_on_are_exactly_the_planned_ones(trained):
    experiment, trained_starts = trained
    sampler = experiment.sampler
    assert sorted(sampler.history) == [0, 1, 2]
    for epoch, starts in trained_starts.items():
        np.testing.assert_array_equal(starts, sampler.history[epoch])
    n = sampler.num_starts
    np.testing.assert_array_equal(sampler.history[1], np.floor(n / 2).astype(np.int32))
    # Warm-up writes nothing; exploration and exploitation write one visit per video each.
    assert sampler.table.visits.sum() == 2 * sampler.num_videos
    assert np.all(sampler.table.values[sampler.table.visits > 0] != 0)


def test_run_directory_layout(trained):
    experiment, _ = trained
    run_dir = experiment.run_dir
    for name in ("config.yaml", "splits.json", "best_model.keras", "logs", "checkpoints"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "splits.json")) as handle:
        splits = json.load(handle)
    assert set(splits["train"]).isdisjoint(splits["validation"])
    latest = experiment.backup.latest_checkpoint()
    assert os.path.basename(latest) == "epoch-0003"        # after Keras' "Epoch 3/3"
    assert sorted(os.listdir(latest)) == ["model.weights.h5", "optimizer.npz", "sampler.npz",
                                          "state.json"]


def test_checkpoint_round_trip_restores_sampler_weights_and_optimizer(trained):
    experiment, _ = trained
    fresh = Experiment(experiment.config).setup()
    assert fresh.backup.restore(fresh.scoring_model) == 3
    np.testing.assert_array_equal(fresh.sampler.table.values, experiment.sampler.table.values)
    np.testing.assert_array_equal(fresh.sampler.table.visits, experiment.sampler.table.visits)
    assert fresh.sampler.rng.bit_generator.state == experiment.sampler.rng.bit_generator.state
    np.testing.assert_array_equal(fresh.sampler.plan(3), experiment.sampler.plan(3))
    for a, b in zip(fresh.network.weights, experiment.network.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.scoring_model.optimizer.iterations.numpy()) == int(
        experiment.scoring_model.optimizer.iterations.numpy()) > 0
    assert fresh.backup.finished(3)


def _events(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(directory, size_guidance={"tensors": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_tensorboard_scalars_and_images(trained):
    import tensorflow as tf

    experiment, _ = trained
    logs = os.path.join(experiment.run_dir, "logs")
    train = _events(os.path.join(logs, "train"))
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_learning_rate"):
        assert tag in train.Tags()["tensors"], train.Tags()
        assert [e.step for e in train.Tensors(tag)] == [0, 1, 2]
    assert "epoch_loss" in _events(os.path.join(logs, "validation")).Tags()["tensors"]
    sampler = _events(os.path.join(logs, "sampler"))
    tags = sampler.Tags()["tensors"]
    maps = [t for t in tags if t.startswith("sampling_map/")]
    assert len(maps) == 2
    assert "sampler/relative_start" in tags
    for tag in maps + ["sampler/relative_start"]:
        assert sampler.SummaryMetadata(tag).plugin_data.plugin_name == (
            "images" if tag in maps else "histograms")
    # The confusion counts come from the validation pass itself and equal a re-prediction
    # of the validation clips (3 per video) with the final weights.
    from kerasfer.training.confusion_matrix_callback import ConfusionMatrixCallback

    callback = [c for c in experiment.callbacks if isinstance(c, ConfusionMatrixCallback)][0]
    np.testing.assert_array_equal(callback.last_counts, callback.confusion_counts())
    assert callback.last_counts.sum() == 3 * len(experiment.validation_records)
    images = _events(os.path.join(logs, "validation_images"))
    assert images.SummaryMetadata("confusion_matrix").plugin_data.plugin_name == "images"
    event = images.Tensors("confusion_matrix")[-1]
    width, height, png = tf.make_ndarray(event.tensor_proto)[:3]
    decoded = tf.io.decode_png(png).numpy()
    assert decoded.shape[:2] == (int(height), int(width)) and decoded.std() > 0


@pytest.mark.slow
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_config):
    config = tiny_config(epochs=3)

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                for weight in self.model.network.trainable_weights:
                    weight.assign(np.full(weight.shape, np.nan, "float32"))

    experiment = Experiment(config, extra_callbacks=[Poison()]).setup()
    with pytest.raises(TrainingError) as info:
        experiment.fit()
    message = str(info.value)
    assert "\n" not in message
    # Epoch index 1 is Keras' "Epoch 2/3"; the backup after the first epoch is kept.
    assert "loss became nan" in message and "of epoch 2" in message and "epoch-0001" in message
    latest = experiment.backup.latest_checkpoint()
    assert os.path.basename(latest) == "epoch-0001"
    restored = Experiment(config).setup()
    assert restored.backup.restore(restored.scoring_model) == 1
    assert all(np.all(np.isfinite(w.numpy())) for w in restored.network.weights)


@pytest.mark.slow
def test_early_stopping_after_patience_epochs_without_improvement(tiny_config):
    # A learning rate of ~0 keeps the validation accuracy constant: no epoch after the first
    # improves, so patience 1 stops after epoch 1 and the stop is remembered on resume.
    config = tiny_config(epochs=6, **{"train.early_stopping_patience": 1,
                                      "train.learning_rate": 1e-12})
    experiment = Experiment(config).setup()
    experiment.fit()
    assert [h["epoch"] for h in experiment.backup.history] == [1, 2]
    assert experiment.backup.stopped_early and experiment.summary()["best_epoch"] == 1
    again = Experiment(config).setup()
    again.backup.restore(again.scoring_model)
    assert again.backup.finished(6)


@pytest.mark.slow
def test_random_segment_clips_train_every_video_once_with_the_uniform_sampler(tiny_config):
    # Whole-video clips have no start to plan: the callback still checks that every video is
    # trained on once per epoch, but not against planned starts (all clips start at 0).
    config = tiny_config(epochs=2, **{"data.duration": "random_segments",
                                      "sampler.kind": "uniform"})
    experiment = Experiment(config).setup()
    experiment.fit()
    callback = experiment.sampler_callback
    assert not callback.check_starts
    assert np.all(callback.last_starts == 0)
    assert [h["epoch"] for h in experiment.backup.history] == [1, 2]


@pytest.mark.slow
def test_best_epoch_is_one_based_for_users(tiny_config, capsys):
    # Keras prints "Epoch 1/2" for epoch index 0: the summary and the CLI line say 1 too.
    from kerasfer.fit import main

    config = tiny_config(epochs=2, **{"train.early_stopping_patience": 1,
                                      "train.learning_rate": 1e-12})
    from kerasfer.config import save_config

    save_config(config, str(config.run_dir) + ".yaml")
    assert main(["--config", str(config.run_dir) + ".yaml", "--no-evaluate"]) == 0
    assert "at epoch 1 (2 epochs)" in capsys.readouterr().out
    with open(os.path.join(config.run_dir, "training_summary.json")) as handle:
        assert json.load(handle)["best_epoch"] == 1
