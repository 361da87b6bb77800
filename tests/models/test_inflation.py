"""Inflation of 2D CNNs: boring-video identity, border behaviour, layer coverage, errors."""

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasfer.layers.depthwise_conv3d import DepthwiseConv3D
from kerasfer.layers.temporal_padding import TemporalPadding
from kerasfer.models.inflation import inflate
from kerasfer.models.inflation import inflate_kernel


def _randomize_batch_norm(model, rng):
    # Non-trivial BN statistics, so that copying them (not re-initialising) is tested.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.1, channels),
                               rng.normal(0, 0.1, channels), rng.uniform(0.5, 1.5, channels)])


def _mixed_2d_model(rng):
    """A small 2D CNN using every supported layer family, with random weights."""
    inputs = keras.Input((20, 20, 3))
    x = keras.layers.Conv2D(6, 3, padding="valid", name="conv_valid")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.ZeroPadding2D(1, name="zpad")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv_s2")(x)
    shortcut = keras.layers.Conv2D(8, 1, name="conv_1x1")(x)
    y = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(x)
    y = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep")(y)
    x = keras.layers.Add(name="add")([y, shortcut])
    x = keras.layers.Concatenate(name="concat")([x, shortcut])
    x = keras.layers.AveragePooling2D(2, name="avg")(x)
    x = keras.layers.MaxPooling2D(2, padding="same", name="max")(x)
    x = keras.layers.SpatialDropout2D(0.2, name="sdrop")(x)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    flat = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Concatenate(name="concat_features")([pooled, flat])
    x = keras.layers.Dropout(0.3, name="drop")(x)
    x = keras.layers.Dense(5, name="logits")(x)
    model = keras.Model(inputs, x)
    _randomize_batch_norm(model, rng)
    return model


def _boring(images, frames):
    return np.repeat(images[:, None], frames, axis=1)


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = _mixed_2d_model(rng)
    images = rng.normal(size=(2, 20, 20, 3)).astype("float32")
    return model, images, model.predict(images, verbose=0)


@pytest.mark.parametrize("initialization", ["repeat", "center"])
@pytest.mark.parametrize("temporal_padding", ["zero", "replicate"])
def test_boring_video_identity(mixed, initialization, temporal_padding):
    model_2d, images, expected = mixed
    model_3d = inflate(model_2d, initialization=initialization,
                       temporal_padding=temporal_padding)
    radius = model_3d.temporal_radius
    assert radius == 4  # conv_valid, conv_s2, dw (sep's depthwise), sep: ⌊3/2⌋ each
    frames = 2 * radius + 3
    scores = model_3d.predict(_boring(images, frames), verbose=0)
    assert scores.shape == (2, frames, 5)
    error = np.abs(scores - expected[:, None])
    assert error[:, radius:frames - radius].max() <= 1e-5
    if temporal_padding == "replicate" or initialization == "center":
        assert error.max() <= 1e-5  # exact on every frame, borders included
    else:
        # Zero padding with repeated kernels: the border frames see fewer copies.
        assert error[:, 0].max() > 1e-3 and error[:, -1].max() > 1e-3


def test_any_number_of_frames_and_sequential():
    keras.utils.set_random_seed(1)
    model_2d = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3),
                                 keras.layers.GlobalMaxPooling2D(), keras.layers.Dense(2)])
    model_3d = inflate(model_2d, time_kernel=5, temporal_padding="replicate")
    for frames in (1, 4, 9):
        clip = np.random.default_rng(frames).normal(size=(1, frames, 8, 8, 1))
        assert model_3d(clip).shape == (1, frames, 2)
    conv = [layer for layer in model_3d.layers if isinstance(layer, keras.layers.Conv3D)][0]
    assert conv.kernel.shape == (5, 3, 3, 1, 3)


