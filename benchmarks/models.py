"""Model speed, side by side: Keras (TF, with and without XLA) vs PyTorch, and whole-video eval.

1. Training-step clips/s of C3D, i3D-VGG16 and R3D-18 at 16×112×112 (from
   `kerasfer.models.get_model`) against PyTorch implementations of the same architectures
   written below, same threads and batch, steps interleaved (Keras, Keras+XLA, PyTorch, …),
   medians. Achieved FLOP/s (training = 3 × forward; forward FLOPs = 2 × the MACs of every
   conv / linear layer, counted with hooks on the PyTorch twin) against the fp32 matmul peak
   measured here with 2048² and 4096² matmuls in both frameworks (best time, at start-up, and
   a 2048² matmul interleaved with the steps; the largest is the peak).
   A ceiling column gives the ratio a Keras step at 100 % of that peak would reach, and a
   parity check times single 3×3×3 Conv3D layers (forward + backward) in both frameworks.
2. Whole-video evaluation (L = 128, F = 16, thesis Section 3.2.3) with the inflated FER2013
   mini-Xception: one fully-convolutional pass + `WindowedSoftmaxPooling` against the 113
   windows as separate clips (max within each clip, softmax pooling across clips).

Run: `python benchmarks/models.py` (about 12 minutes on 2 shared cores). Needs
`pip install torch==2.13.0` (CPU build).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from kerasfer.layers import SoftmaxPooling  # noqa: E402
from kerasfer.layers import WindowedSoftmaxPooling  # noqa: E402
from kerasfer.models import get_model  # noqa: E402
from torch_models import NUM_CLASSES  # noqa: E402  (benchmarks/ is on sys.path)
from torch_models import TorchI3DVGG16  # noqa: E402
from torch_models import TorchR3D18  # noqa: E402
from torch_models import forward_flops  # noqa: E402
from torch_models import torch_c3d  # noqa: E402

torch.set_num_threads(THREADS)


# Measurements ---------------------------------------------------------------------------

def matmul_peak(sizes=(2048, 4096), repeats=5):
    """Best fp32 matmul FLOP/s of TF and of PyTorch over square sizes (each side's best)."""
    best_tf = best_torch = 0.0
    for size in sizes:
        a = tf.random.normal((size, size))
        tf_matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
        ta = torch.randn(size, size)
        tf_matmul(a).numpy()
        torch.mm(ta, ta)
        tf_times, torch_times = [], []
        for _ in range(repeats):  # interleaved, best of `repeats`
            start = time.perf_counter()
            tf_matmul(a).numpy()
            tf_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            torch.mm(ta, ta)
            torch_times.append(time.perf_counter() - start)
        flops = 2 * size ** 3
        best_tf = max(best_tf, flops / min(tf_times))
        best_torch = max(best_torch, flops / min(torch_times))
    return best_tf, best_torch


def conv_kernel_parity(shape, repeats=3):
    """One 3×3×3 Conv3D layer's forward + backward (data and filter) in TF and in PyTorch.

    Both frameworks call oneDNN for Conv3D on x86 CPUs; if their kernels run at the same
    rate, no whole-model ratio can exceed what the rest of the step (BN, ReLU, pooling,
    optimiser, framework overhead) leaves to win. `shape` = (frames, side, channels).
    """
    frames, side, channels = shape
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(1, frames, side, side, channels)).astype("float32"))
    kernel = tf.Variable(rng.normal(size=(3, 3, 3, channels, channels)).astype("float32")
                         * 0.01)

    @tf.function
    def tf_step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv3d(x, kernel, [1] * 5, "SAME")
            loss = tf.reduce_sum(y)
        return [loss] + tape.gradient(loss, [x, kernel])  # the loss keeps the forward alive

    conv = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
    tx = torch.from_numpy(x.numpy()).permute(0, 4, 1, 2, 3).contiguous().requires_grad_()

    def torch_step():
        conv.weight.grad = None
        tx.grad = None
        loss = conv(tx).sum()
        loss.backward()
        return float(loss.detach())

    sides = {"tf": lambda: [g.numpy() for g in tf_step(x)], "torch": torch_step}
    times = {key: [] for key in sides}
    for key, fn in sides.items():
        fn()
    for _ in range(repeats):
        for key, fn in sides.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    flops = 3 * 2 * frames * side * side * channels * channels * 27
    return {key: flops / min(values) for key, values in times.items()}


