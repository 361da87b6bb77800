"""Relaxed spatio-temporal aggregation of conv5 features, CBP + RNN + CBP (ChaLearn 2017, Sec. 4).

Not in the model registry: it maps precomputed conv5 feature sequences (not video clips) to
video descriptors that a linear SVM classifies (`kerasfer.evaluation.relaxed_aggregation_svm`).
"""

import keras

from kerasfer.layers.compact_bilinear_pooling import CompactBilinearPooling
from kerasfer.layers.frame_grids import FrameGrids
from kerasfer.layers.net_vlad import NetVLAD
from kerasfer.layers.sliding_windows import SlidingWindows
from kerasfer.layers.unfold_batch import UnfoldBatch
from kerasfer.models.contract import check_positive_int

AGGREGATIONS = ("cbp_rnn_cbp", "cbp_rnn_netvlad", "cbp", "netvlad", "average")
PAPER_FRAMES_PER_GRID = 3  # T (Section 5)
PAPER_GRIDS_PER_INTERVAL = 5  # K (Section 5): K·T = 15 frames = 150 ms at 100 fps
PAPER_OUTPUT_DIM = 512  # video-level representation of every method (Section 6)
PAPER_NUM_CLUSTERS = 32  # NetVLAD (Section 6)


def relaxed_aggregation(input_shape=(None, 6, 6, 512), aggregation="cbp_rnn_cbp",
                        frames_per_grid=PAPER_FRAMES_PER_GRID,
                        grids_per_interval=PAPER_GRIDS_PER_INTERVAL, grid_dim=512,
                        rnn_units=512, output_dim=PAPER_OUTPUT_DIM,
                        num_clusters=PAPER_NUM_CLUSTERS, num_classes=None, seed=None,
                        name="relaxed_aggregation"):
    """Relaxed aggregation descriptor: CBP per frame grid, LSTM over K grids, CBP over intervals.

    Section 4 (Fig. 2): the M·T local conv5 features of T consecutive frames (a grid) are
    pooled by compact bilinear pooling into `y_k` (layer `<name>_grid_cbp`, Gao et al. CBP
    with signed square root and L2 normalisation); an RNN reads K consecutive grids and its
    last output `o_K` (Eq. 1, layer `<name>_rnn`) represents the K·T-frame interval. The RNN
    is an LSTM: Eq. 1 carries a cell state `c_k` and the temporal model is [10]; its width
    is not given in the paper (`rnn_units`, as is the grid CBP size `grid_dim`). Intervals
    are taken densely: grids are the non-overlapping T-frame chunks of the input and an
    interval starts at every grid (stride T frames, K − 1 grids shared by neighbours); the
    trailing `frames mod T` frames are dropped, and `frames` must be ≥ K·T. The interval
    representations are pooled by a second CBP into the `output_dim` = 512 video descriptor
    (Section 6, layer `<name>_video_cbp`). With T = 3, K = 5 (Section 5) an interval is
    15 frames = 150 ms at 100 fps; 15 input frames give one interval.

    Section 4 (last paragraph) learns the aggregation and the video-level pooling
    separately, with Adam (Section 5) on 150 ms intervals; CBP has no trainable weights, so
    the trained part is the LSTM. The paper does not name its loss; `num_classes` puts a
    linear layer on `o_K` (assumed, e.g. 2 for real/fake per emotion) and returns logits
    averaged over the intervals, without the second-level pooling.

    The Table 1 baselines without RNN: `"cbp"` and `"netvlad"` (32 clusters, then a linear
    projection to `output_dim` as in LOUPE, since Section 6 fixes every descriptor to 512)
    pool all frames' local features; `"cbp_rnn_netvlad"` swaps the second CBP for NetVLAD;
    `"average"` (not in the paper) is the mean local feature. PCA variants are out of scope.
    Inputs should be per-person mean-normalised ReLU conv5 maps (Section 3, see
    `kerasfer.evaluation.relaxed_aggregation_svm.per_person_mean_normalization`).

    Args:
        input_shape: tuple. `(frames, height, width, channels)`; frames may be None. M =
            height · width local features per frame. Defaults to `(None, 6, 6, 512)` (VGG
            conv5 of 224 × 224 faces, M = 36).
        aggregation: str. One of `AGGREGATIONS`. Defaults to `"cbp_rnn_cbp"`.
        frames_per_grid: int. T, frames per grid. Defaults to 3.
        grids_per_interval: int. K, grids per RNN interval. Defaults to 5.
        grid_dim: int. Output size of the grid CBP. Defaults to 512.
        rnn_units: int. LSTM units, size of `o_K`. Defaults to 512.
        output_dim: int. Size of the video descriptor. Defaults to 512.
        num_clusters: int. NetVLAD clusters. Defaults to 32.
        num_classes: int or None. If set, the model returns `(batch, num_classes)` logits
            (see above) instead of the descriptor. Defaults to None.
        seed: int or None. Seed of the CBP hashes (the video CBP uses `seed + 1`).
            Defaults to None.
        name: str. Model name and layer-name prefix. Defaults to `"relaxed_aggregation"`.

    Returns:
        A `keras.Model` from `(batch, frames, height, width, channels)` to
        `(batch, output_dim)` (`(batch, channels)` for `"average"`), or to
        `(batch, num_classes)` logits.

    Example:

    >>> model = relaxed_aggregation((15, 6, 6, 8), grid_dim=16, rnn_units=8, output_dim=32)
    >>> model(np.zeros((2, 15, 6, 6, 8))).shape
    (2, 32)
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}. "
                         f"Received: aggregation={aggregation!r}")
    for value, label in ((frames_per_grid, "frames_per_grid"),
                         (grids_per_interval, "grids_per_interval"), (grid_dim, "grid_dim"),
                         (rnn_units, "rnn_units"), (output_dim, "output_dim"),
                         (num_clusters, "num_clusters")):
        check_positive_int(value, label)
    if num_classes is not None:
        check_positive_int(num_classes, "num_classes")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be None or a non-negative int. Received: seed={seed!r}")
    uses_rnn = aggregation.startswith("cbp_rnn")
    interval = frames_per_grid * grids_per_interval if uses_rnn else 1
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4
            or input_shape[-1] is None
            or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
                   for d in input_shape)
            or (input_shape[0] is not None and input_shape[0] < interval)):
        raise ValueError("input_shape must be (frames, height, width, channels) of positive "
                         f"ints (frames may be None, else ≥ {interval} for {aggregation!r}) "
                         f"and known channels. Received: input_shape={input_shape!r}")

    features = keras.Input(tuple(input_shape), name="conv5_features")
    second_seed = None if seed is None else seed + 1
    if uses_rnn:
        x = apply_grid_pooling(features, frames_per_grid, grid_dim, seed, name)
        x = apply_interval_rnn(x, grids_per_interval, rnn_units, name)
        if num_classes is not None:
            x = keras.layers.Dense(num_classes, name=f"{name}_logits")(x)
            outputs = keras.layers.GlobalAveragePooling1D(name=f"{name}_interval_mean")(x)
            return keras.Model(features, outputs, name=name)
        pooling = aggregation.rsplit("_", 1)[-1]
        outputs = apply_video_pooling(x, pooling, output_dim, num_clusters, second_seed,
                                      f"{name}_video")
    elif aggregation == "average":
        outputs = keras.layers.GlobalAveragePooling3D(name=f"{name}_average")(features)
    else:
        outputs = apply_video_pooling(features, aggregation, output_dim, num_clusters, seed,
                                      f"{name}_video")
    if num_classes is not None:
        outputs = keras.layers.Dense(num_classes, name=f"{name}_logits")(outputs)
    return keras.Model(features, outputs, name=name)


def apply_grid_pooling(features, frames_per_grid, grid_dim, seed, prefix):
    """CBP of each T-frame grid: `(batch, frames, h, w, c)` → `(batch, frames // T, grid_dim)`."""
    grids = FrameGrids(frames_per_grid, name=f"{prefix}_frame_grids")(features)
    pooled = CompactBilinearPooling(grid_dim, seed=seed, name=f"{prefix}_grid_cbp")(grids)
    return UnfoldBatch(name=f"{prefix}_grid_sequence")([pooled, features])


def apply_interval_rnn(grids, grids_per_interval, rnn_units, prefix):
    """`o_K` of every K-grid interval: `(batch, grids, d)` → `(batch, grids − K + 1, units)`."""
    windows = SlidingWindows(grids_per_interval, name=f"{prefix}_intervals")(grids)
    outputs = keras.layers.LSTM(rnn_units, name=f"{prefix}_rnn")(windows)
    return UnfoldBatch(name=f"{prefix}_interval_sequence")([outputs, grids])


def apply_video_pooling(x, pooling, output_dim, num_clusters, seed, prefix):
    """CBP, or NetVLAD + linear projection, of `(batch, positions..., d)` to `output_dim`."""
    if pooling == "cbp":
        return CompactBilinearPooling(output_dim, seed=seed, name=f"{prefix}_cbp")(x)
    x = NetVLAD(num_clusters, name=f"{prefix}_netvlad")(x)
    return keras.layers.Dense(output_dim, use_bias=False, name=f"{prefix}_projection")(x)
