"""Every public layer of `kerasfer.layers` through one test, like Keras' `run_layer_test`.

For each layer: build and call it eagerly and symbolically (same output shape), give every
trainable weight random values (several layers start as the identity), then check that
`get_config` → `from_config` with the same weights gives the same output, that the config is
plain JSON, and that a tiny model around the layer survives a `.keras` save/load. A layer
added to `kerasfer.layers` without a case here fails `test_every_public_layer_has_a_case`.
"""

import json

import keras
import numpy as np
import pytest

import kerasfer.layers

# Abstract bases: no behaviour of their own to round-trip.
ABSTRACT = {"TemporalPooling"}

# name → (constructor kwargs, per-call input shapes with the batch axis).
CASES = {
    "AdaptiveSoftmaxPooling": ({}, [(2, 5, 3)]),
    "AttentionMask": ({"hidden_units": 4, "context": "multiplicative"}, [(2, 3, 5, 5, 6)]),
    "ChannelZeroPadding": ({"extra_channels": 2}, [(2, 3, 4, 4, 3)]),
    "CompactBilinearPooling": ({"output_dim": 16, "seed": 0}, [(2, 4, 4, 6)]),
    "DepthwiseConv3D": ({"kernel_size": (3, 3, 3), "padding": "same"}, [(2, 4, 6, 6, 3)]),
    "FrameGrids": ({"frames_per_grid": 3}, [(2, 7, 3, 3, 2)]),
    "GlobalSpatialPooling": ({"mode": "average"}, [(2, 3, 4, 4, 5)]),
    "JointSoftmaxPooling": ({"pooling_temperature": 2.0}, [(2, 5, 3)]),
    "MultiHeadSpatialAttention": ({"heads": 2, "attention_units": 4}, [(2, 3, 4, 4, 6)]),
    "NetVLAD": ({"num_clusters": 3}, [(2, 4, 4, 6)]),
    "SlidingWindows": ({"window": 3}, [(2, 6, 4)]),
    "SoftmaxPooling": ({"pooling_temperature": 2.0}, [(2, 5, 3)]),
    "SpatialTransformer": ({"dimensions": "spatiotemporal", "localization_channels": 4,
                            "localization_units": 8}, [(2, 4, 6, 6, 3)]),
    "SpatioTemporalSelfAttention": ({"num_heads": 2, "key_dim": 4}, [(2, 3, 3, 3, 6)]),
    "TemporalAveragePooling": ({}, [(2, 5, 3)]),
    "TemporalMaxPooling": ({}, [(2, 5, 3)]),
    "TemporalPadding": ({"padding": 2, "mode": "replicate"}, [(2, 4, 3, 3, 2)]),
    "UnfoldBatch": ({}, [(6, 4), (2, 9)]),
    "WindowedSoftmaxPooling": ({"window_size": 3, "pooling_temperature": 0.5}, [(2, 6, 3)]),
}


def public_layers():
    return sorted(name for name in dir(kerasfer.layers)
                  if isinstance(getattr(kerasfer.layers, name), type)
                  and issubclass(getattr(kerasfer.layers, name), keras.layers.Layer))


def test_every_public_layer_has_a_case():
    assert set(public_layers()) - ABSTRACT == set(CASES)


def make_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32") for shape in shapes]


def call(layer, inputs, **kwargs):
    return layer(inputs if len(inputs) > 1 else inputs[0], **kwargs)


def randomize_trainable_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    for weight in layer.trainable_weights:
        weight.assign(0.3 * rng.normal(size=weight.shape).astype(weight.dtype))


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_build_call_config_and_keras_round_trip(name, tmp_path):
    cls = getattr(kerasfer.layers, name)
    kwargs, shapes = CASES[name]
    inputs = make_inputs(shapes)
    layer = cls(**kwargs, name=f"{name.lower()}_under_test")
    outputs = np.asarray(call(layer, inputs, training=False))
    assert np.all(np.isfinite(outputs))
    randomize_trainable_weights(layer)
    expected = np.asarray(call(layer, inputs, training=False))

    # Symbolic call: the eager shape wherever the symbolic one is known (batch unknown).
    symbolic_inputs = [keras.Input(shape[1:]) for shape in shapes]
    symbolic = call(cls(**kwargs), symbolic_inputs)
    assert len(symbolic.shape) == expected.ndim
    assert all(s is None or s == e for s, e in zip(symbolic.shape[1:], expected.shape[1:]))

    # get_config → from_config: same class, same config, same output with the same weights.
    config = layer.get_config()
    json.dumps(config)
    clone = cls.from_config(config)
    call(clone, inputs)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    np.testing.assert_allclose(np.asarray(call(clone, inputs, training=False)), expected,
                               rtol=1e-5, atol=1e-5)
    registered = keras.saving.get_registered_name(cls)
    assert registered == f"kerasfer>{name}"

    # .keras round trip inside a tiny model.
    model_inputs = [keras.Input(shape[1:], name=f"input_{i}") for i, shape in enumerate(shapes)]
    model = keras.Model(model_inputs, call(layer, model_inputs))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(restored(inputs, training=False)), expected,
                               rtol=1e-5, atol=1e-5)
