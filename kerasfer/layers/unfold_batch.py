"""`UnfoldBatch`: undoes a fold of n items per sample into the batch axis."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class UnfoldBatch(keras.layers.Layer):
    """Reshapes `(batch · n, ...)` back to `(batch, n, ...)`, reading `batch` from a reference.

    The inverse of the folds made by `FrameGrids` and `SlidingWindows` (relaxed aggregation,
    ChaLearn 2017, Section 4).

    Args:
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: list `[values, reference]`: `values` `(batch · n, ...)`, and any tensor
            `reference` whose first axis is the original batch.

    Returns:
        `(batch, n, ...)`.

    Example:

    >>> UnfoldBatch()([np.zeros((6, 4)), np.zeros((2, 9))]).shape
    (2, 3, 4)
    """

    def call(self, inputs):
        values, reference = inputs
        return ops.reshape(values, (ops.shape(reference)[0], -1, *ops.shape(values)[1:]))

    def compute_output_shape(self, input_shape):
        values, reference = input_shape
        return (reference[0], None, *values[1:])
