"""ClipScoringModel: scores are taken before the gradient step, from the right forward pass."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasfer.training.clip_scoring_model import ClipScoringModel

NUM_VIDEOS, FRAMES, SIZE, CLASSES = 6, 2, 4, 3


def _network():
    inputs = keras.Input((FRAMES, SIZE, SIZE, 1))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="classifier")(x))


def _batches():
    rng = np.random.default_rng(0)
    data = {
        "clip": rng.normal(size=(NUM_VIDEOS, FRAMES, SIZE, SIZE, 1)).astype("float32"),
        "clean_clip": rng.normal(size=(NUM_VIDEOS, FRAMES, SIZE, SIZE, 1)).astype("float32"),
        "label": np.array([0, 1, 2, 0, 1, 2], np.int32),
        "video_index": np.array([4, 0, 5, 1, 3, 2], np.int32),
        "start": np.array([7, 1, 0, 3, 2, 9], np.int32),
    }
    return data, ClipScoringModel.prepare(tf.data.Dataset.from_tensor_slices(data).batch(NUM_VIDEOS))


@pytest.mark.parametrize("score_source, key", [("clean", "clean_clip"), ("training_pass", "clip")])
def test_scores_are_target_logits_before_the_gradient_step(score_source, key):
    keras.utils.set_random_seed(1)
    network = _network()
    model = ClipScoringModel(network, NUM_VIDEOS, score_source=score_source)
    model.compile(optimizer=keras.optimizers.SGD(5.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data, dataset = _batches()
    before = network(data[key]).numpy()[np.arange(NUM_VIDEOS), data["label"]]
    model.reset_score_buffers()
    model.fit(dataset, epochs=1, verbose=0)
    scores, starts, seen = model.read_score_buffers()
    order = data["video_index"]
    np.testing.assert_allclose(scores[order], before, rtol=1e-5, atol=1e-6)
    after = network(data[key]).numpy()[np.arange(NUM_VIDEOS), data["label"]]
    assert np.abs(after - before).max() > 1e-2     # the step changed the model: order matters
    np.testing.assert_array_equal(starts[order], data["start"])
    np.testing.assert_array_equal(seen, np.ones(NUM_VIDEOS))
    model.reset_score_buffers()
    assert not np.any(model.read_score_buffers()[2])


def test_bad_arguments():
    with pytest.raises(ValueError, match="score_source"):
        ClipScoringModel(_network(), 3, score_source="noisy")
    with pytest.raises(ValueError, match="num_videos"):
        ClipScoringModel(_network(), 0)


def test_class_weights_scale_the_loss():
    data, dataset = _batches()
    losses = []
    for weights in (None, [2.0, 2.0, 2.0]):
        keras.utils.set_random_seed(1)
        model = ClipScoringModel(_network(), NUM_VIDEOS, class_weights=weights)
        model.compile(optimizer=keras.optimizers.SGD(0.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        losses.append(model.fit(dataset, epochs=1, verbose=0).history["loss"][0])
    assert losses[1] == pytest.approx(2 * losses[0], rel=1e-5)


def test_pad_batch_eagerly_and_in_dataset_map():
    from kerasfer.training.clip_scoring_model import pad_batch

    batch = {"label": tf.constant([2, 0, 1], tf.int32), "clip": tf.reshape(tf.range(6.0), [3, 2])}
    padded = pad_batch(batch, 2)
    np.testing.assert_array_equal(padded["label"], [2, 0, 1, 2])
    np.testing.assert_array_equal(padded["weight"], [1, 1, 1, 0])
    np.testing.assert_array_equal(padded["clip"][3], batch["clip"][0])
    mapped = next(iter(tf.data.Dataset.from_tensors(batch).map(lambda b: pad_batch(b, 4))))
    np.testing.assert_array_equal(mapped["weight"], [1, 1, 1, 0])
    assert pad_batch(batch, 3)["label"].shape == (3,)


def test_padding_examples_are_not_scored():
    keras.utils.set_random_seed(1)
    model = ClipScoringModel(_network(), NUM_VIDEOS + 1)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data, _ = _batches()
    dataset = ClipScoringModel.prepare(
        tf.data.Dataset.from_tensor_slices(data).batch(4), num_replicas=4)   # 4 + 2 → 4 + 4
    model.reset_score_buffers()
    model.fit(dataset, epochs=1, verbose=0)
    _, starts, seen = model.read_score_buffers()
    np.testing.assert_array_equal(seen, [1] * NUM_VIDEOS + [0])
    np.testing.assert_array_equal(starts[data["video_index"]], data["start"])
