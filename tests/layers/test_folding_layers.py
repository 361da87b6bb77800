"""FrameGrids, SlidingWindows and UnfoldBatch: folds into the batch axis and back."""

import numpy as np
import pytest

from kerasfer.layers import FrameGrids
from kerasfer.layers import SlidingWindows
from kerasfer.layers import UnfoldBatch


def test_frame_grids_then_unfold_restores_the_frames_and_drops_the_remainder():
    frames = np.random.default_rng(0).normal(size=(2, 8, 3, 3, 4)).astype("float32")
    grids = np.asarray(FrameGrids(3)(frames))
    assert grids.shape == (4, 3, 3, 3, 4)  # 2 grids per video, the last 2 frames dropped
    np.testing.assert_array_equal(grids[1], frames[0, 3:6])
    np.testing.assert_array_equal(grids[2], frames[1, 0:3])
    unfolded = np.asarray(UnfoldBatch()([grids, frames]))
    np.testing.assert_array_equal(unfolded.reshape(2, 6, 3, 3, 4), frames[:, :6])


def test_sliding_windows_are_every_k_consecutive_steps():
    steps = np.random.default_rng(1).normal(size=(2, 7, 4)).astype("float32")
    windows = np.asarray(SlidingWindows(5)(steps)).reshape(2, 3, 5, 4)
    for video in range(2):
        for start in range(3):
            np.testing.assert_array_equal(windows[video, start], steps[video, start:start + 5])


@pytest.mark.parametrize("layer, argument, value", [
    (FrameGrids, "frames_per_grid", 0), (FrameGrids, "frames_per_grid", True),
    (SlidingWindows, "window", 2.0), (SlidingWindows, "window", -1)])
def test_bad_arguments_raise(layer, argument, value):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        layer(value)