def r3d_18_segments(batch, repeats=4):
    """R3D-18 forward + backward per segment (stem, pool1, stages 1-4, head) in both frameworks.

    Times prefixes of the network (input → end of segment; loss = Σ output², gradients of
    every trainable weight) and reports the differences, so the step time can be laid out
    segment by segment on each side.
    """
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(batch, 16, 112, 112, 3)).astype("float32")
    model = get_model("r3d_18", NUM_CLASSES)
    cuts = ["conv1_relu", "pool1"] + [f"stage{i}_block2_out" for i in range(1, 5)]
    cuts.append(model.layers[-1].name)
    net = TorchR3D18()
    torch_clips = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()
    torch_prefixes = [net.stem[:3], net.stem] + [nn.Sequential(net.stem, net.blocks[:2 * i])
                                                  for i in range(1, 5)] + [net]

    def best_ms(fn):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1e3 * min(times)

    rows = []
    for cut, prefix in zip(cuts, torch_prefixes):
        sub = (model if cut == cuts[-1] else  # the other cuts are in the ClipClassifier's backbone
               keras.Model(model.backbone.input, model.backbone.get_layer(cut).output))

        @tf.function
        def keras_step(x, sub=sub):
            with tf.GradientTape() as tape:
                y = sub(x, training=True)
                loss = tf.reduce_sum(y * y)
            return [loss] + tape.gradient(loss, sub.trainable_variables)

        def torch_step(prefix=prefix):
            net.zero_grad(set_to_none=True)
            y = prefix(torch_clips)
            loss = (y * y).sum()
            loss.backward()
            return float(loss.detach())

        x = tf.constant(clips)
        rows.append((cut, best_ms(lambda: [g.numpy() for g in keras_step(x)]),
                     best_ms(torch_step)))
    return rows


def cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def keras_model(name, jit_compile, batch):
    kwargs = {"input_shape": (None, 112, 112, 3)} if name == "i3d_vgg16" else {}
    model = get_model(name, NUM_CLASSES, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    return model


def bench_training(name, torch_net, batch, steps, xla=True, bfloat16=False):
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(batch, 16, 112, 112, 3)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, size=(batch,))
    torch_clips = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()
    torch_labels = torch.from_numpy(labels)
    flops = 3 * forward_flops(torch_net.eval(), torch_clips[:1]) * batch
    torch_net.train()
    optimizer = torch.optim.SGD(torch_net.parameters(), lr=1e-4)

    def torch_step():
        optimizer.zero_grad(set_to_none=True)
        # --precision bfloat16: autocast, PyTorch's counterpart of Keras' mixed_bfloat16.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            loss = nn.functional.cross_entropy(torch_net(torch_clips), torch_labels)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    sides = {"keras": keras_model(name, False, batch)}
    if xla:
        sides["keras_xla"] = keras_model(name, True, batch)
    steps_fn = {key: (lambda m=model: m.train_on_batch(clips, labels)) for key, model in
                sides.items()}
    steps_fn["torch"] = torch_step
    # The matmul peak is timed in the same interleaved loop: the cores are shared, so a
    # peak measured once at start-up would not match the load during these steps.
    matrix = torch.randn(2048, 2048)
    steps_fn["matmul"] = lambda: torch.mm(matrix, matrix)
    warmup = {}
    for key, fn in steps_fn.items():  # first step: tracing / XLA compilation
        start = time.perf_counter()
        fn()
        warmup[key] = time.perf_counter() - start
    times = {key: [] for key in steps_fn}
    for _ in range(steps):
        for key, fn in steps_fn.items():  # interleaved A, B, C, A, B, C
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    # The peak is a capability: the best matmul seen, so % of peak is never flattered.
    result = {"peak_gflops_per_s": 2 * 2048 ** 3 / min(times.pop("matmul")) / 1e9}
    for key, values in times.items():
        median = statistics.median(values)
        result[key] = {"clips_per_s": batch / median, "gflops_per_s": flops / median / 1e9,
                       "step_s": median, "first_step_s": warmup[key]}
    result["train_gflop_per_step"] = flops / 1e9
    del sides
    return result


