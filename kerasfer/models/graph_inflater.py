"""`GraphInflater`: rebuilds a 2D Keras graph layer by layer as a temporally dense 3D one.

The layer mapping, the kernel initialisations and the temporal padding are documented in
`kerasfer.models.inflation` (whose `inflate` is the public entry point).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from kerasfer.layers.depthwise_conv3d import DepthwiseConv3D
from kerasfer.layers.global_spatial_pooling import GlobalSpatialPooling
from kerasfer.layers.temporal_padding import TemporalPadding

# Layers whose computation is the same per frame (elementwise, or on the channel axis) and
# that have no weights, or weights that do not depend on the input rank.
_PER_FRAME = ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "GaussianNoise",
              "GaussianDropout", "AlphaDropout", "Rescaling", "Identity", "Add", "Subtract",
              "Multiply", "Average", "Maximum", "Minimum", "Dense", "BatchNormalization",
              "Concatenate", "LayerNormalization")
_SUPPORTED = sorted(_PER_FRAME + ("Conv2D", "DepthwiseConv2D", "SeparableConv2D",
                                  "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                                  "GlobalMaxPooling2D", "Flatten", "ZeroPadding2D", "Cropping2D",
                                  "SpatialDropout2D", "Functional", "Sequential"))


def check_time_kernel(value, where):
    """Raises ValueError unless `value` is a positive odd int (`where` names it)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ValueError(f"time_kernel must be a positive odd int (centred 'same' temporal "
                         f"padding needs an odd size). Received: {where}={value!r}")