@pytest.mark.slow
def test_real_vgg16_architecture_boring_video():
    keras.utils.set_random_seed(2)
    vgg = keras.applications.VGG16(weights=None, include_top=True, input_shape=(32, 32, 3))
    fc7 = keras.Model(vgg.input, vgg.get_layer("fc2").output)
    model_3d = inflate(fc7)
    assert model_3d.temporal_radius == 13  # the thesis' receptive field of 27 frames
    conv_params = sum(layer.count_params() for layer in vgg.layers
                      if isinstance(layer, keras.layers.Conv2D))
    biases = sum(layer.filters for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D))
    assert model_3d.count_params() == fc7.count_params() + 2 * (conv_params - biases)
    images = np.random.default_rng(2).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    expected = fc7.predict(images, verbose=0)
    scores = model_3d.predict(_boring(images, 28), verbose=0)
    interior = scores[:, 13:15]
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(interior, np.repeat(expected[:, None], 2, axis=1),
                               rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_inflate_kernel_sums_to_the_2d_kernel():
    kernel = np.random.default_rng(3).normal(size=(3, 3, 2, 4)).astype("float32")
    for initialization in ("repeat", "center"):
        kernel_3d = inflate_kernel(kernel, 5, initialization)
        assert kernel_3d.shape == (5, 3, 3, 2, 4)
        np.testing.assert_allclose(kernel_3d.sum(axis=0), kernel, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(inflate_kernel(kernel, 5, "center")[0], 0)


def test_unsupported_layer_names_layer_and_class():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(2, 3)(inputs)
    x = keras.layers.UpSampling2D(name="my_upsampling")(x)
    with pytest.raises(ValueError, match="'my_upsampling' of class UpSampling2D"):
        inflate(keras.Model(inputs, x))


def test_nested_model_shared_by_two_inputs_and_models_that_cannot_be_inflated():
    keras.utils.set_random_seed(0)
    block_input = keras.Input((8, 8, 2))
    block = keras.Model(block_input, keras.layers.Conv2D(
        3, 3, padding="same", name="block_conv")(block_input), name="block")
    a, b = keras.Input((8, 8, 2), name="a"), keras.Input((8, 8, 2), name="b")
    model_2d = keras.Model([a, b], keras.layers.Add()([block(a), block(b)]))
    model_3d = inflate(model_2d, initialization="center")      # exact on every frame
    assert len(model_3d.trainable_weights) == 2                 # one shared 3D block
    assert model_3d.trainable_weights[0].shape == (3, 3, 3, 2, 3)
    rng = np.random.default_rng(1)
    clips = [rng.normal(size=(2, 5, 8, 8, 2)).astype("float32") for _ in range(2)]
    expected = model_2d.predict([c.reshape(10, 8, 8, 2) for c in clips], verbose=0)
    np.testing.assert_allclose(model_3d.predict(clips, verbose=0).reshape(10, 8, 8, 3),
                               expected, rtol=1e-5, atol=1e-5)

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="is a subclassed Subclassed"):
        inflate(Subclassed(name="sub"))
    with pytest.raises(ValueError, match="must be built with an input shape"):
        inflate(keras.Sequential([keras.layers.Conv2D(1, 3)]))


def test_inflation_uses_public_keras_api_only():
    import inspect

    import kerasfer.models.graph_inflater
    import kerasfer.models.inflation

    source = "".join(inspect.getsource(module) for module in (
        kerasfer.models.inflation, kerasfer.models.graph_inflater))
    assert "_run_through_graph" not in source and "._functional" not in source
    assert "keras.src" not in source


def test_invalid_arguments():
    model_2d = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3)])
    with pytest.raises(ValueError, match="Received: time_kernel=2"):
        inflate(model_2d, time_kernel=2)
    with pytest.raises(ValueError, match="Received: initialization='mean'"):
        inflate(model_2d, initialization="mean")
    with pytest.raises(ValueError, match="Received: temporal_padding='reflect'"):
        inflate(model_2d, temporal_padding="reflect")
    with pytest.raises(ValueError, match="Received: mode='edge'"):
        TemporalPadding(1, "edge")


def test_replicate_padding_round_trip(tmp_path):
    keras.utils.set_random_seed(4)
    model_2d = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, strides=2,
                                 padding="same"), keras.layers.GlobalAveragePooling2D()])
    model_3d = inflate(model_2d, temporal_padding="replicate")
    clip = np.random.default_rng(4).normal(size=(2, 5, 8, 8, 1)).astype("float32")
    path = str(tmp_path / "inflated.keras")
    model_3d.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored(clip), model_3d(clip), atol=1e-6)


@pytest.mark.parametrize("strides,padding", [(1, "valid"), (2, "same")])
def test_depthwise_conv3d_equals_grouped_conv3d(strides, padding):
    rng = np.random.default_rng(5)
    clip = rng.normal(size=(2, 6, 9, 9, 3)).astype("float32")
    layer = DepthwiseConv3D((3, 3, 3), strides=strides, padding=padding, depth_multiplier=2)
    outputs = layer(clip)
    kernel, bias = layer.get_weights()
    grouped = keras.layers.Conv3D(6, 3, strides=(1, strides, strides), groups=3)
    grouped.build(clip.shape)
    grouped.set_weights([kernel.reshape(3, 3, 3, 1, 6), bias])
    # TF "same" for 9 pixels, kernel 3, stride 2: one pixel on each side.
    padded = clip if padding == "valid" else np.pad(clip, ((0, 0),) * 2 + ((1, 1),) * 2 +
                                                    ((0, 0),))
    assert outputs.shape == ((2, 4, 7, 7, 6) if strides == 1 else (2, 4, 5, 5, 6))
    np.testing.assert_allclose(outputs, grouped(padded), rtol=1e-5, atol=1e-5)


JAX_CHECK = """
import sys
import numpy as np
import keras
assert keras.backend.backend() == "jax"
import kerasfer.models  # registers the custom layers
model = keras.saving.load_model(sys.argv[1])
clip, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
np.testing.assert_allclose(np.asarray(model(clip)), expected, rtol=1e-4, atol=1e-4)
print("jax ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_inflated_model_runs_on_jax(mixed, tmp_path):
    # Saved under TensorFlow, reloaded under JAX: DepthwiseConv3D, TemporalPadding and the
    # per-frame layers give the same scores.
    model_2d, images, _ = mixed
    model_3d = inflate(model_2d, temporal_padding="replicate")
    clip = np.random.default_rng(6).normal(size=(2, 5, 20, 20, 3)).astype("float32")
    model_3d.save(tmp_path / "inflated.keras")
    np.save(tmp_path / "clip.npy", clip)
    np.save(tmp_path / "expected.npy", np.asarray(model_3d(clip)))
    (tmp_path / "check.py").write_text(JAX_CHECK)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "check.py"), str(tmp_path / "inflated.keras"),
         str(tmp_path / "clip.npy"), str(tmp_path / "expected.npy")],
        env=dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"), capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout
