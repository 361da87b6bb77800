"""Inflation of a 2D Keras CNN into a temporally dense 3D CNN (I3D, thesis Section 1.2.5).

`inflate(model_2d)` rebuilds a channels-last functional (or Sequential) 2D CNN layer by
layer so that it takes clips `(batch, frames, height, width, channels)` and returns, for
every 2D output `(batch, ...)`, the per-frame output `(batch, frames, ...)`:

| 2D layer | 3D counterpart |
| --- | --- |
| `Conv2D` k×k | `Conv3D` T×k×k, stride `(1, s, s)`; 1×1 stays 1×1×1 (as in I3D) |
| `DepthwiseConv2D` | `DepthwiseConv3D` T×k×k (a true 3D depthwise convolution) |
| `SeparableConv2D` | `DepthwiseConv3D` T×k×k + pointwise 1×1×1 `Conv3D` |
| `BatchNormalization` | the same layer, statistics and affine weights copied |
| `Max/AveragePooling2D` | `Max/AveragePooling3D` 1×k×k (no temporal pooling) |
| `GlobalAverage/MaxPooling2D` | `GlobalSpatialPooling`: per-frame spatial pooling |
| `Flatten` | per-frame flatten `(batch, frames, features)` |
| `Dense` | the same layer on the last axis = per-frame dense = 1×1×1 convolution |
| `ZeroPadding2D`, `Cropping2D` | the 3D layer with no temporal padding / cropping |
| activations, `Dropout`, `Add`, `Concatenate`, ... | the same layer, applied per frame |

Kernels are repeated over time and divided by T (`initialization="repeat"`, Carreira &
Zisserman 2017, thesis Section 1.2.5) or put in the central tap with zeros elsewhere
(`"center"`). Either way a static ("boring") video gives, on every frame, exactly the 2D
model's output on that frame. No temporal stride and no temporal pooling are introduced
(the temporally dense design of thesis Section 2.1.3 / Table 2.2), so the output keeps one
entry per input frame and any number of frames is accepted.

Temporal padding. `temporal_padding="zero"` (the default) is the padding of I3D, C3D and of
the thesis' i3D-VGG16, so models and weights stay comparable with theirs; it is one zero pad
per layer that TF's graph optimiser and XLA fuse into the convolution (fastest). With
"repeat" kernels the frames at the borders then see fewer copies of themselves, so on a
boring video only the frames at least `temporal_radius` = Σ⌊T/2⌋ (over the inflated layers
of the deepest path; 13 for i3D-VGG16) away from both ends equal the 2D output; the border
frames differ. `"replicate"` pads with copies of the border frames, which makes the
identity exact on every frame at the price of one padded copy per layer; "center"
initialisation is exact everywhere with either padding.

Depthwise convolutions are inflated as full 3D depthwise convolutions (one T×k×k filter per
channel and depth multiplier; `kerasfer.layers.DepthwiseConv3D`, computed as T native 2D
depthwise convolutions, since a grouped `Conv3D` needs XLA on TF CPU) rather than per-frame
depthwise + a separate temporal convolution: it is the direct 3D analogue of the 2D layer,
keeps the parameter layout of every other inflated layer (T× the 2D kernel) and preserves
the boring-video identity by the same argument (its T taps sum to the 2D kernel).

Example:

>>> base = keras.applications.VGG16(weights=None, input_shape=(32, 32, 3))
>>> model = inflate(base, time_kernel=3)
>>> model(np.zeros((1, 16, 32, 32, 3))).shape
(1, 16, 1000)
"""

from __future__ import annotations

from kerasfer.models.graph_inflater import GraphInflater
from kerasfer.models.graph_inflater import check_time_kernel
from kerasfer.models.graph_inflater import inflate_kernel

__all__ = ["INITIALIZATIONS", "TEMPORAL_PADDINGS", "inflate", "inflate_kernel"]

INITIALIZATIONS = ("repeat", "center")
TEMPORAL_PADDINGS = ("zero", "replicate")

def inflate(model_2d, time_kernel=3, initialization="repeat", temporal_padding="zero",
            inflate_pointwise=False, name=None):
    """Turns a channels-last 2D Keras CNN into a temporally dense 3D CNN (I3D inflation).

    Ayral (2021) thesis, Section 1.2.5 and 2.1.3; Carreira & Zisserman (2017). See the module
    docstring for the layer mapping and the border behaviour of temporal padding.

    Args:
        model_2d: keras.Model. A functional or Sequential model of channels-last 2D layers.
        time_kernel: int or callable. Odd temporal kernel size T of inflated k×k
            convolutions, or `f(layer_2d) -> int` choosing it per layer. Defaults to `3`.
        initialization: str. `"repeat"` (2D kernel repeated over the T taps and divided by
            T) or `"center"` (2D kernel in the central tap, zeros elsewhere). Defaults to
            `"repeat"`.
        temporal_padding: str. `"zero"` or `"replicate"` ("same" temporal padding with
            zeros, or with copies of the border frames). Defaults to `"zero"`.
        inflate_pointwise: bool. Also give 1×1 convolutions a temporal kernel (I3D keeps
            them 1×1×1). Defaults to `False`.
        name: str. Name of the 3D model. Defaults to `model_2d.name + "_3d"`.

    Returns:
        A `keras.Model` from `(batch, frames, height, width, channels)` to per-frame outputs
        `(batch, frames, ...)`. Its Python attribute `temporal_radius` is Σ⌊T/2⌋ along the
        deepest path (frames closer to a border than this see the temporal padding).
    """
    if initialization not in INITIALIZATIONS:
        raise ValueError(f"initialization must be one of {INITIALIZATIONS}. "
                         f"Received: initialization={initialization!r}")
    if temporal_padding not in TEMPORAL_PADDINGS:
        raise ValueError(f"temporal_padding must be one of {TEMPORAL_PADDINGS}. "
                         f"Received: temporal_padding={temporal_padding!r}")
    if not callable(time_kernel):
        check_time_kernel(time_kernel, "time_kernel")
    inflater = GraphInflater(time_kernel, initialization, temporal_padding, inflate_pointwise)
    model_3d = inflater.inflate_model(model_2d, name or f"{model_2d.name}_3d")
    return model_3d
