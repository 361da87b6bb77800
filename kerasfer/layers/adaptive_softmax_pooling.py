"""Adaptive softmax pooling (autopool) with a learnable inverse temperature per class."""

import keras

from kerasfer.layers import temporal_pooling_ops
from kerasfer.layers.temporal_pooling import TemporalPooling


@keras.saving.register_keras_serializable(package="kerasfer")
class AdaptiveSoftmaxPooling(TemporalPooling):
    """Softmax pooling over time with a learnable inverse temperature β_c per class.

    Autopool of McFee et al. (2018), Ayral (2021) thesis, Eq. 2.1:
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

    def build(self, input_shape):
        super().build(input_shape)
        num_classes = input_shape[-1]
        if num_classes is None:
            raise ValueError("AdaptiveSoftmaxPooling needs a known number of classes (last "
                             f"axis) to create one β per class. Received: "
                             f"input_shape={tuple(input_shape)}")
        self.beta = self.add_weight(name="beta", shape=(num_classes,), initializer="ones",
                                    trainable=True)

    def pool(self, inputs, mask):
        return temporal_pooling_ops.softmax_pool(inputs, self.beta, self.axis, mask)
