"""spatial_attention_vgg16 (spatial attention + temporal softmax pooling, EmotiW): counts, T, JAX."""

import importlib.util
import textwrap

import keras
import numpy as np
import pytest

from kerasfer.layers.joint_softmax_pooling import JointSoftmaxPooling
from kerasfer.models import get_model
from kerasfer.models import model_spec
from kerasfer.models.i3d_vgg16 import VGG16_BLOCKS
from kerasfer.models.i3d_vgg16 import vgg16_2d
from kerasfer.models.spatial_attention_vgg16 import spatial_attention_vgg16

from jax_subprocess import assert_runs_on_jax

TINY = {"input_shape": (None, 32, 32, 3), "width_multiplier": 1 / 16, "attention_units": 8}


def random_clips(batch, frames, size=32, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, frames, size, size, 3)).astype(
        "float32")


def test_parameter_count_at_the_paper_settings():
    # VGG16 convolutions (3×3 kernels + biases), then Eq. 4 (W_s1: U × D, W_s2: N × U, no
    # bias) and O = W_sm V on the flattened N·D attended features, for E = 7 AFEW classes.
    classes, heads, units, depth = 7, 2, 350, 512
    conv, previous = 0, 3
    for filters, repeats in VGG16_BLOCKS:
        for _ in range(repeats):
            conv += 3 * 3 * previous * filters + filters
            previous = filters
    expected = conv + depth * units + units * heads + heads * depth * classes + classes
    assert conv == 14_714_688
    model = get_model("spatial_attention_vgg16", num_classes=classes)
    assert model.count_params() == expected == 14_901_763
    backbone = model.get_layer("spatial_attention_vgg16_backbone")
    assert backbone.get_layer("vgg16_backbone").output.shape == (None, None, 14, 14, 512)
    assert backbone.get_layer("spatial_attention").output.shape == (None, None, 1024)
    assert model.get_layer("frame_scores").output.shape == (None, None, 7)
    assert model.output.shape == (None, 7)


def test_frame_scores_any_number_of_frames_and_pooling_choices():
    keras.utils.set_random_seed(0)
    pooled_model = spatial_attention_vgg16(5, **TINY)
    frame_model = pooled_model.frame_scores_model()
    average_model = spatial_attention_vgg16(5, pooling="average", **TINY)
    average_model.set_weights(pooled_model.get_weights())
    assert isinstance(pooled_model.get_layer("temporal_pooling"), JointSoftmaxPooling)
    for frames in (1, 3, 16, 21):
        clips = random_clips(2, frames, seed=frames)
        scores = np.asarray(frame_model(clips))
        assert scores.shape == (2, frames, 5)
        np.testing.assert_allclose(pooled_model(clips), JointSoftmaxPooling()(scores),
                                   atol=1e-5)
        np.testing.assert_allclose(average_model(clips), scores.mean(axis=1), atol=1e-5)
    # Frames are scored independently: a frame's score does not depend on its neighbours.
    clips = random_clips(2, 6, seed=1)
    np.testing.assert_allclose(frame_model(clips[:, 2:3]), frame_model(clips)[:, 2:3],
                               atol=1e-5)


def test_attention_maps_for_plots():
    model = spatial_attention_vgg16(3, heads=4, **TINY)
    clips = random_clips(2, 5)
    local_features = model.backbone.get_layer("vgg16_backbone")(clips)
    maps = np.asarray(model.backbone.get_layer("spatial_attention").attention_maps(
        local_features))
    assert maps.shape == (2, 5, 4, 2, 2)
    np.testing.assert_allclose(maps.sum(axis=(-2, -1)), 1.0, atol=1e-5)


def test_one_train_step_has_a_finite_loss_including_the_penalty():
    keras.utils.set_random_seed(2)
    model = spatial_attention_vgg16(3, dropout_rate=0.5, **TINY)
    clips = random_clips(4, 6)
    labels = np.array([0, 1, 2, 1])
    model(clips, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(clips, labels)
    assert np.isfinite(loss) and loss > 0
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_weights)
    assert any(np.any(w.numpy() != b) for w, b in zip(model.trainable_weights, before))


def test_uses_the_convolutions_of_a_local_weights_file(tmp_path):
    keras.utils.set_random_seed(3)
    source = vgg16_2d(32, width_multiplier=1 / 16)
    path = str(tmp_path / "vgg16_tiny.weights.h5")
    source.save_weights(path)
    model = spatial_attention_vgg16(7, pretrained=path, **TINY)
    kernel = model.backbone.get_layer("vgg16_backbone").get_layer("block5_conv3").kernel.numpy()
    np.testing.assert_array_equal(kernel[0], source.get_layer("block5_conv3").kernel.numpy())
    with pytest.raises(ValueError, match="Received: pretrained='imagenet'"):
        spatial_attention_vgg16(7, pretrained="imagenet", **TINY)


@pytest.mark.parametrize("kwargs, message", [
    ({"pooling": "mean"}, "Received: pooling='mean'"),
    ({"input_shape": (None, 16, 16, 3)}, r"Received: input_shape=\(None, 16, 16, 3\)"),
    ({"width_multiplier": 0}, "Received: width_multiplier=0"),
    ({"dropout_rate": 1.0}, "Received: dropout_rate=1.0"),
    ({"heads": 0}, "Received: heads=0"),
    ({"penalty_coefficient": -0.1}, "Received: penalty_coefficient=-0.1"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        spatial_attention_vgg16(7, **{**TINY, **kwargs})
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        spatial_attention_vgg16(0, **TINY)


JAX_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    import kerasfer.models

    directory = sys.argv[1]
    model = keras.saving.load_model(directory + "/model.keras")
    inputs = np.load(directory + "/inputs.npy")
    expected = np.load(directory + "/logits.npy")
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def predict(trainable, non_trainable):
        return model.stateless_call(trainable, non_trainable, inputs, training=False)[0]

    np.testing.assert_allclose(np.asarray(predict(trainable, non_trainable)), expected,
                               rtol=1e-4, atol=1e-4)

    def loss(trainable, non_trainable):
        logits, _, losses = model.stateless_call(trainable, non_trainable, inputs,
                                                 training=True, return_losses=True)
        assert len(losses) == 1  # the attention penalty
        return jax.numpy.mean(logits ** 2) + sum(losses)

    grads = jax.jit(jax.grad(loss))(trainable, non_trainable)
    assert len(grads) == len(trainable)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)
    assert all(np.any(np.asarray(g) != 0) for g in grads)
    print("jax ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_runs_on_jax(tmp_path):
    # Saved under TensorFlow, reloaded under JAX: same logits, penalty, finite gradients.
    spec = model_spec("spatial_attention_vgg16")
    model = get_model("spatial_attention_vgg16", 3, **spec.tiny_kwargs)
    inputs = random_clips(2, spec.tiny_input_shape[0])
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "inputs.npy", inputs)
    np.save(tmp_path / "logits.npy", np.asarray(model(inputs, training=False)))
    assert_runs_on_jax(JAX_SCRIPT, tmp_path)
