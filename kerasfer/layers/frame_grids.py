"""`FrameGrids`: consecutive frames grouped into grids of T frames, folded into the batch."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasfer")
class FrameGrids(keras.layers.Layer):
    """Groups consecutive frames into non-overlapping grids of T frames.

    The relaxed-aggregation paper (Section 4) pools the local features of every grid of T =
    3 consecutive frames with compact bilinear pooling; folding the grids into the batch
    lets one pooling layer see each grid's T · M positions at once. The last `frames mod T`
    frames are dropped. `UnfoldBatch` restores the `(batch, grids, ...)` layout.

    Args:
        frames_per_grid: int. T, frames per grid. Required.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, frames, ...)`, e.g. `(batch, frames, height, width, channels)`.

    Output shape:
        `(batch · (frames // T), T, ...)`.

    Example:

    >>> FrameGrids(3)(np.zeros((2, 16, 6, 6, 8))).shape
    (10, 3, 6, 6, 8)
    """

    def __init__(self, frames_per_grid, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(frames_per_grid, bool) or not isinstance(frames_per_grid, int)
                or frames_per_grid < 1):
            raise ValueError("frames_per_grid must be a positive int. "
                             f"Received: frames_per_grid={frames_per_grid!r}")
        self.frames_per_grid = frames_per_grid

    def call(self, inputs):
        shape = ops.shape(inputs)
        grids = shape[1] // self.frames_per_grid
        inputs = inputs[:, :grids * self.frames_per_grid]
        return ops.reshape(inputs, (-1, self.frames_per_grid, *shape[2:]))

    def compute_output_shape(self, input_shape):
        return (None, self.frames_per_grid, *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "frames_per_grid": self.frames_per_grid}
