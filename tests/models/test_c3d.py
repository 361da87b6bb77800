"""C3D (Tran et al. 2015): exact parameter counts, Caffe's pool5 round-up, bad input."""

import math

import numpy as np
import pytest

from kerasfer.models import c3d
from kerasfer.models.c3d import c3d_pool5_shape


@pytest.mark.parametrize("num_classes,expected", [(487, 79_991_015), (101, 78_409_573)])
def test_full_size_parameter_counts_match_the_paper(num_classes, expected):
    model = c3d(num_classes)
    assert model.count_params() == expected
    # pool5 with Caffe's round-up: 1 × 4 × 4 × 512 = 8192 features feed fc6.
    assert tuple(model.get_layer("pool5").output.shape[1:]) == (1, 4, 4, 512)
    assert model.get_layer("fc6").kernel.shape == (8192, 4096)


@pytest.mark.parametrize("clip_shape", [(16, 112, 112), (16, 28, 28), (8, 36, 20), (4, 13, 9)])
def test_caffe_round_up_holds_for_any_input_size(clip_shape):
    model = c3d(5, input_shape=clip_shape + (3,), width_multiplier=1 / 16)
    size = clip_shape
    for block, temporal_pool in zip("12345", (1, 2, 2, 2, 2)):
        # Caffe: ceil((n − k) / s) + 1 outputs; with n < k Caffe still emits one window.
        size = (math.ceil(max(size[0] - temporal_pool, 0) / temporal_pool) + 1,
                *(math.ceil(max(n - 2, 0) / 2) + 1 for n in size[1:]))
        assert tuple(model.get_layer(f"pool{block}").output.shape[1:4]) == size
    assert c3d_pool5_shape(clip_shape) == size


def test_tiny_c3d_forward_and_dropout_only_in_training():
    model = c3d(7, input_shape=(16, 28, 28, 3), width_multiplier=1 / 16)
    assert model.get_layer("conv1a").filters == 4 and model.get_layer("fc6").units == 256
    clips = np.random.default_rng(0).normal(size=(2, 16, 28, 28, 3)).astype("float32")
    logits = np.asarray(model(clips, training=False))
    assert logits.shape == (2, 7) and logits.dtype == np.float32
    np.testing.assert_array_equal(logits, np.asarray(model(clips, training=False)))


@pytest.mark.parametrize("kwargs,message", [
    ({"input_shape": (None, 112, 112, 3)}, "Received: input_shape=(None, 112, 112, 3)"),
    ({"width_multiplier": 0}, "Received: width_multiplier=0"),
    ({"dropout_rate": 1.0}, "Received: dropout_rate=1.0"),
    ({"pooling": "average"}, "Received: pooling='average'"),
    ({"pretrained": "c3d.keras"}, "Received: pretrained='c3d.keras'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        c3d(7, **kwargs)


def test_bad_num_classes():
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        c3d(0)
