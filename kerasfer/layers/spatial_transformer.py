"""Affine (spatio-)temporal transformer network with trilinear sampling (thesis Section 4.3)."""

import itertools

import keras
import numpy as np
from keras import ops

DIMENSIONS = ("spatial", "temporal", "spatiotemporal")
# Entries of the flattened 3×4 matrix θ (rows t', y', x'; columns t, y, x, 1) that are free.
FREE_ENTRIES = {"spatiotemporal": tuple(range(12)), "temporal": (0, 3),
                "spatial": (5, 6, 7, 9, 10, 11)}


@keras.saving.register_keras_serializable(package="kerasfer")
class SpatialTransformer(keras.layers.Layer):
    """Transformation network: a localisation net regresses an affine warp of the features.

    Ayral (2021) thesis, Section 4.3, Fig. 4.1 (Jaderberg et al. 2015), Sections 4.3.1 and
    4.5.2: a localisation network regresses the parameters θ of an affine transformation,
    the output grid (in relative coordinates [-1, 1] over t, y, x) is mapped through θ,
    `(t_s, y_s, x_s)ᵀ = θ (t, y, x, 1)ᵀ`, and the input is sampled there with linear
    interpolation (zero outside the input). Variants (Table 4.2): "spatial", one 2×3
    affine map per frame (6 free entries, time untouched); "temporal", a temporal zoom and
    shift `t_s = a t + b` (2 free entries, "a temporal cropping", spatial rows identity);
    "spatiotemporal", the full 3×4 map of the volume. As in Section 4.5.2 the localisation
    net has three layers on a resized, fixed-size input (the clip resampled to
    `localization_frames` frames; each frame alone for "spatial"): a 1×1×1 convolution
    with ReLU, a dense ReLU layer on the flattened volume, and a dense layer giving the
    free entries Δ; `θ = I + tanh(Δ)` ("tanh activation on parameters, with an
    initialization to identity map"): the last layer is zero-initialised, so the layer
    starts as the identity. The warp works in relative coordinates, so it applies to clips
    of any length. Height and width must be known.

    Args:
        dimensions: str. "spatial", "temporal" or "spatiotemporal". Defaults to
            `"spatial"`.
        localization_channels: int. Channels of the 1×1×1 convolution. Defaults to `8`.
        localization_units: int. Width of the hidden dense layer. Defaults to `32`.
        localization_frames: int. Frames of the resampled localisation input (not used by
            "spatial"). Defaults to `4`.
        return_transform: bool. Also return θ. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, height, width, channels)`.

    Returns:
        The warped features, of the input shape. With `return_transform=True`, a tuple
        `(features, theta)`, θ `(batch, frames, 3, 4)` for "spatial", else `(batch, 3, 4)`.

    Example:

    >>> layer = SpatialTransformer(dimensions="spatiotemporal")
    >>> layer(np.ones((2, 8, 7, 7, 16))).shape
    (2, 8, 7, 7, 16)
    """

    def __init__(self, dimensions="spatial", localization_channels=8, localization_units=32,
                 localization_frames=4, return_transform=False, **kwargs):
        super().__init__(**kwargs)
        if dimensions not in DIMENSIONS:
            raise ValueError(f"dimensions must be one of {DIMENSIONS}. "
                             f"Received: dimensions={dimensions!r}")
        for name, value in (("localization_channels", localization_channels),
                            ("localization_units", localization_units),
                            ("localization_frames", localization_frames)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
        if not isinstance(return_transform, bool):
            raise ValueError("return_transform must be a bool. "
                             f"Received: return_transform={return_transform!r}")
        self.dimensions = dimensions
        self.localization_channels = localization_channels
        self.localization_units = localization_units
        self.localization_frames = localization_frames
        self.return_transform = return_transform

    def build(self, input_shape):
        if len(input_shape) != 5 or None in tuple(input_shape)[2:]:
            raise ValueError(f"{self.name} expects (batch, frames, height, width, channels) "
                             "with known height, width and channels. "
                             f"Received: input_shape={tuple(input_shape)}")
        _, _, height, width, channels = input_shape
        frames = 1 if self.dimensions == "spatial" else self.localization_frames
        flat = frames * height * width * self.localization_channels
        free = len(FREE_ENTRIES[self.dimensions])
        for name, shape, initializer in (
                ("conv", (channels, self.localization_channels), "he_normal"),
                ("hidden", (flat, self.localization_units), "he_normal"),
                ("theta", (self.localization_units, free), "zeros")):
            setattr(self, f"{name}_kernel", self.add_weight(
                name=f"{name}_kernel", shape=shape, initializer=initializer))
            setattr(self, f"{name}_bias", self.add_weight(
                name=f"{name}_bias", shape=shape[-1:], initializer="zeros"))
        placement = np.zeros((free, 12), "float32")
        placement[np.arange(free), FREE_ENTRIES[self.dimensions]] = 1.0
        self._placement = placement
        self.built = True

    def _dense(self, x, name, activation=None):
        y = (ops.matmul(x, ops.cast(getattr(self, f"{name}_kernel"), x.dtype))
             + ops.cast(getattr(self, f"{name}_bias"), x.dtype))
        return ops.relu(y) if activation == "relu" else y

    @staticmethod
    def _grid(frames, height, width):
        # Relative coordinates (frames, height, width, 4): (t, y, x, 1) in [-1, 1].
        axes = [ops.linspace(-1.0, 1.0, size) if not isinstance(size, int) or size > 1
                else ops.zeros((1,)) for size in (frames, height, width)]
        t, y, x = ops.meshgrid(*axes, indexing="ij")
        return ops.stack([t, y, x, ops.ones_like(t)], axis=-1)

    @staticmethod
    def _indices(frames, height, width, resampled_frames=None):
        # Index coordinates (t, y, x) of every position, (T, H, W, 3), or of a resampling.
        t = (ops.arange(frames, dtype="float32") if resampled_frames is None else
             ops.linspace(0.0, ops.cast(frames - 1, "float32"), resampled_frames))
        axes = (t, ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"))
        return ops.stack(ops.meshgrid(*axes, indexing="ij"), axis=-1)

    @staticmethod
    def _sample(volume, position):
        # Trilinear sampling of volume (B, T, H, W, C) at index coordinates (B, M, 3),
        # zero outside the volume.
        batch, frames, height, width, channels = ops.shape(volume)
        flat = ops.reshape(volume, (batch, -1, channels))
        sizes = ops.cast(ops.stack([frames, height, width]), "float32")
        base = ops.floor(position)
        fraction = position - base
        outputs = 0.0
        for corner in itertools.product((0.0, 1.0), repeat=3):
            index = base + ops.convert_to_tensor(corner, "float32")
            weight = ops.prod(ops.where(ops.convert_to_tensor(corner) > 0, fraction,
                                        1.0 - fraction), axis=-1)
            inside = ops.all((index >= 0.0) & (index <= sizes - 1.0), axis=-1)
            index = ops.cast(ops.clip(index, 0.0, sizes - 1.0), "int32")
            linear = (index[..., 0] * height + index[..., 1]) * width + index[..., 2]
            linear = ops.broadcast_to(ops.expand_dims(linear, -1),
                                      ops.shape(linear) + (channels,))
            gathered = ops.take_along_axis(flat, linear, axis=1)
            weight = ops.where(inside, weight, 0.0)
            outputs = outputs + gathered * ops.cast(ops.expand_dims(weight, -1), volume.dtype)
        return outputs

    def call(self, inputs):
        batch, frames, height, width, channels = ops.shape(inputs)
        features = self._dense(inputs, "conv", "relu")
        if self.dimensions == "spatial":
            features = ops.reshape(features, (batch, frames, -1))
        else:  # resample the clip to a fixed number of frames (Section 4.5.2)
            grid = ops.reshape(self._indices(frames, height, width,
                                             self.localization_frames), (1, -1, 3))
            grid = ops.broadcast_to(grid, (batch,) + tuple(ops.shape(grid)[1:]))
            features = ops.reshape(self._sample(features, grid), (batch, -1))
        delta = ops.tanh(ops.cast(self._dense(self._dense(features, "hidden", "relu"),
                                              "theta"), "float32"))
        delta = ops.matmul(delta, ops.convert_to_tensor(self._placement))
        delta = ops.reshape(delta, tuple(ops.shape(delta)[:-1]) + (3, 4))  # θ − I
        theta = delta + ops.eye(3, 4, dtype="float32")
        per_frame = delta if self.dimensions == "spatial" else ops.expand_dims(delta, 1)
        # Source (θ g + 1)(size − 1)/2 = index + (θ − I) g (size − 1)/2: exact for θ = I.
        grid = ops.reshape(self._grid(frames, height, width), (1, frames, -1, 4))
        offset = ops.matmul(grid, ops.transpose(per_frame, (0, 1, 3, 2)))
        sizes = ops.cast(ops.stack([frames, height, width]), "float32")
        source = (ops.reshape(self._indices(frames, height, width), (1, frames, -1, 3))
                  + offset * 0.5 * (sizes - 1.0))
        outputs = self._sample(inputs, ops.reshape(source, (batch, -1, 3)))
        outputs = ops.reshape(outputs, (batch, frames, height, width, channels))
        if self.return_transform:
            return outputs, ops.cast(theta, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.return_transform:
            return input_shape
        leading = input_shape[:2] if self.dimensions == "spatial" else input_shape[:1]
        return input_shape, leading + (3, 4)

    def get_config(self):
        config = super().get_config()
        config.update({"dimensions": self.dimensions,
                       "localization_channels": self.localization_channels,
                       "localization_units": self.localization_units,
                       "localization_frames": self.localization_frames,
                       "return_transform": self.return_transform})
        return config
