"""The thesis' whole-video inference: max within F-frame windows, softmax across windows."""

import math

import keras
from keras import ops

from kerasfer.layers import temporal_pooling_ops


@keras.saving.register_keras_serializable(package="kerasfer")
class WindowedSoftmaxPooling(keras.layers.Layer):
    """Temporal max within every window of F frames (stride 1), then softmax pooling.

    Ayral (2021) thesis, Section 3.2.3: a model trained on clips of F frames evaluates a whole
    video of L frames by scoring every one of the N = L − F + 1 overlapping windows and
    pooling the window scores with Eq. 3.3 (γ_p, decoupled from the sampling γ_s). Given
    per-frame scores of a fully convolutional pass, the score of window t is the temporal
    max of the frame scores in `[t, t + F)`. When the video is shorter than the window
    (L < F) there is a single window: the max over the whole video.

    Args:
        window_size: int. F, the clip length in frames. Defaults to `16`.
        pooling_temperature: float. γ_p of Eq. 3.3 across windows; `0.0` averages the
            window scores. Defaults to `1.0`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: per-frame scores `(batch, frames, num_classes)`.
        mask: optional bool `(batch, frames)`, `False` on padded frames. A window counts
            when it holds `min(F, valid frames)` valid frames and starts on a valid frame,
            so a padded video pools exactly like the same video unpadded.

    Returns:
        `(batch, num_classes)`.

    Example:

    >>> layer = WindowedSoftmaxPooling(window_size=4, pooling_temperature=0.0)
    >>> layer(np.random.rand(2, 10, 7)).shape  # mean of the 7 window maxima
    (2, 7)
    """

    def __init__(self, window_size=16, pooling_temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
            raise ValueError(f"window_size must be a positive int. Received: "
                             f"window_size={window_size!r}")
        if (isinstance(pooling_temperature, bool)
                or not isinstance(pooling_temperature, (int, float))
                or not math.isfinite(pooling_temperature)):
            raise ValueError("pooling_temperature must be a finite number. "
                             f"Received: pooling_temperature={pooling_temperature!r}")
        self.window_size = window_size
        self.pooling_temperature = float(pooling_temperature)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError("WindowedSoftmaxPooling expects scores of shape "
                             f"(batch, frames, num_classes). Received: "
                             f"input_shape={tuple(input_shape)}")
        self.built = True

    def call(self, inputs, mask=None):
        scores = ops.cast(inputs, "float32")
        if mask is None:
            mask = ops.ones(ops.shape(scores)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        window_maxima = self._window_maxima(scores, mask)
        valid_windows = self._valid_windows(mask)
        pooled = temporal_pooling_ops.softmax_pool(window_maxima, self.pooling_temperature,
                                                   axis=1, mask=valid_windows)
        return ops.cast(pooled, self.compute_dtype)

    def _window_maxima(self, scores, mask):
        # Right-padding with F − 1 very negative frames keeps the pool size static, so the
        # same graph serves any number of frames (also L < F); position t holds
        # max(scores[t:t + F]) and the windows that run past the video are masked later.
        fill = temporal_pooling_ops.NEGATIVE_FILL
        scores = ops.where(ops.expand_dims(mask, -1), scores, fill)
        padded = ops.pad(scores, [[0, 0], [0, self.window_size - 1], [0, 0]],
                         constant_values=fill)
        return ops.max_pool(padded, pool_size=self.window_size, strides=1, padding="valid",
                            data_format="channels_last")

    def _valid_windows(self, mask):
        # counts[t] = number of valid frames in [t, t + F), from a cumulative sum.
        valid = ops.cast(mask, "float32")
        padded = ops.pad(valid, [[0, 0], [1, self.window_size - 1]])
        cumulative = ops.cumsum(padded, axis=1)
        counts = cumulative[:, self.window_size:] - cumulative[:, :-self.window_size]
        needed = ops.minimum(ops.sum(valid, axis=1, keepdims=True), float(self.window_size))
        return ops.logical_and(mask, ops.logical_and(counts >= needed - 0.5, needed > 0.5))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"window_size": self.window_size,
                       "pooling_temperature": self.pooling_temperature})
        return config
