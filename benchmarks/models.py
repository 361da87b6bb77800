"""Model speed, side by side: Keras (TF, with and without XLA) vs PyTorch, and whole-video eval.

1. Training-step clips/s of C3D, i3D-VGG16 and R3D-18 at 16×112×112 (from
   `kerasfer.models.get_model`) against PyTorch implementations of the same architectures
   written below, same threads and batch, steps interleaved (Keras, Keras+XLA, PyTorch, …),
   medians. Achieved FLOP/s (training = 3 × forward; forward FLOPs = 2 × the MACs of every
   conv / linear layer, counted with hooks on the PyTorch twin) against the fp32 matmul peak
   measured here with a 2048² matmul (best time, at start-up and interleaved with the steps;
   the larger of the two is the peak).
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

torch.set_num_threads(THREADS)
NUM_CLASSES = 7


# PyTorch twins ------------------------------------------------------------------------------

def torch_c3d():
    layers, channels = [], 3
    for filters, repeats, pool in ((64, 1, (1, 2, 2)), (128, 1, 2), (256, 2, 2), (512, 2, 2),
                                   (512, 2, 2)):
        for _ in range(repeats):
            layers += [nn.Conv3d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
            channels = filters
        layers.append(nn.MaxPool3d(pool, pool, ceil_mode=True))  # Caffe round-up at pool5
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(8192, 4096), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(4096, NUM_CLASSES))


class TorchI3DVGG16(nn.Module):
    """VGG16 with 3×3×3 convs, 1×2×2 pools, per-frame fc6/fc7 and 128 → C head, mean over T."""

    def __init__(self, size=112):
        super().__init__()
        layers, channels = [], 3
        for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
            for _ in range(repeats):
                layers += [nn.Conv3d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
                channels = filters
            layers.append(nn.MaxPool3d((1, 2, 2), (1, 2, 2)))
        self.features = nn.Sequential(*layers)
        side = size // 32
        self.head = nn.Sequential(nn.Linear(512 * side * side, 4096), nn.ReLU(inplace=True),
                                  nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Linear(4096, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Linear(128, NUM_CLASSES))

    def forward(self, x):
        x = self.features(x)  # (B, C, T, h, w)
        x = x.permute(0, 2, 3, 4, 1).flatten(2)  # per-frame flatten, Keras' h, w, c order
        return self.head(x).mean(dim=1)


class TorchBasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        shortcut = x
        if self.stride != 1 or self.extra:  # shortcut A: subsample + zero channels
            shortcut = nn.functional.avg_pool3d(x, 1, self.stride)
            shortcut = nn.functional.pad(shortcut, (0, 0, 0, 0, 0, 0, 0, self.extra))
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + shortcut)


class TorchR3D18(nn.Module):
    """Hara et al. 3D ResNet-18, shortcut A, with kerasfer's default 2-step head."""

    def __init__(self):
        super().__init__()
        blocks, cin = [], 64
        for stage, cout in enumerate((64, 128, 256, 512)):
            for block in range(2):
                blocks.append(TorchBasicBlock(cin, cout, 2 if stage and not block else 1))
                cin = cout
        self.stem = nn.Sequential(nn.Conv3d(3, 64, 7, (1, 2, 2), 3, bias=False),
                                  nn.BatchNorm3d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool3d(3, 2, 1))
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, NUM_CLASSES)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = x.amax(dim=(3, 4)).transpose(1, 2)  # spatial max → (B, T', C)
        return self.fc(x).mean(dim=1)


def forward_flops(model, clip):
    """2 × multiply-adds of every Conv3d / Linear in one forward pass of `clip`."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv3d):
            kernel = module.weight[0].numel()  # in/groups · kt · kh · kw
            macs.append(output.numel() * kernel)
        elif isinstance(module, nn.Linear):
            macs.append(output.numel() * module.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv3d, nn.Linear))]
    with torch.no_grad():
        model(clip)
    for handle in handles:
        handle.remove()
    return 2 * sum(macs)


# Measurements ---------------------------------------------------------------------------

def matmul_peak(size=2048, repeats=7):
    a = tf.random.normal((size, size))
    tf_matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
    ta = torch.randn(size, size)
    tf_times, torch_times = [], []
    tf_matmul(a).numpy()
    for _ in range(repeats):
        start = time.perf_counter()
        tf_matmul(a).numpy()
        tf_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch.mm(ta, ta)
        torch_times.append(time.perf_counter() - start)
    flops = 2 * size ** 3
    return flops / min(tf_times), flops / min(torch_times)


def keras_model(name, jit_compile, batch):
    kwargs = {"input_size": 112} if name == "i3d_vgg16" else {}
    model = get_model(name, NUM_CLASSES, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    return model


def bench_training(name, torch_net, batch, steps, xla=True):
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
        model = get_model("fer_mini_xception_3d", NUM_CLASSES, pooling="none",
                          time_kernel=time_kernel)
        radius = model.get_layer("fer_mini_xception_backbone").temporal_radius
        predict = tf.function(model, reduce_retracing=True)
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
    args = parser.parse_args()
    print(f"threads={THREADS} tf={tf.__version__} keras={keras.__version__} "
          f"torch={torch.__version__} cpu={os.cpu_count()}")
    peak_tf, peak_torch = matmul_peak()
    peak = max(peak_tf, peak_torch)
    print(f"fp32 matmul 2048²: TF {peak_tf / 1e9:.1f} GFLOP/s, PyTorch "
          f"{peak_torch / 1e9:.1f} GFLOP/s; peak = {peak / 1e9:.1f}")
    twins = {"c3d": torch_c3d, "i3d_vgg16": TorchI3DVGG16, "r3d_18": TorchR3D18}
    print("| model | batch | train GFLOP/step | side | clips/s | GFLOP/s | % peak | "
          "vs PyTorch | first step s | matmul GFLOP/s during run |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        batch = args.i3d_batch if name == "i3d_vgg16" else args.batch
        xla = args.xla_models == "all" or name in args.xla_models.split(",")
        result = bench_training(name, twins[name](), batch, args.steps, xla)
        reference = result["torch"]["clips_per_s"]
        local_peak = max(result["peak_gflops_per_s"] * 1e9, peak)
        for side in ("keras", "keras_xla", "torch") if xla else ("keras", "torch"):
            r = result[side]
            print(f"| {name} | {batch} | {result['train_gflop_per_step']:.0f} | {side} | "
                  f"{r['clips_per_s']:.3f} | {r['gflops_per_s']:.1f} | "
                  f"{100 * r['gflops_per_s'] * 1e9 / local_peak:.0f} % | "
                  f"{r['clips_per_s'] / reference:.2f}× | {r['first_step_s']:.1f} | "
                  f"{result['peak_gflops_per_s']:.1f} |", flush=True)
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
