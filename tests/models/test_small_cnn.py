"""The small 2D CNN of the sampler study and the default run, and its inflation to 3D."""

import keras
import numpy as np
import pytest

from kerasfer.models import get_model
from kerasfer.models.small_cnn import small_cnn_2d
from kerasfer.models.small_cnn import small_cnn_3d


def test_parameter_counts_follow_the_architecture():
    # 2D: 3×3 convs 1→16→32→64 without bias, 3 BatchNorms (4 weights per channel), dense 64→5.
    convs = 9 * (1 * 16 + 16 * 32 + 32 * 64)
    assert small_cnn_2d(5).count_params() == convs + 4 * (16 + 32 + 64) + 64 * 5 + 5 == 23957
    # Inflated with T = 3: every 3×3 convolution becomes 3×3×3, nothing else changes.
    assert small_cnn_3d(5).count_params() == 3 * convs + 4 * (16 + 32 + 64) + 64 * 5 + 5


def test_inflated_model_scores_a_static_clip_like_the_2d_model(tmp_path):
    model_2d = small_cnn_2d(5, input_shape=(32, 32, 1))
    path = str(tmp_path / "model_2d.keras")
    model_2d.save(path)
    model_3d = small_cnn_3d(5, input_shape=(None, 32, 32, 1), pretrained=path)
    face = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    frames = keras.Model(model_3d.input, model_3d.get_layer("frame_scores").output)(
        np.repeat(face[:, None], 8, axis=1))
    # 3 temporal convolutions with zero padding: frames 3 and 4 are 3 away from both ends.
    for t in (3, 4):
        np.testing.assert_allclose(np.asarray(frames)[0, t], np.asarray(model_2d(face))[0],
                                   atol=1e-5)


def test_pretrained_weights_adapt_to_other_classes_and_channels(tmp_path):
    source = small_cnn_2d(5, input_shape=(32, 32, 1))
    path = str(tmp_path / "grey.keras")
    source.save(path)
    target = small_cnn_2d(3, input_shape=(48, 48, 3), pretrained=path)
    np.testing.assert_array_equal(target.get_layer("conv2").get_weights()[0],
                                  source.get_layer("conv2").get_weights()[0])
    # The grey kernel spread over 3 channels: a grey face and its RGB copy score the same
    # (classifier aside, which starts from scratch for 3 classes).
    grey = np.random.default_rng(1).uniform(-1, 1, (1, 48, 48, 1)).astype("float32")
    features = [keras.Model(m.input, m.get_layer("features").output)
                for m in (small_cnn_2d(5, input_shape=(48, 48, 1), pretrained=path), target)]
    np.testing.assert_allclose(np.asarray(features[0](grey)),
                               np.asarray(features[1](np.repeat(grey, 3, axis=-1))), atol=1e-5)


def test_same_classes_keep_the_classifier_through_the_registry(tmp_path):
    source = small_cnn_2d(5)
    path = str(tmp_path / "m.keras")
    source.save(path)
    model = get_model("small_cnn_3d", 5, pretrained=path, pooling="softmax")
    backbone = model.get_layer("small_cnn_backbone")
    np.testing.assert_array_equal(backbone.get_layer("classifier").get_weights()[0],
                                  source.get_layer("classifier").get_weights()[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"widths": ()}, "Received: widths=()"),
    ({"widths": (8, 0)}, "Received: widths=(8, 0)"),
    ({"dropout_rate": 1.0}, "Received: dropout_rate=1.0"),
    ({"pretrained": True}, "no shipped weights"),
    ({"pretrained": "/nonexistent/model.keras"}, "pretrained model file not found"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        small_cnn_2d(5, **kwargs)


def test_a_saved_model_of_another_family_is_refused(tmp_path):
    inputs = keras.Input((32, 32, 1))
    other = keras.Model(inputs, keras.layers.Dense(5, name="head")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    path = str(tmp_path / "other.keras")
    other.save(path)
    with pytest.raises(ValueError, match="not a small_cnn_2d: it has no layer 'conv1'"):
        small_cnn_2d(5, pretrained=path)
