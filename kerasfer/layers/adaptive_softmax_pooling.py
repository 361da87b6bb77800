"""Adaptive softmax pooling (autopool) with a learnable inverse temperature per class."""

import keras

from kerasfer.layers import temporal_pooling_ops


@keras.saving.register_keras_serializable(package="kerasfer")
class AdaptiveSoftmaxPooling(keras.layers.Layer):
    """Softmax pooling over time with a learnable inverse temperature β_c per class.

    Autopool of McFee et al. (2018), thesis (seed 004) Eq. 2.1:
    `y_c = sum_t softmax(β_c · x_·,c)_t · x_t,c`. The β_c are unconstrained and initialised
    to 1 as in the thesis (Section 2.3.2); `β_c = 0` is average pooling and `β_c → ∞` max
    pooling for class c. The gradient of `y_c` with respect to β_c is the variance of
    `x_·,c` under the pooling weights, so it is nonzero whenever the scores vary in time.

    Args:
        axis: int. The time axis of the scores (never the batch axis nor the last, class
            axis). Defaults to `1`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: scores `(batch, frames, num_classes)`, usually logits.
        mask: optional bool `(batch, frames)`, `False` on padded frames.

    Returns:
        `(batch, num_classes)`.

    Example:

    >>> layer = AdaptiveSoftmaxPooling()
    >>> layer(np.zeros((2, 8, 7))).shape  # one β per class: layer.beta.shape == (7,)
    (2, 7)
    """

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        temporal_pooling_ops.normalize_pooling_axis(self.axis, len(input_shape), self.name)
        num_classes = input_shape[-1]
        if num_classes is None:
            raise ValueError("AdaptiveSoftmaxPooling needs a known number of classes (last "
                             f"axis) to create one β per class. Received: "
                             f"input_shape={tuple(input_shape)}")
        self.beta = self.add_weight(name="beta", shape=(num_classes,), initializer="ones",
                                    trainable=True)
        self.built = True

    def call(self, inputs, mask=None):
        pooled = temporal_pooling_ops.softmax_pool(inputs, self.beta, self.axis, mask)
        return keras.ops.cast(pooled, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return temporal_pooling_ops.pooled_output_shape(input_shape, self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
