"""3D ResNets (Hara et al. 2018): exact parameter counts, shortcuts, dense option, any T."""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasfer.models import resnet3d
from kerasfer.models.clip_classifier import SPATIAL_POOLINGS
from kerasfer.models.contract import POOLINGS

TINY = {"width_multiplier": 1 / 16, "input_shape": (None, 32, 32, 3)}


def trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def random_clips(frames, batch=2, size=32, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, frames, size, size, 3)).astype(
        "float32")


def test_resnet18_shortcut_a_trainable_parameters_at_400_classes():
    model = resnet3d(400, depth=18, shortcut_type="A", spatial_pooling="average")
    assert trainable_count(model) == 33_235_280
    assert model.backbone.get_layer("conv1").kernel.shape == (7, 7, 7, 3, 64)
    assert model.backbone.get_layer("conv1").strides == (1, 2, 2)
    # Shortcut A is parameter-free: no projection layer anywhere.
    assert not [layer for layer in model.backbone.layers if "shortcut_conv" in layer.name]


def test_resnext101_shortcut_b_trainable_parameters_at_400_classes():
    model = resnet3d(400, depth=101, block_type="resnext", shortcut_type="B",
                     spatial_pooling="average")
    assert trainable_count(model) == 48_340_816
    grouped = model.backbone.get_layer("stage1_block1_conv2")
    assert grouped.groups == 32 and grouped.kernel.shape == (3, 3, 3, 4, 128)
    assert model.output_shape == (None, 400)


def test_grouped_conv3d_equals_split_and_concat():
    # Keras Conv3D(groups=...) runs on CPU with TF 2.21; check it is a true grouped conv.
    layer = keras.layers.Conv3D(8, 3, padding="same", groups=4, use_bias=False)
    x = random_clips(4, batch=1, size=6)[..., :1].repeat(8, axis=-1) * np.arange(1, 9)
    y = np.asarray(layer(x))
    kernel = layer.kernel.numpy()
    per_group = [tf.nn.conv3d(x[..., 2 * g:2 * g + 2], kernel[..., 2 * g:2 * g + 2],
                              [1] * 5, "SAME").numpy() for g in range(4)]
    np.testing.assert_allclose(y, np.concatenate(per_group, axis=-1), atol=1e-4)


@pytest.mark.slow
def test_pooling_modes_do_not_change_the_parameter_count():
    counts = {(pooling, spatial): trainable_count(resnet3d(7, pooling=pooling,
                                                           spatial_pooling=spatial, **TINY))
              for pooling in POOLINGS for spatial in SPATIAL_POOLINGS}
    base = counts[("average", "max")]
    for (pooling, _), count in counts.items():
        assert count == base + (7 if pooling == "adaptive_softmax" else 0)  # one β per class


def strided_frames(frames):
    # pool1 and stages 2-4 each map T to floor((T − 1) / 2) + 1 (PyTorch, pad 1).
    for _ in range(4):
        frames = (frames - 1) // 2 + 1
    return frames


@pytest.mark.parametrize("dense", [False, True])
def test_fully_convolutional_any_number_of_frames(dense):
    model = resnet3d(7, temporally_dense=dense, **TINY)
    scores_model = keras.Model(model.input, model.get_layer("frame_scores").output)
    for frames in [5, 8, 13, 19]:
        expected = frames if dense else strided_frames(frames)
        clips = random_clips(frames, seed=frames)
        assert model(clips).shape == (2, 7)
        frame_scores = np.asarray(scores_model(clips))
        assert frame_scores.shape == (2, expected, 7)
        # Two-step pooling: the logits are the temporal average of the frame scores.
        np.testing.assert_allclose(np.asarray(model(clips)), frame_scores.mean(axis=1),
                                   atol=1e-5)


def test_temporally_dense_has_no_temporal_stride():
    model = resnet3d(7, temporally_dense=True, **TINY)
    for layer in model.backbone.layers:
        if isinstance(layer, (keras.layers.Conv3D, keras.layers.MaxPooling3D,
                              keras.layers.AveragePooling3D)):
            assert layer.strides[0] == 1, layer.name


def test_softmax_zero_temperature_equals_two_step_and_average_heads_are_hara_head():
    clips = random_clips(8)
    two_step = resnet3d(7, temporally_dense=True, **TINY)
    softmax = resnet3d(7, pooling="softmax", pooling_temperature=0.0, temporally_dense=True,
                       **TINY)
    softmax.set_weights(two_step.get_weights())
    np.testing.assert_allclose(np.asarray(softmax(clips)), np.asarray(two_step(clips)),
                               atol=1e-5)
    # Feature average over space then time (and score average) equal Hara et al.'s head:
    # 3D global average of the conv5 maps, then the classifier.
    feature_average = resnet3d(7, spatial_pooling="average", **TINY)
    features = feature_average.backbone(clips)
    hara = feature_average.get_layer("classifier")(np.asarray(features).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(np.asarray(feature_average(clips)), np.asarray(hara),
                               atol=1e-5)
    score_average = resnet3d(7, spatial_pooling="score_average", **TINY)
    score_average.set_weights(feature_average.get_weights())
    np.testing.assert_allclose(np.asarray(score_average(clips)), np.asarray(hara), atol=1e-5)
    # 3D max of scores: the classifier at every position, max over space then time.
    score_max = resnet3d(7, spatial_pooling="score_max", pooling="max", **TINY)
    score_max.set_weights(feature_average.get_weights())
    position_scores = np.asarray(score_max.get_layer("classifier")(features))
    np.testing.assert_allclose(np.asarray(score_max(clips)),
                               position_scores.max(axis=(1, 2, 3)), atol=1e-5)


def test_shortcut_b_projects_and_bottleneck_expands():
    model = resnet3d(7, depth=50, shortcut_type="B", blocks_per_stage=(1, 1, 1, 1), **TINY)
    backbone = model.backbone
    assert backbone.get_layer("stage1_block1_shortcut_conv").kernel.shape == (1, 1, 1, 4, 16)
    assert backbone.get_layer("stage4_block1_conv3").filters == 128


@pytest.mark.slow
@pytest.mark.parametrize("kwargs,message", [
    ({"depth": 19}, "Received: depth=19"),
    ({"shortcut_type": "C"}, "Received: shortcut_type='C'"),
    ({"depth": 50, "block_type": "basic"}, "Received: block_type='basic'"),
    ({"pooling": "median"}, "Received: pooling='median'"),
    ({"pooling": "softmax", "pooling_temperature": float("nan")}, "pooling_temperature=nan"),
    ({"blocks_per_stage": (1, 1)}, r"Received: blocks_per_stage=\(1, 1\)"),
    ({"spatial_pooling": "median"}, "Received: spatial_pooling='median'"),
    ({"dropout_rate": 1.0}, "Received: dropout_rate=1.0"),
    ({"input_shape": (None, 32, 3)}, r"Received: input_shape=\(None, 32, 3\)"),
    ({"pretrained": True}, "Received: pretrained=True"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resnet3d(7, **kwargs)
