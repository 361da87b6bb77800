"""Compact bilinear pooling by Tensor Sketch (relaxed aggregation, ChaLearn 2017, Section 4)."""

import numpy as np

import keras
from keras import ops

POOLING_MODES = ("sum", "average")
# Keeps the power normalisation's gradient finite at 0 while shifting values by at most
# _EPSILON ** σ (1e-6 for σ = 0.5).
_EPSILON = 1e-12


@keras.saving.register_keras_serializable(package="kerasfer")
class CompactBilinearPooling(keras.layers.Layer):
    """Tensor Sketch compact bilinear pooling of local features into one `output_dim` vector.

    The pooling stage of the relaxed-aggregation paper (Section 4, "Capturing
    Interdependencies between Deep Features from Multiple Frames" and "Estimation of
    Video-Level Representation"; CBP [5] of Gao et al., CVPR 2016): the M·T local features
    `x_i` of a frame grid (or the RNN outputs of a video) are pooled into
    `y = sum_i TS(x_i ⊗ x_i)`, where the Tensor Sketch of Pham & Pagh (2013) is
    `TS(x ⊗ z) = FFT⁻¹(FFT(Ψ₁(x)) ∘ FFT(Ψ₂(z)))` (a circular convolution of two count
    sketches) and `Ψ(x)_j = sum_{c : h(c) = j} s(c) · x_c` with a random hash
    `h(c) ∈ [0, d)` and sign `s(c) ∈ {±1}` per channel. `<TS(x ⊗ x), TS(z ⊗ z)>` is an
    unbiased estimator of `<x, z>²`, the bilinear (second-order) kernel. The two hashes are
    drawn at build from `seed` and stored as non-trainable weights, so saved models reload
    exactly. As in Gao et al. and the relaxed-aggregation paper Section 3 (power
    normalisation with σ = 0.5, [5, 21]), the pooled vector gets `sign(y) · |y|^σ` and then
    L2 normalisation. The relaxed-aggregation paper fixes the video-level representation to
    d = 512 (Section 6); Gao et al. use d = 8192 for conv5 features.

    With two inputs `[x, z]` (same positions, any channel counts) the layer pools
    `sum_i TS(x_i ⊗ z_i)`, the compact form of the bilinear pooling of two feature sets.

    Args:
        output_dim: int. Size d of the sketch. Defaults to `8192`.
        power_normalization: float or None. Exponent σ of the signed power normalisation
            `sign(y) · |y|^σ`, in (0, 1]; `None` disables it. Defaults to `0.5`.
        l2_normalization: bool. Whether to divide the output by its L2 norm. Defaults to
            `True`.
        pooling: str. `"sum"` (Gao et al.) or `"average"` over the positions. Defaults to
            `"sum"`.
        seed: int or None. Seed of the random hashes h and signs s; `None` draws one from
            NumPy's global generator (so `keras.utils.set_random_seed` makes it
            reproducible). Defaults to `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: local features `(batch, positions..., channels)` with at least one
            position axis, e.g. `(batch, height, width, channels)` or
            `(batch, frames, height, width, channels)`; or a list of two such tensors with
            the same batch and positions.

    Returns:
        `(batch, output_dim)`.

    Example:

    >>> layer = CompactBilinearPooling(output_dim=64, seed=0)
    >>> layer(np.zeros((2, 7, 7, 16))).shape
    (2, 64)
    """

    def __init__(self, output_dim=8192, power_normalization=0.5, l2_normalization=True,
                 pooling="sum", seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_dim, bool) or not isinstance(output_dim, int) or output_dim < 1:
            raise ValueError(f"output_dim must be a positive int. "
                             f"Received: output_dim={output_dim!r}")
        if power_normalization is not None and (
                isinstance(power_normalization, bool)
                or not isinstance(power_normalization, (int, float))
                or not 0.0 < power_normalization <= 1.0):
            raise ValueError("power_normalization must be None or an exponent in (0, 1]. "
                             f"Received: power_normalization={power_normalization!r}")
        if not isinstance(l2_normalization, bool):
            raise ValueError(f"l2_normalization must be a bool. "
                             f"Received: l2_normalization={l2_normalization!r}")
        if pooling not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}. "
                             f"Received: pooling={pooling!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"seed must be None or a non-negative int. Received: seed={seed!r}")
        self.output_dim = output_dim
        self.power_normalization = (None if power_normalization is None
                                    else float(power_normalization))
        self.l2_normalization = l2_normalization
        self.pooling = pooling
        self.seed = seed

    def build(self, input_shape):
        shapes = _split_shapes(input_shape)
        if len(shapes) not in (1, 2):
            raise ValueError("CompactBilinearPooling takes one tensor or a list of two. "
                             f"Received: input_shape={input_shape}")
        for shape in shapes:
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError("CompactBilinearPooling expects (batch, positions..., "
                                 "channels) with at least one position axis and known "
                                 f"channels. Received: input_shape={tuple(shape)}")
        if len(shapes) == 2 and len(shapes[0]) != len(shapes[1]):
            raise ValueError("The two inputs of CompactBilinearPooling must have the same "
                             f"position axes. Received: input_shape={input_shape}")
        # One input still gets two independent sketches, as Tensor Sketch requires.
        channels = (shapes[0][-1], shapes[-1][-1])
        seed = self.seed if self.seed is not None else int(np.random.randint(2 ** 31 - 1))
        rng = np.random.default_rng(seed)
        self.hashes, self.signs = [], []
        for index, size in enumerate(channels, start=1):
            hash_values = rng.integers(0, self.output_dim, size=size).astype("int32")
            sign_values = (2 * rng.integers(0, 2, size=size) - 1).astype("float32")
            self.hashes.append(self.add_weight(
                name=f"hash_{index}", shape=(size,), dtype="int32", trainable=False,
                initializer=_constant(hash_values)))
            self.signs.append(self.add_weight(
                name=f"sign_{index}", shape=(size,), dtype="float32", trainable=False,
                initializer=_constant(sign_values)))
        self.built = True

    def count_sketch(self, features, index):
        """Count sketch Ψ of `(..., channels)` features with hash pair `index` (0 or 1)."""
        # A dense ±1 one-hot projection keeps the sketch a matmul: differentiable, and the
        # same op on every backend.
        projection = (ops.one_hot(self.hashes[index], self.output_dim, dtype="float32")
                      * ops.expand_dims(ops.cast(self.signs[index], "float32"), 1))
        return ops.matmul(ops.cast(features, "float32"), projection)

    def reachable_bins(self):
        """Bool `(output_dim,)`: the bins `(h₁(i) + h₂(j)) mod d` that some pair can hit."""
        counts = [ops.sum(ops.one_hot(hashes, self.output_dim, dtype="float32"), axis=0)
                  for hashes in self.hashes]
        real_1, imag_1 = ops.rfft(counts[0], fft_length=self.output_dim)
        real_2, imag_2 = ops.rfft(counts[1], fft_length=self.output_dim)
        pairs = ops.irfft((real_1 * real_2 - imag_1 * imag_2, real_1 * imag_2 + imag_1 * real_2),
                          fft_length=self.output_dim)
        # pairs holds integer counts of channel pairs per bin, up to round-off.
        return pairs > 0.5

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            first, second = inputs
        else:
            first = second = inputs
        first = ops.reshape(first, (ops.shape(first)[0], -1, ops.shape(first)[-1]))
        second = ops.reshape(second, (ops.shape(second)[0], -1, ops.shape(second)[-1]))
        real_1, imag_1 = ops.rfft(self.count_sketch(first, 0), fft_length=self.output_dim)
        real_2, imag_2 = ops.rfft(self.count_sketch(second, 1), fft_length=self.output_dim)
        # The inverse FFT is linear, so pooling the spectra first needs one irfft per
        # sample instead of one per position.
        real = ops.sum(real_1 * real_2 - imag_1 * imag_2, axis=1)
        imag = ops.sum(real_1 * imag_2 + imag_1 * real_2, axis=1)
        pooled = ops.irfft((real, imag), fft_length=self.output_dim)
        # With fewer channel pairs than bins, some bins can never be hit; zeroing them
        # keeps their FFT round-off (~1e-9) from becoming ~1e-4 after |y|^σ.
        pooled = ops.where(self.reachable_bins(), pooled, 0.0)
        if self.pooling == "average":
            pooled = pooled / ops.cast(ops.shape(first)[1], "float32")
        if self.power_normalization is not None:
            pooled = ops.sign(pooled) * ops.power(ops.abs(pooled) + _EPSILON,
                                                  self.power_normalization)
        if self.l2_normalization:
            squared_norm = ops.sum(ops.square(pooled), axis=-1, keepdims=True)
            pooled = pooled / ops.sqrt(ops.maximum(squared_norm, _EPSILON))
        return ops.cast(pooled, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (_split_shapes(input_shape)[0][0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"output_dim": self.output_dim,
                       "power_normalization": self.power_normalization,
                       "l2_normalization": self.l2_normalization,
                       "pooling": self.pooling,
                       "seed": self.seed})
        return config


def _split_shapes(input_shape):
    """Returns a list of shapes for one shape or a list of shapes."""
    if input_shape and isinstance(input_shape[0], (list, tuple)):
        return [tuple(shape) for shape in input_shape]
    return [tuple(input_shape)]


def _constant(values):
    """An initializer returning fixed `values` (Keras' `Constant` only takes scalars)."""
    def initializer(shape, dtype=None):
        if tuple(shape) != values.shape:
            raise ValueError(f"Expected shape {values.shape}. Received: shape={shape}")
        return ops.convert_to_tensor(values, dtype=dtype)
    return initializer
