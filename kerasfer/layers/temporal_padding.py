"""Pads the time axis of a clip with zeros or with copies of its border frames."""

import keras
from keras import ops

PADDING_MODES = ("zero", "replicate")


@keras.saving.register_keras_serializable(package="kerasfer")
class TemporalPadding(keras.layers.Layer):
    """Pads `(batch, frames, ...)` along the frame axis, with zeros or replicated frames.

    Used by `kerasfer.models.inflate` in front of inflated convolutions. Replicate padding
    repeats the first and last frame, so a static ("boring") video stays static at the
    borders and an inflated 2D CNN reproduces its 2D output on every frame, not only on
    frames away from the borders (Carreira & Zisserman 2017, Ayral (2021) thesis, Section 1.2.5).

    Args:
        padding: int or tuple of 2 ints. Frames added before and after. Defaults to `1`.
        mode: str. `"zero"` or `"replicate"`. Defaults to `"replicate"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, frames, ...)`, e.g. `(batch, frames, height, width, channels)`.

    Returns:
        `(batch, frames + before + after, ...)`.

    Example:

    >>> TemporalPadding(1, "replicate")(np.zeros((2, 8, 4, 4, 3))).shape
    (2, 10, 4, 4, 3)
    """

    def __init__(self, padding=1, mode="replicate", **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding, padding)
        if (not isinstance(padding, (tuple, list)) or len(padding) != 2
                or any(isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in padding)):
            raise ValueError("padding must be a non-negative int or a pair of them. "
                             f"Received: padding={padding!r}")
        if mode not in PADDING_MODES:
            raise ValueError(f"mode must be one of {PADDING_MODES}. Received: mode={mode!r}")
        self.padding = tuple(int(p) for p in padding)
        self.mode = mode

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("TemporalPadding expects (batch, frames, ...). Received: "
                             f"input_shape={tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        before, after = self.padding
        if self.mode == "zero":
            widths = [(0, 0), (before, after)] + [(0, 0)] * (len(inputs.shape) - 2)
            return ops.pad(inputs, widths)
        parts = []
        if before:
            parts.append(ops.repeat(inputs[:, :1], before, axis=1))
        parts.append(inputs)
        if after:
            parts.append(ops.repeat(inputs[:, -1:], after, axis=1))
        return ops.concatenate(parts, axis=1) if len(parts) > 1 else inputs

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        if frames is not None:
            frames = frames + sum(self.padding)
        return (input_shape[0], frames, *input_shape[2:])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "mode": self.mode})
        return config
