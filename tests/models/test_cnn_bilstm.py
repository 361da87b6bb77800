"""cnn_bilstm (Fan, AFEW 6.0): parameter count, both directions, per-step scores, save, JAX."""

import importlib.util
import textwrap

import keras
import numpy as np
import pytest

from kerasfer.models.cnn_bilstm import PAPER_TIMESTEPS
from kerasfer.models.cnn_bilstm import cnn_bilstm
from kerasfer.models.i3d_vgg16 import VGG16_BLOCKS
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.registry import get_model

from jax_subprocess import assert_runs_on_jax

TINY = {"input_shape": (None, 32, 32, 3), "width_multiplier": 1 / 16, "lstm_units": 8}
TINY_FEATURES = {"backbone": None, "feature_dim": 12, "lstm_units": 6}


def random_array(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def per_step(num_classes, **kwargs):
    """The per-step scores `(batch, frames, num_classes)` (layer `frame_scores`) of a model."""
    model = cnn_bilstm(num_classes, pooling="average", **kwargs)
    return keras.Model(model.input, model.get_layer("frame_scores").output)


def lstm_parameters(units, inputs):
    # Four gates (i, f, o, g of Section 3.1.2), each W_x· (inputs × units), W_h· (units ×
    # units) and a bias.
    return 4 * (units * (inputs + units) + units)


@pytest.mark.slow
def test_parameter_count_at_the_paper_settings():
    # Section 4.3.3: VGG16 to fc6 (4096), Bi-LSTM of 1024 hidden nodes, fc classifier, 7 classes.
    classes, units, fc6 = 7, 1024, 4096
    conv, previous = 0, 3
    for filters, repeats in VGG16_BLOCKS:
        for _ in range(repeats):
            conv += 3 * 3 * previous * filters + filters
            previous = filters
    vgg_to_fc6 = conv + 7 * 7 * 512 * fc6 + fc6
    head = 2 * lstm_parameters(units, fc6) + 2 * units * classes + classes
    assert vgg_to_fc6 == 117_479_232 and head == 41_965_575
    features_model = cnn_bilstm(classes, backbone=None)
    assert features_model.count_params() == head
    assert features_model.input.shape == (None, None, 4096)
    model = get_model("cnn_bilstm", classes)
    assert model.count_params() == vgg_to_fc6 + head == 159_444_807
    assert model.get_layer("frame_features").output.shape == (None, None, 4096)
    assert model.get_layer("bilstm").output.shape == (None, 2048)
    assert model.output.shape == (None, 7)
    assert PAPER_TIMESTEPS == 64


def test_any_number_of_frames_and_per_step_scores():
    keras.utils.set_random_seed(0)
    clip_model = cnn_bilstm(5, **TINY)
    step_model = per_step(5, **TINY)
    features_model = per_step(5, **TINY_FEATURES)
    for frames in (1, 3, 9):
        clips = random_array((2, frames, 32, 32, 3), seed=frames)
        assert clip_model(clips).shape == (2, 5)
        assert step_model(clips).shape == (2, frames, 5)
    for frames in (1, 17, PAPER_TIMESTEPS):
        assert features_model(random_array((3, frames, 12))).shape == (3, frames, 5)


def test_last_pooling_reads_the_final_state_of_each_direction():
    # Clip logits = W [h_forward after the last frame, h_backward after the first frame] + b,
    # and the per-step Bi-LSTM outputs carry exactly those states at steps T-1 and 0.
    keras.utils.set_random_seed(1)
    step_model = per_step(4, **TINY_FEATURES)
    clip_model = cnn_bilstm(4, **TINY_FEATURES)
    clip_model.set_weights(step_model.get_weights())
    features = random_array((2, 7, 12))
    states = np.asarray(keras.Model(step_model.input, step_model.get_layer("bilstm").output)(
        features))
    units = TINY_FEATURES["lstm_units"]
    final = np.concatenate([states[:, -1, :units], states[:, 0, units:]], axis=-1)
    kernel, bias = clip_model.get_layer("classifier").get_weights()
    np.testing.assert_allclose(clip_model(features), final @ kernel + bias, rtol=1e-5,
                               atol=1e-5)


def test_backward_direction_sees_the_future_and_forward_only_the_past():
    keras.utils.set_random_seed(2)
    model = per_step(4, **TINY_FEATURES)
    states_of = keras.Model(model.input, model.get_layer("bilstm").output)
    units = TINY_FEATURES["lstm_units"]
    features = random_array((1, 6, 12))
    changed_last = features.copy()
    changed_last[:, -1] += 1.0
    before, after = np.asarray(states_of(features)), np.asarray(states_of(changed_last))
    np.testing.assert_allclose(before[:, :-1, :units], after[:, :-1, :units], atol=1e-6)
    assert np.abs(before[:, 0, units:] - after[:, 0, units:]).max() > 1e-4
    assert np.abs(np.asarray(model(features))[:, 0] - np.asarray(model(changed_last))[:, 0]
                  ).max() > 1e-4
    clip_model = cnn_bilstm(4, **TINY_FEATURES)
    clip_model.set_weights(model.get_weights())
    reversed_output = np.asarray(clip_model(features[:, ::-1]))
    assert np.abs(np.asarray(clip_model(features)) - reversed_output).max() > 1e-4


def test_temporal_pooling_of_per_step_scores():
    keras.utils.set_random_seed(3)
    step_model = per_step(4, **TINY_FEATURES)
    average_model = cnn_bilstm(4, pooling="average", **TINY_FEATURES)
    average_model.set_weights(step_model.get_weights())
    features = random_array((2, 5, 12))
    np.testing.assert_allclose(average_model(features), np.asarray(step_model(features)).mean(1),
                               rtol=1e-5, atol=1e-6)


def test_features_only_model_equals_the_full_model_on_extracted_fc6(tmp_path):
    # The paper's practical mode: fc6 extracted once, Bi-LSTM trained on it.
    keras.utils.set_random_seed(4)
    source = vgg16_2d(32, width_multiplier=1 / 16)
    path = str(tmp_path / "vgg16_tiny.weights.h5")
    source.save_weights(path)
    full = cnn_bilstm(3, pretrained=path, **TINY)
    head = cnn_bilstm(3, backbone=None, lstm_units=8, feature_dim=256)
    for name in ("bilstm", "classifier"):
        head.get_layer(name).set_weights(full.get_layer(name).get_weights())
    clips = random_array((2, 4, 32, 32, 3))
    features = keras.Model(full.input, full.get_layer("frame_features").output)(clips)
    expected_fc6 = keras.Model(source.input, source.get_layer("fc1").output)(
        clips.reshape(8, 32, 32, 3))
    np.testing.assert_allclose(np.asarray(features).reshape(8, 256), expected_fc6, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(head(features), full(clips), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_one_training_step_on_a_tiny_model():
    keras.utils.set_random_seed(5)
    model = cnn_bilstm(3, fc_units=8, **TINY)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = model.train_on_batch(random_array((2, 4, 32, 32, 3)), np.array([0, 2]))
    assert np.isfinite(loss)


def test_keras_round_trip_gives_identical_outputs(tmp_path):
    keras.utils.set_random_seed(6)
    for index, (model, inputs) in enumerate([
            (cnn_bilstm(3, **TINY), random_array((2, 5, 32, 32, 3))),
            (cnn_bilstm(3, pooling="max", fc_units=5, **TINY_FEATURES),
             random_array((2, 5, 12)))]):
        path = tmp_path / f"model{index}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(loaded(inputs), model(inputs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes"),
    ({"backbone": "resnet50"}, "backbone"),
    ({"lstm_units": 0}, "lstm_units"),
    ({"fc_units": 2.5}, "fc_units"),
    ({"dropout_rate": 1.0}, "dropout_rate"),
    ({"width_multiplier": 0}, "width_multiplier"),
    ({"input_shape": (None, 16, 16, 3)}, "input_shape"),
    ({"input_shape": (None, 32, 32, 3), "backbone": None}, "input_shape"),
    ({"pretrained": True}, "pretrained"),
    ({"pooling": "mean"}, "pooling"),
    ({"feature_dim": 100}, "feature_dim"),
    ({"feature_dim": -1, "backbone": None}, "feature_dim"),
])
def test_bad_arguments_raise(kwargs, match):
    arguments = {"num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=f"Received: {match}="):
        cnn_bilstm(**arguments)


JAX_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    import kerasfer.models.cnn_bilstm

    directory = sys.argv[1]
    for name in ("clips", "features"):
        model = keras.saving.load_model(os.path.join(directory, name + ".keras"))
        inputs = np.load(os.path.join(directory, name + "_inputs.npy"))
        expected = np.load(os.path.join(directory, name + "_logits.npy"))
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        logits, _ = jax.jit(lambda t, n: model.stateless_call(t, n, inputs))(
            trainable, non_trainable)
        np.testing.assert_allclose(np.asarray(logits), expected, rtol=1e-4, atol=1e-4)

        def loss(trainable, non_trainable):
            logits, _ = model.stateless_call(trainable, non_trainable, inputs, training=True)
            return jax.numpy.mean(logits ** 2)

        grads = jax.jit(jax.grad(loss))(trainable, non_trainable)
        assert len(grads) == len(trainable)
        assert all(np.all(np.isfinite(np.asarray(g))) for g in grads), name
    print("jax ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_runs_on_jax(tmp_path):
    # Saved under TensorFlow, reloaded under JAX: same logits, finite gradients.
    keras.utils.set_random_seed(8)
    for name, model, inputs in [
            ("clips", cnn_bilstm(3, **TINY), random_array((2, 4, 32, 32, 3))),
            ("features", per_step(3, **TINY_FEATURES),
             random_array((2, 5, 12)))]:
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}_inputs.npy", inputs)
        np.save(tmp_path / f"{name}_logits.npy", np.asarray(model(inputs, training=False)))
    assert_runs_on_jax(JAX_SCRIPT, tmp_path)
