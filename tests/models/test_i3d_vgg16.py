"""i3D-VGG16 (Ayral (2021) thesis, Section 2.1.3): parameter count, head, pooling, weights."""

import keras
import numpy as np
import pytest

from kerasfer.models import get_model
from kerasfer.models.i3d_vgg16 import i3d_vgg16
from kerasfer.models.i3d_vgg16 import vgg16_2d


@pytest.mark.slow
def test_thesis_parameter_count_at_224_with_7_classes():
    # Thesis Section 2.1.3: "The model contains 164M trained parameters".
    model = get_model("i3d_vgg16", num_classes=7)
    assert model.count_params() == 164_206_791
    assert model.get_layer("frame_scores").output.shape == (None, None, 7)
    assert model.output.shape == (None, 7)


def test_tiny_variant_frame_scores_and_pooling():
    keras.utils.set_random_seed(0)
    model = i3d_vgg16(5, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16)
    clip = np.random.default_rng(0).normal(size=(2, 6, 32, 32, 3)).astype("float32")
    frame_scores = model.frame_scores_model()(clip)
    assert frame_scores.shape == (2, 6, 5)
    np.testing.assert_allclose(model(clip), np.mean(frame_scores, axis=1), atol=1e-5)
    pooled = i3d_vgg16(5, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16,
                       pooling="max")
    pooled.set_weights(model.get_weights())
    np.testing.assert_allclose(pooled(clip), np.max(frame_scores, axis=1), atol=1e-5)
    windowed = i3d_vgg16(5, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16,
                         pooling="windowed_softmax", window_size=4, pooling_temperature=0.0)
    assert type(windowed.get_layer("temporal_pooling")).__name__ == "WindowedSoftmaxPooling"
    with pytest.raises(ValueError, match="Received: pooling='mean'"):
        i3d_vgg16(5, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16, pooling="mean")
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 16, 16, 3\)"):
        i3d_vgg16(5, input_shape=(None, 16, 16, 3))


def test_narrow_vgg16_matches_keras_applications_layout():
    reference = keras.applications.VGG16(weights=None, include_top=True, input_shape=(32, 32, 3))
    narrow = vgg16_2d(32, width_multiplier=0.5)
    ref_layers = [(layer.name, type(layer).__name__) for layer in reference.layers[1:]]
    assert [(layer.name, type(layer).__name__) for layer in narrow.layers[1:]] == ref_layers
    for ref_layer in reference.layers:
        if isinstance(ref_layer, keras.layers.Conv2D):
            kernel = narrow.get_layer(ref_layer.name).kernel.shape
            ref_kernel = ref_layer.kernel.shape
            assert kernel[:2] == ref_kernel[:2] and kernel[3] * 2 == ref_kernel[3]


def test_inflates_a_local_weights_file(tmp_path):
    keras.utils.set_random_seed(1)
    source = vgg16_2d(32, width_multiplier=1 / 16)
    path = str(tmp_path / "vgg16_tiny.weights.h5")
    source.save_weights(path)
    model = i3d_vgg16(7, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16,
                      pretrained=path)
    backbone = model.backbone
    kernel_2d = source.get_layer("block3_conv2").kernel.numpy()
    kernel_3d = backbone.get_layer("block3_conv2").kernel.numpy()
    assert kernel_3d.shape == (3,) + kernel_2d.shape
    np.testing.assert_allclose(kernel_3d, np.repeat(kernel_2d[None], 3, axis=0) / 3, rtol=1e-6)
    np.testing.assert_array_equal(backbone.get_layer("fc1").kernel.numpy(),
                                  source.get_layer("fc1").kernel.numpy())


def test_inflates_a_saved_keras_vgg16(tmp_path):
    keras.utils.set_random_seed(2)
    source = vgg16_2d((32, 40, 3), width_multiplier=1 / 16)
    source.save(tmp_path / "vgg16_tiny.keras")
    model = i3d_vgg16(7, input_shape=(None, 32, 40, 3), width_multiplier=1 / 16,
                      pretrained=str(tmp_path / "vgg16_tiny.keras"))
    np.testing.assert_array_equal(model.backbone.get_layer("fc2").kernel.numpy(),
                                  source.get_layer("fc2").kernel.numpy())


def test_never_downloads_and_reports_missing_weights(tmp_path):
    tiny = dict(input_shape=(None, 32, 32, 3), width_multiplier=1 / 16)
    for pretrained in ("imagenet", True, str(tmp_path / "nope.h5")):
        with pytest.raises(ValueError, match=f"Received: pretrained={pretrained!r}"):
            i3d_vgg16(7, pretrained=pretrained, **tiny)


def _layers_by_name(model, layers=None):
    layers = {} if layers is None else layers
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _layers_by_name(layer, layers)
        else:
            layers[layer.name] = layer
    return layers


@pytest.mark.parametrize("attention", ["mask", "context_mask", "self_attention"])
def test_attention_starts_as_the_plain_model(attention):
    # Thesis 4.5.1: the module sits between the conv features and the classifier; with its
    # zero-initialised output it is the identity, so with the plain model's weights the
    # attention model scores every frame exactly like the plain model.
    kwargs = dict(input_shape=(None, 32, 32, 3), width_multiplier=1 / 16)
    plain = i3d_vgg16(7, **kwargs)
    model = i3d_vgg16(7, attention=attention, **kwargs)
    assert model.backbone.get_layer("attention") is not None
    source = _layers_by_name(plain)
    copied = 0
    for name, layer in _layers_by_name(model).items():
        if layer.weights and name != "attention" and not hasattr(layer, "layers"):
            layer.set_weights(source[name].get_weights())
            copied += 1
    assert copied == 13 + 2 + 2  # conv1_1 … conv5_3, fc1, fc2, hidden, classifier
    clips = np.random.default_rng(0).normal(size=(2, 6, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model(clips), plain(clips), atol=1e-5)
    assert model.count_params() > plain.count_params()


def test_attention_model_round_trips_and_rejects_unknown_attention(tmp_path):
    model = i3d_vgg16(3, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16,
                      attention="context_mask")
    clips = np.random.default_rng(1).normal(size=(1, 5, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "attention.keras")
    restored = keras.saving.load_model(tmp_path / "attention.keras")
    np.testing.assert_allclose(restored(clips), model(clips), atol=1e-6)
    with pytest.raises(ValueError, match="Received: attention='transformer'"):
        i3d_vgg16(3, input_shape=(None, 32, 32, 3), width_multiplier=1 / 16,
                  attention="transformer")
