"""Attention maps and p(f | S) of the spatial attention model, written to TensorBoard."""

import glob

import numpy as np

from kerasfer.config import load_config
from kerasfer.models import get_model, model_spec
from kerasfer.training.attention_maps_callback import AttentionMapsCallback


def test_maps_are_distributions_and_images_reach_tensorboard(tmp_path):
    import tensorflow as tf

    spec = model_spec("spatial_attention_vgg16")
    model = get_model("spatial_attention_vgg16", 3, **dict(spec.tiny_kwargs, heads=2))
    callback = AttentionMapsCallback(load_config(overrides=[f"run_dir={tmp_path}"]))
    callback.set_model(model)
    clip = np.random.default_rng(0).random((5, 32, 32, 3)).astype("float32")
    attention, probability = callback.maps(clip)
    assert attention.shape == (5, 2, 2, 2)  # frames, heads, 32/16 × 32/16 positions
    np.testing.assert_allclose(attention.sum(axis=(-1, -2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(probability.sum(), 1.0, atol=1e-5)
    callback.videos = [("video_a", clip)]
    callback.on_epoch_end(0)
    tags = [value.tag for path in glob.glob(f"{tmp_path}/logs/attention/events.*")
            for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value]
    assert tags == ["attention/video_a"]
