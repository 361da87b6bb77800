"""Every registered model: forward, backward, `.keras` round trip, contract, temporal output, JAX.

Parametrized over `kerasfer.models.list_models()`, so models registered later are covered
automatically, each built from its spec's `tiny_kwargs` / `tiny_input_shape`.
"""

import importlib.util
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras

import kerasfer.models
from kerasfer.models import get_model
from kerasfer.models import list_models
from kerasfer.models import model_spec

from jax_subprocess import assert_runs_on_jax

NUM_CLASSES = 3
BATCH = 2


def tiny_model(name):
    spec = model_spec(name)
    return get_model(name, NUM_CLASSES, **spec.tiny_kwargs), spec.tiny_input_shape


def random_inputs(input_shape, seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH,) + tuple(input_shape)).astype(
        "float32")


def all_layers(model):
    """The layers of `model` and of the models nested in it (TimeDistributed included)."""
    for layer in model.layers:
        yield layer
        inner = getattr(layer, "layer", layer)
        if hasattr(inner, "layers"):
            yield from all_layers(inner)


def test_expected_models_are_registered():
    assert {"c3d", "r3d_18", "r3d_34", "r3d_50", "resnext3d_101"} <= set(list_models())


@pytest.mark.parametrize("name", list_models())
def test_forward_backward_and_keras_round_trip(name, tmp_path):
    model, input_shape = tiny_model(name)
    inputs = random_inputs(input_shape)

    logits = np.asarray(model(inputs, training=False))
    assert logits.shape == (BATCH, NUM_CLASSES)
    assert np.all(np.isfinite(logits))

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(inputs, training=True)))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert model.trainable_weights
    for weight, gradient in zip(model.trainable_weights, gradients):
        assert gradient is not None, f"{name}: no gradient for {weight.path}"
        assert np.all(np.isfinite(np.asarray(gradient))), f"{name}: non-finite {weight.path}"
    assert any(np.any(np.asarray(g) != 0) for g in gradients)

    # The training-mode pass above moved the BN statistics: take the reference after it.
    reference = np.asarray(model(inputs, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.count_params() == model.count_params()
    np.testing.assert_allclose(np.asarray(restored(inputs, training=False)), reference,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list_models())
def test_temporal_output_matches_the_model(name):
    """The spec's temporal_output is what the model does, so nobody has to probe it."""
    spec = model_spec(name)
    model, input_shape = tiny_model(name)
    layer_names = [layer.name for layer in model.layers]
    if spec.temporal_output == "clip":
        # One score per clip of the trained length: no per-frame scores to pool.
        assert model.input_shape[1] == input_shape[0]
        assert "frame_scores" not in layer_names
        return
    assert model.input_shape[1] is None, f"{name} must accept any number of frames"
    assert "frame_scores" in layer_names and "temporal_pooling" in layer_names
    frame_scores = keras.Model(model.input, model.get_layer("frame_scores").output)
    for frames in (input_shape[0] + 3, 2 * input_shape[0] + 1):
        clips = random_inputs((frames,) + tuple(input_shape[1:]), seed=frames)
        scores = np.asarray(frame_scores(clips))
        assert scores.shape[0] == BATCH and scores.shape[2] == NUM_CLASSES
        if spec.temporal_output == "dense":
            assert scores.shape[1] == frames
        else:
            assert 1 <= scores.shape[1] < frames
        pooled = model.get_layer("temporal_pooling")(scores)
        np.testing.assert_allclose(np.asarray(pooled), np.asarray(model(clips)),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list_models())
def test_every_builder_takes_the_contract_arguments(name):
    spec = model_spec(name)
    _, input_shape = tiny_model(name)
    model = get_model(name, NUM_CLASSES, **dict(spec.tiny_kwargs, dropout_rate=0.25,
                                                input_dropout_rate=0.1, pretrained=None))
    assert model.get_layer("input_dropout").rate == 0.1
    assert model(random_inputs(input_shape), training=False).shape == (BATCH, NUM_CLASSES)
    rates = [layer.rate for layer in all_layers(model)
             if isinstance(layer, keras.layers.Dropout) and layer.name != "input_dropout"]
    assert rates and set(rates) == {0.25}
    for argument, value in (("num_classes", 0), ("dropout_rate", 1.5),
                            ("input_dropout_rate", -0.1), ("pooling", "median"),
                            ("pretrained", 3)):
        kwargs = dict(spec.tiny_kwargs)
        num_classes = NUM_CLASSES
        if argument == "num_classes":
            num_classes = value
        else:
            kwargs[argument] = value
        with pytest.raises(ValueError, match=f"Received: {argument}={value!r}"):
            get_model(name, num_classes, **kwargs)


@pytest.mark.parametrize("name", sorted(set(list_models()) - {"fer_mini_xception_3d"}))
def test_families_without_shipped_weights_refuse_pretrained_true(name):
    with pytest.raises(ValueError, match="Received: pretrained=True"):
        get_model(name, NUM_CLASSES, **dict(model_spec(name).tiny_kwargs, pretrained=True))


JAX_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    import kerasfer.models
    from kerasfer import layers

    directory = sys.argv[1]
    for name in sys.argv[2:]:
        model = keras.saving.load_model(os.path.join(directory, name + ".keras"))
        inputs = np.load(os.path.join(directory, name + "_inputs.npy"))
        expected = np.load(os.path.join(directory, name + "_logits.npy"))
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def predict(trainable, non_trainable):
            return model.stateless_call(trainable, non_trainable, inputs, training=False)[0]

        np.testing.assert_allclose(np.asarray(predict(trainable, non_trainable)), expected,
                                   rtol=1e-4, atol=1e-4)

        def loss(trainable, non_trainable):
            logits, _ = model.stateless_call(trainable, non_trainable, inputs, training=True)
            return jax.numpy.mean(logits ** 2)

        grads = jax.jit(jax.grad(loss))(trainable, non_trainable)
        assert len(grads) == len(trainable)
        assert all(np.all(np.isfinite(np.asarray(g))) for g in grads), name

    scores = np.random.default_rng(0).normal(size=(2, 9, 4)).astype("float32")
    mask = np.ones((2, 9), bool); mask[0, 5:] = False
    np.testing.assert_allclose(layers.SoftmaxPooling(0.0)(scores), scores.mean(1), atol=1e-5)
    np.testing.assert_allclose(layers.SoftmaxPooling(1e6)(scores), scores.max(1), atol=1e-5)
    np.testing.assert_allclose(layers.TemporalMaxPooling()(scores, mask=mask)[0],
                               scores[0, :5].max(0), atol=1e-6)
    windowed = layers.WindowedSoftmaxPooling(window_size=4, pooling_temperature=0.0)
    maxima = np.stack([scores[:, t:t + 4].max(1) for t in range(6)], 1)
    np.testing.assert_allclose(windowed(scores), maxima.mean(1), atol=1e-5)
    np.testing.assert_allclose(windowed(scores, mask=mask)[0], windowed(scores[:1, :5])[0],
                               atol=1e-5)
    adaptive = layers.AdaptiveSoftmaxPooling()
    adaptive(scores)
    beta_grad = jax.grad(lambda beta: adaptive.stateless_call([beta], [], scores)[0].sum())(
        adaptive.beta.value)
    assert np.all(np.isfinite(beta_grad)) and np.all(np.abs(beta_grad) > 1e-4)
    print("jax ok")
""")

JAX_MODELS = ("r3d_18_dense", "resnext3d_101")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_models_and_pooling_layers_run_on_jax(tmp_path):
    # Saved under TensorFlow, reloaded under JAX: same logits, finite gradients.
    for name in JAX_MODELS:
        model, input_shape = tiny_model(name)
        inputs = random_inputs(input_shape)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}_inputs.npy", inputs)
        np.save(tmp_path / f"{name}_logits.npy", np.asarray(model(inputs, training=False)))
    assert_runs_on_jax(JAX_SCRIPT, tmp_path, *JAX_MODELS)
