"""Winograd F(2×2×2, 3×3×3) Conv3D in `keras.ops` against TF's direct (oneDNN) Conv3D.

Why it is here: on CPUs where PyTorch already runs the big 3×3×3 convolutions at the
machine's fp32 peak (BENCHMARKS.md, "Models"), a Keras step can only beat it by doing fewer
multiplications. Winograd's minimal filtering (Lavin & Gray 2016, "Fast Algorithms for
Convolutional Neural Networks") computes a 2×2×2 output tile from a 4×4×4 input tile with
4³ = 64 multiplications per channel pair instead of 8 · 27 = 216 (3.4× fewer):

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A    (applied along each of the three axes)

with B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]], G = [[1,0,0],[½,½,½],[½,-½,½],
[0,0,1]], A^T = [[1,1,1,0],[0,1,-1,-1]]. The 64 element-wise products over channels become
64 batched matmuls. This script checks the result against `tf.nn.conv3d` and times forward
and forward + backward (data and filter gradients) on the layer shapes of i3D-VGG16 at
16×112×112, same threads, interleaved, best of `--repeats`.

Run: `python benchmarks/winograd_conv3d.py` (about 2 minutes on 2 cores).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)

import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], "float32")


def input_transform_1d(x, axis, tiles):
    """B^T along `axis` (length 2·tiles + 2, tiles of 4 with stride 2); new axis 0 of size 4."""
    def taps(offset):
        index = [slice(None)] * len(x.shape)
        index[axis] = slice(offset, offset + 2 * tiles, 2)
        return x[tuple(index)]

    d0, d1, d2, d3 = taps(0), taps(1), taps(2), taps(3)
    return ops.stack([d0 - d2, d1 + d2, d2 - d1, d1 - d3], axis=0)


def output_transform_1d(m, position):
    """A^T over axis 0 (size 4); the 2 outputs go to axis `position` of the result."""
    return ops.stack([m[0] + m[1] + m[2], m[1] - m[2] - m[3]], axis=position)


def winograd_conv3d(x, kernel):
    """"same" 3×3×3 stride-1 convolution of x (B, T, H, W, C) with kernel (3, 3, 3, C, O)."""
    batch, frames, height, width, channels = x.shape
    filters = kernel.shape[-1]
    nt, nh, nw = -(-frames // 2), -(-height // 2), -(-width // 2)
    x = ops.pad(x, [[0, 0], [1, 2 * nt + 1 - frames], [1, 2 * nh + 1 - height],
                    [1, 2 * nw + 1 - width], [0, 0]])
    v = input_transform_1d(x, 1, nt)  # (4t, B, nt, H+, W+, C)
    v = input_transform_1d(v, 3, nh)  # (4h, 4t, B, nt, nh, W+, C)
    v = input_transform_1d(v, 5, nw)  # (4w, 4h, 4t, B, nt, nh, nw, C)
    v = ops.reshape(v, (64, -1, channels))
    u = ops.einsum("at,bh,cw,thwio->cbaio", G, G, G, kernel)  # same (w, h, t) order
    m = ops.matmul(v, ops.reshape(u, (64, channels, filters)))
    m = ops.reshape(m, (4, 4, 4, batch, nt, nh, nw, filters))
    m = output_transform_1d(m, 6)  # w → after nw: (4h, 4t, B, nt, nh, nw, 2, O)
    m = output_transform_1d(m, 4)  # h → after nh
    m = output_transform_1d(m, 2)  # t → after nt: (B, nt, 2, nh, 2, nw, 2, O)
    y = ops.reshape(m, (batch, 2 * nt, 2 * nh, 2 * nw, filters))
    return y[:, :frames, :height, :width]


def direct_conv3d(x, kernel):
    return tf.nn.conv3d(x, kernel, [1] * 5, "SAME")


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"threads={THREADS} tf={tf.__version__}")
    print("| layer (frames×side²×C → C) | max rel. error | direct fwd ms | Winograd fwd ms | "
          "direct fwd+bwd ms | Winograd fwd+bwd ms | Winograd speed-up fwd / fwd+bwd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for frames, side, channels in ((16, 112, 64), (16, 56, 128), (16, 28, 256), (16, 14, 512),
                                   (16, 7, 512)):
        x = tf.constant(rng.normal(size=(1, frames, side, side, channels)).astype("float32"))
        kernel = tf.constant(0.05 * rng.normal(size=(3, 3, 3, channels, channels))
                             .astype("float32"))
        reference = direct_conv3d(x, kernel)
        error = float(tf.reduce_max(tf.abs(reference - winograd_conv3d(x, kernel)))
                      / tf.reduce_max(tf.abs(reference)))
        seconds = {}
        for name, conv in (("direct", direct_conv3d), ("winograd", winograd_conv3d)):
            forward = tf.function(lambda x, k, conv=conv: conv(x, k))

            @tf.function
            def train(x, k, conv=conv):
                with tf.GradientTape() as tape:
                    tape.watch([x, k])
                    loss = tf.reduce_sum(tf.square(conv(x, k)))
                return [loss] + tape.gradient(loss, [x, k])

            seconds[name] = (timed(lambda: forward(x, kernel).numpy(), args.repeats),
                             timed(lambda: [t.numpy() for t in train(x, kernel)], args.repeats))
        (df, dt), (wf, wt) = seconds["direct"], seconds["winograd"]
        print(f"| {frames}×{side}²×{channels} → {channels} | {error:.1e} | {1e3 * df:.0f} | "
              f"{1e3 * wf:.0f} | {1e3 * dt:.0f} | {1e3 * wt:.0f} | {df / wf:.2f}× / "
              f"{dt / wt:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