def face_video(frames=128):
    """128 grey 64×64 frames in [-1, 1]: carphone's face crops (120), then the last 8 reversed."""
    import av
    import cv2

    from kerasfer.assets import sample_video_path

    crops = []
    with av.open(sample_video_path("carphone")) as container:
        for frame in container.decode(video=0):
            grey = frame.to_ndarray(format="gray")[35:100, 52:117]
            crops.append(cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA))
    crops = (crops + crops[::-1])[:frames]
    return np.stack(crops)[..., None].astype("float32") / 127.5 - 1.0


def bench_whole_video(repeats, length=128, window=16, temperature=1.0, chunk=16):
    video = face_video(length)[None]
    num_windows = length - window + 1
    results = {}
    for time_kernel in (3, 1):
        model = get_model("fer_mini_xception_3d", NUM_CLASSES, pretrained=True,
                          time_kernel=time_kernel)
        radius = model.get_layer("fer_mini_xception_backbone").temporal_radius
        predict = tf.function(keras.Model(model.input, model.get_layer("frame_scores").output),
                              reduce_retracing=True)
        windowed = WindowedSoftmaxPooling(window, temperature)
        across = SoftmaxPooling(temperature)

        def one_pass():
            return windowed(predict(video)).numpy()

        def per_window(context=0):
            # Thesis protocol: each window is its own clip. With `context`, a clip also holds
            # up to `context` neighbour frames each side (inside the video), which makes its
            # window's frame scores exactly those of the one-pass model.
            spans = [(max(0, s - context), min(length, s + window + context))
                     for s in range(num_windows)]
            window_scores = np.zeros((num_windows, NUM_CLASSES), "float32")
            by_length = {}
            for start, (lo, hi) in enumerate(spans):
                by_length.setdefault(hi - lo, []).append(start)
            for clip_length, starts in by_length.items():
                for i in range(0, len(starts), chunk):
                    group = starts[i:i + chunk]
                    clips = np.stack([video[0, spans[s][0]:spans[s][1]] for s in group])
                    scores = predict(clips).numpy()
                    for row, s in zip(scores, group):
                        offset = s - spans[s][0]
                        window_scores[s] = row[offset:offset + window].max(axis=0)
            return across(window_scores[None]).numpy()

        sides = {"one_pass": one_pass, "per_window": per_window,
                 "per_window_with_context": lambda: per_window(radius)}
        outputs = {key: fn() for key, fn in sides.items()}  # warm-up + values
        times = {key: [] for key in sides}
        for _ in range(repeats):
            for key, fn in sides.items():
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
        medians = {key: statistics.median(v) for key, v in times.items()}
        results[time_kernel] = {
            "radius": radius, "seconds": medians,
            "speedup_vs_per_window": medians["per_window"] / medians["one_pass"],
            "speedup_vs_context": medians["per_window_with_context"] / medians["one_pass"],
            "max_diff_per_window": float(np.abs(outputs["one_pass"]
                                                - outputs["per_window"]).max()),
            "max_diff_context": float(np.abs(outputs["one_pass"]
                                             - outputs["per_window_with_context"]).max()),
            "classes": [int(outputs[k].argmax()) for k in sides]}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="c3d,r3d_18,i3d_vgg16")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--i3d-batch", type=int, default=1)
    parser.add_argument("--eval-repeats", type=int, default=3)
    parser.add_argument("--skip-eval", action="store_true")
    # XLA on CPU runs these Conv3D training steps ~10× slower than TF's oneDNN kernels (see
    # BENCHMARKS.md), so by default only R3D-18 pays for it; --xla-models all for every model.
    parser.add_argument("--xla-models", default="r3d_18")
    parser.add_argument("--skip-parity", action="store_true")
    # Mixed precision on CPUs with AVX512_BF16 (Keras' mixed_bfloat16 policy against PyTorch's
    # bf16 autocast); % of peak stays relative to the fp32 matmul peak.
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--segments", action="store_true",
                        help="also lay out R3D-18's forward + backward segment by segment")
    args = parser.parse_args()
    bfloat16 = args.precision == "bfloat16"
    if bfloat16:  # bf16 compute, fp32 weights on both sides
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    print(f"precision={args.precision} threads={THREADS} tf={tf.__version__} keras={keras.__version__} "
          f"torch={torch.__version__} cores={os.cpu_count()} cpu={cpu_name()}")
    peak_tf, peak_torch = matmul_peak()
    peak = max(peak_tf, peak_torch)
    print(f"fp32 matmul (best of 2048², 4096²): TF {peak_tf / 1e9:.1f} GFLOP/s, PyTorch "
          f"{peak_torch / 1e9:.1f} GFLOP/s; peak = {peak / 1e9:.1f}")
    best_rate = peak  # the fastest fp32 kernel seen: matmul, or a Conv3D of the parity check
    if not args.skip_parity:
        # (frames, side, channels) of the layers that carry most of the FLOPs: i3D-VGG16 and
        # C3D blocks 2-4 at 16 frames, R3D-18 stage 1 at 8 frames.
        for shape in ((16, 56, 128), (16, 28, 256), (16, 14, 512), (8, 28, 64)):
            rates = conv_kernel_parity(shape)
            best_rate = max(best_rate, *rates.values())
            print(f"Conv3D 3×3×3 forward + backward, 1×{shape[0]}×{shape[1]}²×{shape[2]} → "
                  f"{shape[2]}: TF {rates['tf'] / 1e9:.0f} GFLOP/s "
                  f"({100 * rates['tf'] / peak:.0f} % of peak), PyTorch "
                  f"{rates['torch'] / 1e9:.0f} GFLOP/s ({100 * rates['torch'] / peak:.0f} %); "
                  f"TF / PyTorch {rates['tf'] / rates['torch']:.2f}×", flush=True)
    twins = {"c3d": torch_c3d, "i3d_vgg16": TorchI3DVGG16, "r3d_18": TorchR3D18}
    # Ceiling: the ratio to PyTorch that a Keras step would reach if it ran at the fastest
    # kernel rate seen on this machine (max of the matmul peak and the parity Conv3Ds).
    print(f"fastest fp32 kernel rate seen: {best_rate / 1e9:.1f} GFLOP/s")
    print("| model | batch | train GFLOP/step | side | clips/s | GFLOP/s | % peak | "
          "vs PyTorch | ceiling vs PyTorch | first step s | matmul GFLOP/s during run |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        batch = args.i3d_batch if name == "i3d_vgg16" else args.batch
        xla = args.xla_models == "all" or name in args.xla_models.split(",")
        result = bench_training(name, twins[name](), batch, args.steps, xla, bfloat16)
        reference = result["torch"]["clips_per_s"]
        local_peak = max(result["peak_gflops_per_s"] * 1e9, peak)
        ceiling = max(best_rate, local_peak) / (result["torch"]["gflops_per_s"] * 1e9)
        for side in ("keras", "keras_xla", "torch") if xla else ("keras", "torch"):
            r = result[side]
            print(f"| {name} | {batch} | {result['train_gflop_per_step']:.0f} | {side} | "
                  f"{r['clips_per_s']:.3f} | {r['gflops_per_s']:.1f} | "
                  f"{100 * r['gflops_per_s'] * 1e9 / local_peak:.0f} % | "
                  f"{r['clips_per_s'] / reference:.2f}× | "
                  f"{'n/a' if bfloat16 else f'{ceiling:.2f}×'} | "
                  f"{r['first_step_s']:.1f} | "
                  f"{result['peak_gflops_per_s']:.1f} |", flush=True)
    if args.segments:
        print("| R3D-18 prefix (fwd + bwd) | Keras ms | Δ Keras | PyTorch ms | Δ PyTorch |")
        print("| --- | ---: | ---: | ---: | ---: |")
        previous = (0.0, 0.0)
        for cut, keras_ms, torch_ms in r3d_18_segments(args.batch):
            print(f"| … → {cut} | {keras_ms:.0f} | {keras_ms - previous[0]:+.0f} | "
                  f"{torch_ms:.0f} | {torch_ms - previous[1]:+.0f} |", flush=True)
            previous = (keras_ms, torch_ms)
    if not args.skip_eval:
        for time_kernel, r in bench_whole_video(args.eval_repeats).items():
            s = r["seconds"]
            print(f"whole video L=128 F=16, fer_mini_xception_3d time_kernel={time_kernel} "
                  f"(radius {r['radius']}): one pass {s['one_pass']:.3f} s, 113 clips "
                  f"{s['per_window']:.3f} s ({r['speedup_vs_per_window']:.1f}×), 113 clips "
                  f"with ±{r['radius']} context {s['per_window_with_context']:.3f} s "
                  f"({r['speedup_vs_context']:.1f}×); max |Δ pooled| vs clips "
                  f"{r['max_diff_per_window']:.2e}, vs clips with context "
                  f"{r['max_diff_context']:.2e}; classes {r['classes']}", flush=True)


if __name__ == "__main__":
    main()
