"""NetVLAD of local features (Arandjelović et al. 2016; relaxed aggregation, ChaLearn 2017)."""

import math

import keras
from keras import ops

# Floor of the squared norms in the normalisations: keeps an all-zero block (a cluster that
# receives no weight) at 0 with a finite gradient instead of 0 / 0.
_EPSILON = 1e-12


@keras.saving.register_keras_serializable(package="kerasfer")
class NetVLAD(keras.layers.Layer):
    """NetVLAD: soft-assignment VLAD of local features with learnable cluster centres.

    The trainable alternative to CBP in the relaxed-aggregation paper (Section 4, "In the
    feature pooling step, one of the aforementioned methods can be used such as NetVlad
    [2]"; Section 6 and Tables 1-2 use K = 32 clusters). Arandjelović et al. (CVPR 2016),
    Eq. 4: with K cluster centres `c_k` and a 1×1 convolution `(w_k, b_k)` giving the soft
    assignment `a_k(x_i) = softmax_k(w_kᵀ x_i + b_k)`, the descriptor of the N local
    features `x_i ∈ R^D` is the K × D matrix `V(k) = sum_i a_k(x_i) · (x_i − c_k)`. Each row
    V(k) is L2-normalised ("intra-normalisation"), then the flattened K·D vector is
    L2-normalised; so every cluster block of the output has norm `1 / sqrt(K)`.

    With `alpha` set, the assignment is initialised as in Arandjelović et al. Eqs. 2-3:
    `w_k = 2α c_k` and `b_k = −α ‖c_k‖²`, so `a_k(x) = softmax_k(−α ‖x − c_k‖²)`, and
    `α → ∞` is hard-assignment VLAD to the nearest centre. Without it the centres and the
    kernel are independent, random normal with standard deviation `1 / sqrt(D)` as in the
    LOUPE implementation the relaxed-aggregation paper uses (Section 5), and the bias starts at 0.

    Args:
        num_clusters: int. Number K of cluster centres. Defaults to `32`.
        alpha: float or None. Positive sharpness α of the initial assignment, which then
            ties `(w_k, b_k)` to the initial centres; `None` initialises them
            independently. Defaults to `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: local features `(batch, positions..., channels)` with at least one
            position axis, e.g. `(batch, height, width, channels)` or
            `(batch, frames, height, width, channels)`.

    Returns:
        `(batch, num_clusters · channels)`, cluster-major: block k holds V(k).

    Example:

    >>> layer = NetVLAD(num_clusters=4)
    >>> layer(np.zeros((2, 7, 7, 16))).shape
    (2, 64)
    """

    def __init__(self, num_clusters=32, alpha=None, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(num_clusters, bool) or not isinstance(num_clusters, int)
                or num_clusters < 1):
            raise ValueError(f"num_clusters must be a positive int. "
                             f"Received: num_clusters={num_clusters!r}")
        if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
                                  or not math.isfinite(alpha) or alpha <= 0):
            raise ValueError(f"alpha must be None or a positive finite number. "
                             f"Received: alpha={alpha!r}")
        self.num_clusters = num_clusters
        self.alpha = None if alpha is None else float(alpha)

    def build(self, input_shape):
        if len(input_shape) < 3 or input_shape[-1] is None:
            raise ValueError("NetVLAD expects (batch, positions..., channels) with at least "
                             "one position axis and known channels. "
                             f"Received: input_shape={tuple(input_shape)}")
        channels = input_shape[-1]
        initializer = keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(channels))
        self.centers = self.add_weight(name="centers", shape=(self.num_clusters, channels),
                                       initializer=initializer, trainable=True)
        self.kernel = self.add_weight(name="kernel", shape=(channels, self.num_clusters),
                                      initializer=initializer, trainable=True)
        self.bias = self.add_weight(name="bias", shape=(self.num_clusters,),
                                    initializer="zeros", trainable=True)
        if self.alpha is not None:
            centers = ops.convert_to_tensor(self.centers)
            self.kernel.assign(2.0 * self.alpha * ops.transpose(centers))
            self.bias.assign(-self.alpha * ops.sum(ops.square(centers), axis=1))
        self.built = True

    def call(self, inputs):
        # float32 throughout: the sums of squares of the normalisations overflow float16.
        features = ops.cast(inputs, "float32")
        features = ops.reshape(features, (ops.shape(features)[0], -1, ops.shape(features)[-1]))
        centers = ops.cast(self.centers, "float32")
        logits = (ops.matmul(features, ops.cast(self.kernel, "float32"))
                  + ops.cast(self.bias, "float32"))
        assignment = ops.softmax(logits, axis=-1)
        # sum_i a_k(x_i) (x_i − c_k) = sum_i a_k(x_i) x_i − (sum_i a_k(x_i)) c_k.
        vlad = (ops.einsum("bnk,bnd->bkd", assignment, features)
                - ops.expand_dims(ops.sum(assignment, axis=1), -1) * centers)
        vlad = _l2_normalize(vlad, axis=-1)
        vlad = ops.reshape(vlad, (ops.shape(vlad)[0], -1))
        return ops.cast(_l2_normalize(vlad, axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_clusters * input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"num_clusters": self.num_clusters, "alpha": self.alpha})
        return config


def _l2_normalize(values, axis):
    squared_norm = ops.sum(ops.square(values), axis=axis, keepdims=True)
    return values / ops.sqrt(ops.maximum(squared_norm, _EPSILON))
