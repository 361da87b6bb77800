"""`SlidingWindows`: every K consecutive steps of a sequence, folded into the batch."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class SlidingWindows(keras.layers.Layer):
    """Every window of K consecutive steps (stride 1), folded into the batch.

    The relaxed-aggregation paper (Sections 3–4) runs its RNN over dense, overlapping
    intervals of K = 5 grids; folding the `steps − K + 1` intervals into the batch lets one
    RNN read them all. Use `UnfoldBatch` to restore `(batch, intervals, ...)`.

    Args:
        window: int. K, steps per window. Required.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, steps, features)` with `steps ≥ K`.

    Output shape:
        `(batch · (steps − K + 1), K, features)`.

    Example:

    >>> SlidingWindows(5)(np.zeros((2, 7, 4))).shape
    (6, 5, 4)
    """

    def __init__(self, window, **kwargs):
        super().__init__(**kwargs)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int. Received: window={window!r}")
        self.window = window

    def call(self, inputs):
        count = ops.shape(inputs)[1] - self.window + 1
        windows = ops.stack([inputs[:, k:k + count] for k in range(self.window)], axis=2)
        return ops.reshape(windows, (-1, self.window, ops.shape(inputs)[-1]))

    def compute_output_shape(self, input_shape):
        return (None, self.window, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "window": self.window}