def inflate_kernel(kernel_2d, time_kernel, initialization="repeat"):
    """Returns the 3D kernel `(T, kh, kw, in, out)` of a 2D kernel `(kh, kw, in, out)`.

    `"repeat"`: `W3[t] = W2 / T` for every t (Carreira & Zisserman 2017); `"center"`:
    `W3[T // 2] = W2`, zeros elsewhere. Both sum to `W2` over t, which is what makes a
    static video reproduce the 2D activations.

    Args:
        kernel_2d: array `(kh, kw, in, out)`.
        time_kernel: int. T.
        initialization: str. `"repeat"` or `"center"`. Defaults to `"repeat"`.
    """
    kernel_2d = np.asarray(kernel_2d)
    if initialization == "repeat":
        return np.repeat(kernel_2d[None], time_kernel, axis=0) / np.float32(time_kernel)
    kernel_3d = np.zeros((time_kernel,) + kernel_2d.shape, kernel_2d.dtype)
    kernel_3d[time_kernel // 2] = kernel_2d
    return kernel_3d


class GraphInflater:
    """Walks a 2D functional graph and calls the 3D counterpart of every layer.

    The engine of `kerasfer.models.inflation.inflate` (Ayral 2021 thesis, Section 1.2.5;
    Carreira & Zisserman 2017); see that module for the layer mapping and the borders.

    Args:
        time_kernel: int or callable. Odd T, or `f(layer_2d) -> int`.
        initialization: str. `"repeat"` or `"center"` (see `inflate_kernel`).
        temporal_padding: str. `"zero"` or `"replicate"`.
        inflate_pointwise: bool. Give 1×1 convolutions a temporal kernel too.

    Example:

    >>> GraphInflater(3, "repeat", "zero", False).inflate_model(model_2d, "model_3d")
    """

    def __init__(self, time_kernel, initialization, temporal_padding, inflate_pointwise):
        self.time_kernel = time_kernel
        self.initialization = initialization
        self.temporal_padding = temporal_padding
        self.inflate_pointwise = inflate_pointwise
        self.radius = {}  # id(3D tensor) -> frames of temporal context on each side
        self.built_layers = {}  # id(2D layer) -> its 3D counterpart (a callable)

    def inflate_model(self, model_2d, name):
        if isinstance(model_2d, keras.Sequential):
            try:
                ends = model_2d.inputs[0], model_2d.outputs[0]
            except AttributeError:
                raise ValueError(f"Sequential model {model_2d.name!r} must be built with an "
                                 f"input shape before inflation. Received: model={model_2d.name}"
                                 ) from None
        elif isinstance(model_2d, keras.Model) and getattr(model_2d, "outputs", None):
            ends = model_2d.input, model_2d.output
        else:
            raise ValueError(f"Only functional or Sequential models can be inflated; "
                             f"{model_2d.name!r} is a subclassed {type(model_2d).__name__}. "
                             f"Received: model={model_2d.name}")
        # A functional view of the 2D graph (the same layers, never compiled), re-run on
        # clip inputs by the public `clone_model`: every layer is kept as it is by
        # `clone_function` and replaced by its 3D counterpart at its call (`call_function`).
        graph_2d = keras.Model(*ends)
        for tensor in graph_2d.inputs:
            shape = tuple(tensor.shape)
            if len(shape) != 4:
                raise ValueError(f"Model {model_2d.name!r} input must be 2D images "
                                 "(batch, height, width, channels). "
                                 f"Received: input_shape={shape}")
        inputs = keras.tree.map_structure(
            lambda tensor: keras.Input((None,) + tuple(tensor.shape)[1:], dtype=tensor.dtype,
                                       name=f"{tensor.name}_clip" if tensor.name else None),
            graph_2d.input)
        for tensor in keras.tree.flatten(inputs):
            self.radius[id(tensor)] = 0
        graph_3d = keras.models.clone_model(
            graph_2d, input_tensors=inputs, clone_function=lambda layer: layer,
            call_function=lambda layer, *args, **kw: self._operation_fn(layer)(*args, **kw))
        flat_inputs = keras.tree.flatten(inputs)
        outputs = graph_3d.output
        model_3d = keras.Model(flat_inputs if len(flat_inputs) > 1 else flat_inputs[0],
                               outputs, name=name)
        model_3d.temporal_radius = max(
            (self.radius.get(id(t), 0) for t in keras.tree.flatten(outputs)), default=0)
        return model_3d

    def _operation_fn(self, layer_2d):
        if isinstance(layer_2d, keras.Model):
            nested = GraphInflater(self.time_kernel, self.initialization, self.temporal_padding,
                               self.inflate_pointwise)
            layer_3d = nested.inflate_model(layer_2d, layer_2d.name)
            radius = layer_3d.temporal_radius
            build = lambda: layer_3d  # noqa: E731
        else:
            class_name = type(layer_2d).__name__
            method = getattr(self, f"_inflate_{class_name.lower()}", None)
            if method is None and class_name in _PER_FRAME:
                method = self._inflate_per_frame
            if method is None or not isinstance(layer_2d, keras.layers.Layer):
                raise ValueError(
                    f"Cannot inflate layer {layer_2d.name!r} of class {class_name}: it has no "
                    f"3D counterpart. Supported classes: {', '.join(_SUPPORTED)}. "
                    f"Received: layer={layer_2d.name}")
            _check_channels_last(layer_2d)
            radius = None
            build = lambda: method(layer_2d)  # noqa: E731

        def call(*args, **kwargs):
            tensors = keras.tree.flatten((args, kwargs))
            radius_in = max((self.radius.get(id(t), 0) for t in tensors), default=0)
            # A 2D layer called at several nodes maps to one 3D layer: weights stay shared.
            if id(layer_2d) not in self.built_layers:
                self.built_layers[id(layer_2d)] = build()
            fn = self.built_layers[id(layer_2d)]
            outputs = fn(*args, **kwargs)
            added = radius if radius is not None else getattr(fn, "temporal_radius", 0)
            for tensor in keras.tree.flatten(outputs):
                self.radius[id(tensor)] = radius_in + added
            return outputs

        return call

    # Convolutions ------------------------------------------------------------------------

    def _time_kernel_for(self, layer_2d, kernel_size):
        if tuple(kernel_size) == (1, 1) and not self.inflate_pointwise:
            return 1
        size = self.time_kernel(layer_2d) if callable(self.time_kernel) else self.time_kernel
        check_time_kernel(size, f"time_kernel({layer_2d.name})")
        return size

    def _conv3d(self, layer_2d, name, filters, kernel_2d, bias, activation, time_kernel,
                config, depthwise=False):
        """Padding + Conv3D (or DepthwiseConv3D) with the inflated kernel; returns a callable."""
        kh, kw = kernel_2d.shape[:2]
        spatial_padding = config["padding"]
        strides = (1,) + tuple(config["strides"])
        dilation = (1,) + tuple(config["dilation_rate"])
        pad = (time_kernel - 1) // 2
        spatial_pads = ((0, 0), (0, 0))
        if spatial_padding == "same":
            spatial_pads = _same_padding(layer_2d, (kh, kw), strides[1:], dilation[1:],
                                         required=self.temporal_padding == "replicate")
        layers = []
        if spatial_pads is None:
            # Strided "same" on an unknown spatial size: only Conv3D's own "same" padding
            # (zero, also in time) can express it.
            conv_padding = "same"
        else:
            # Explicit padding + "valid" convolution. Never Conv3D(padding="same") after a
            # pad: TF 2.21's graph optimiser folds Pad → Conv3D(SAME) into a VALID
            # convolution (wrong shapes in predict / tf.function; eager and XLA are right).
            conv_padding = "valid"
            temporal_pads = (pad, pad)
            if pad and self.temporal_padding == "replicate":
                layers.append(TemporalPadding(pad, "replicate", name=f"{name}_tpad"))
                temporal_pads = (0, 0)
            pads = (temporal_pads,) + spatial_pads
            if any(any(p) for p in pads):
                layers.append(keras.layers.ZeroPadding3D(pads, name=f"{name}_pad"))
        if depthwise:
            if conv_padding == "same" and pad:
                layers.append(TemporalPadding(pad, "zero", name=f"{name}_tpad"))
            conv = DepthwiseConv3D(
                (time_kernel, kh, kw), strides=strides[1:], padding=conv_padding,
                depth_multiplier=kernel_2d.shape[3], dilation_rate=dilation[1:],
                activation=activation, use_bias=bias is not None, name=name)
        else:
            conv = keras.layers.Conv3D(
                filters, (time_kernel, kh, kw), strides=strides, padding=conv_padding,
                dilation_rate=dilation, groups=config.get("groups", 1), activation=activation,
                use_bias=bias is not None, kernel_regularizer=config.get("kernel_regularizer"),
                bias_regularizer=config.get("bias_regularizer"), name=name)
        layers.append(conv)

        def apply(inputs):
            outputs = inputs
            for layer in layers:
                outputs = layer(outputs)
            weights = [inflate_kernel(kernel_2d, time_kernel, self.initialization)]
            conv.set_weights(weights + ([bias] if bias is not None else []))
            return outputs

        apply.temporal_radius = pad
        return apply

    def _inflate_conv2d(self, layer_2d):
        config = layer_2d.get_config()
        weights = layer_2d.get_weights()
        time_kernel = self._time_kernel_for(layer_2d, config["kernel_size"])
        return self._conv3d(layer_2d, layer_2d.name, config["filters"], weights[0],
                            weights[1] if config["use_bias"] else None,
                            config["activation"], time_kernel, config)

    def _inflate_depthwiseconv2d(self, layer_2d):
        config = layer_2d.get_config()
        weights = layer_2d.get_weights()
        kernel = weights[0]  # (kh, kw, channels, multiplier)
        kh, kw, channels, multiplier = kernel.shape
        time_kernel = self._time_kernel_for(layer_2d, (kh, kw))
        return self._conv3d(layer_2d, layer_2d.name, channels * multiplier, kernel,
                            weights[1] if config["use_bias"] else None,
                            config["activation"], time_kernel, config, depthwise=True)

    def _inflate_separableconv2d(self, layer_2d):
        config = layer_2d.get_config()
        weights = layer_2d.get_weights()
        depthwise, pointwise = weights[0], weights[1]
        kh, kw, channels, multiplier = depthwise.shape
        time_kernel = self._time_kernel_for(layer_2d, (kh, kw))
        depthwise_apply = self._conv3d(
            layer_2d, f"{layer_2d.name}_depthwise", channels * multiplier, depthwise, None,
            None, time_kernel, config, depthwise=True)
        pointwise_config = dict(config, padding="valid", strides=(1, 1), dilation_rate=(1, 1),
                                kernel_regularizer=config.get("pointwise_regularizer"))
        pointwise_apply = self._conv3d(
            layer_2d, f"{layer_2d.name}_pointwise", config["filters"], pointwise,
            weights[2] if config["use_bias"] else None, config["activation"], 1,
            pointwise_config)

        def apply(inputs):
            return pointwise_apply(depthwise_apply(inputs))

        apply.temporal_radius = depthwise_apply.temporal_radius
        return apply

    # Spatial-only layers -----------------------------------------------------------------

    def _inflate_maxpooling2d(self, layer_2d):
        return self._pooling3d(layer_2d, keras.layers.MaxPooling3D)

    def _inflate_averagepooling2d(self, layer_2d):
        return self._pooling3d(layer_2d, keras.layers.AveragePooling3D)

    def _pooling3d(self, layer_2d, cls):
        config = layer_2d.get_config()
        strides = config["strides"] or config["pool_size"]
        return cls((1,) + tuple(config["pool_size"]), strides=(1,) + tuple(strides),
                   padding=config["padding"], name=layer_2d.name)

    def _inflate_globalaveragepooling2d(self, layer_2d):
        return self._global_pooling(layer_2d, "average")

    def _inflate_globalmaxpooling2d(self, layer_2d):
        return self._global_pooling(layer_2d, "max")

    def _global_pooling(self, layer_2d, mode):
        pooling = GlobalSpatialPooling(mode, name=layer_2d.name)
        if not layer_2d.get_config().get("keepdims"):
            return pooling
        reshape = keras.layers.Reshape((-1, 1, 1, layer_2d.output.shape[-1]),
                                       name=f"{layer_2d.name}_keepdims")
        return lambda inputs: reshape(pooling(inputs))

    def _inflate_flatten(self, layer_2d):
        features = layer_2d.input.shape[1:]
        if any(size is None for size in features):
            raise ValueError(f"Cannot inflate Flatten layer {layer_2d.name!r}: its input "
                             f"shape {tuple(layer_2d.input.shape)} is not static. "
                             f"Received: layer={layer_2d.name}")
        return keras.layers.Reshape((-1, math.prod(features)), name=layer_2d.name)

    def _inflate_zeropadding2d(self, layer_2d):
        padding = tuple(tuple(p) for p in layer_2d.get_config()["padding"])
        return keras.layers.ZeroPadding3D(((0, 0),) + padding, name=layer_2d.name)

    def _inflate_cropping2d(self, layer_2d):
        cropping = tuple(tuple(c) for c in layer_2d.get_config()["cropping"])
        return keras.layers.Cropping3D(((0, 0),) + cropping, name=layer_2d.name)

    def _inflate_spatialdropout2d(self, layer_2d):
        # Drops whole feature maps of a frame, independently per frame.
        return keras.layers.Dropout(layer_2d.rate, noise_shape=(None, None, 1, 1, None),
                                    name=layer_2d.name)

    def _inflate_per_frame(self, layer_2d):
        config = layer_2d.get_config()
        rank_2d = len(layer_2d.input.shape) if not isinstance(layer_2d.input, list) else \
            len(layer_2d.input[0].shape)
        for key in ("axis",):
            axis = config.get(key)
            if isinstance(axis, int) and axis >= 0:
                if axis == 0:
                    raise ValueError(f"Cannot inflate layer {layer_2d.name!r} of class "
                                     f"{type(layer_2d).__name__}: it acts on the batch axis. "
                                     f"Received: axis={axis}")
                config[key] = axis + 1 if axis < rank_2d else axis
            elif isinstance(axis, (list, tuple)):
                config[key] = [a + 1 if a > 0 else a for a in axis]
        if config.get("noise_shape") is not None:
            config["noise_shape"] = (config["noise_shape"][0], None) + \
                tuple(config["noise_shape"][1:])
        layer_3d = type(layer_2d).from_config(config)
        weights = layer_2d.get_weights()

        def apply(*args, **kwargs):
            outputs = layer_3d(*args, **kwargs)
            if weights:
                layer_3d.set_weights(weights)
            return outputs

        return apply


def _check_channels_last(layer_2d):
    data_format = getattr(layer_2d, "data_format", None)
    if data_format not in (None, "channels_last"):
        raise ValueError(f"Cannot inflate layer {layer_2d.name!r} of class "
                         f"{type(layer_2d).__name__}: only channels_last is supported. "
                         f"Received: data_format={data_format}")


def _same_padding(layer_2d, kernel_size, strides, dilation, required):
    """Explicit (before, after) pads per spatial axis equal to TF's "same" padding.

    Returns None when a strided axis has an unknown size (and `required` is False).
    """
    pads = []
    for axis, (k, s, d) in enumerate(zip(kernel_size, strides, dilation)):
        effective = (k - 1) * d + 1
        if s == 1:
            total = effective - 1
        else:
            size = layer_2d.input.shape[1 + axis]
            if size is None:
                if not required:
                    return None
                raise ValueError(f"Replicate temporal padding of strided 'same' layer "
                                 f"{layer_2d.name!r} needs a static spatial input size. "
                                 f"Received: input_shape={tuple(layer_2d.input.shape)}")
            total = max((math.ceil(size / s) - 1) * s + effective - size, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)
