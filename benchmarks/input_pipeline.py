"""Training-clip throughput of `kerasfer.data.training_dataset` vs a PyTorch DataLoader.

Three pipelines read the same synthetic face videos (224 × 224 JPEG crops, as the
builder writes them) and make 16 × 112 × 112 RGB training clips:

- kerasfer: `training_dataset` from TFRecords (slice the clip's 16 JPEGs, decode, then
  one XLA kernel: rotate + half-size crop + flip + resize as a single bilinear warp,
  colour jitter, ImageNet normalisation), batches of 8, `clean_copy=False`; also
  reported with the clean copy (`kerasfer+clean`, the default, which the sampler needs).
- reference: the thesis' way (torch_videovision, thesis 2.2.3.2): a `torch.utils.data`
  DataLoader over one folder of JPEG files per video; per frame PIL open → rotate →
  crop half the side → resize to 112 → flip → brightness / contrast / saturation / hue
  (PIL ImageEnhance + HSV), the same parameters for all frames of a clip → tensor →
  normalise; clips stacked `(3, 16, 112, 112)`.
- decode-only bound: TFRecords → slice 16 JPEGs → decode → batch, nothing else.

Same number of workers for all (`--workers`, default 2 = the cores): tf.data gets a
private thread pool of that size and that map parallelism; the DataLoader gets that many
worker processes (persistent, so their start-up is not counted). The sides run
interleaved (A, B, C, A, B, C, …), one epoch each, and the medians of clips/s are
reported, because other jobs may share the machine.

Usage: `python benchmarks/input_pipeline.py [--videos 96] [--rounds 5] [--workers 2]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

CLIP_LENGTH = 16
IMAGE_SIZE = 112
BATCH_SIZE = 8
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


class FolderClips:
    """torch Dataset: one random 16-frame clip of a JPEG-folder video, PIL transforms."""

    def __init__(self, folders, seed=0):
        self.folders = folders
        self.seed = seed
        self.epoch = 0

    def __len__(self):
        return len(self.folders)

    def __getitem__(self, item):
        import torch
        from PIL import Image, ImageEnhance

        rng = np.random.default_rng([self.seed, item, self.epoch, os.getpid()])
        files = sorted(os.listdir(self.folders[item]))
        start = int(rng.integers(0, max(len(files) - CLIP_LENGTH, 0) + 1))
        names = [files[(start + k) % len(files)] for k in range(CLIP_LENGTH)]
        angle = rng.uniform(-20, 20)
        flip = rng.random() < 0.5
        factors = rng.uniform(0.8, 1.2, size=3)
        hue = rng.uniform(-0.1, 0.1)
        offsets = rng.random(2)
        frames = []
        for name in names:
            image = Image.open(os.path.join(self.folders[item], name)).convert("RGB")
            image = image.rotate(angle, resample=Image.BILINEAR)
            width, height = image.size
            crop_w, crop_h = width // 2, height // 2
            x0, y0 = int(offsets[0] * (width - crop_w)), int(offsets[1] * (height - crop_h))
            image = image.crop((x0, y0, x0 + crop_w, y0 + crop_h))
            image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
            if flip:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)
            image = ImageEnhance.Brightness(image).enhance(factors[0])
            image = ImageEnhance.Contrast(image).enhance(factors[1])
            image = ImageEnhance.Color(image).enhance(factors[2])
            hsv = np.array(image.convert("HSV"))
            hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(hue * 255)) % 256
            image = Image.fromarray(hsv, "HSV").convert("RGB")
            frames.append((np.asarray(image, np.float32) / 255.0 - MEAN) / STD)
        clip = torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2)
        return clip, 0


def make_data(directory, num_videos):
    """Synthetic dataset (TFRecords) plus the same JPEG bytes as one folder per video."""
    from kerasfer.data import read_videos
    from kerasfer.data.synthetic import write_synthetic_dataset

    data_dir = os.path.join(directory, "tfrecords")
    write_synthetic_dataset(data_dir, num_videos=num_videos, num_subjects=8, image_size=224,
                            min_frames=24, max_frames=64, seed=0)
    folders = []
    for video in read_videos(data_dir, decode=False):
        folder = os.path.join(directory, "frames", video["id"])
        os.makedirs(folder, exist_ok=True)
        for number, jpeg in enumerate(video["jpeg"]):
            with open(os.path.join(folder, f"{number:05d}.jpg"), "wb") as handle:
                handle.write(jpeg)
        folders.append(folder)
    return data_dir, folders


def tf_pipelines(data_dir, workers):
    import tensorflow as tf

    from kerasfer.data import DatasetIndex, training_dataset
    from kerasfer.data.clip_indices import clip_frame_indices
    from kerasfer.data.clip_dataset import decode_clip_frames
    from kerasfer.data.selected_videos import selected_videos

    index = DatasetIndex.load(data_dir)
    records = index.select()
    options = tf.data.Options()
    options.threading.private_threadpool_size = workers

    def train(clean_copy):
        return training_dataset(index, records, clip_length=CLIP_LENGTH, batch_size=BATCH_SIZE,
                                image_size=IMAGE_SIZE, clean_copy=clean_copy,
                                num_parallel_calls=workers).with_options(options)

    def decode_only():
        def clip(example):
            indices, _ = clip_frame_indices(example["num_frames"], tf.constant(-1), CLIP_LENGTH,
                                            seed=tf.stack([tf.constant(0, tf.int64),
                                                           tf.cast(example["video_index"], tf.int64)]))
            return decode_clip_frames(tf.gather(example["jpeg"], indices), CLIP_LENGTH, 3)

        videos = selected_videos(index, records, num_parallel_calls=workers)
        dataset = videos.map(clip, num_parallel_calls=workers).batch(BATCH_SIZE)
        return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)

    return {"kerasfer": train(False), "kerasfer+clean": train(True),
            "decode-only": decode_only()}


def clips_per_second(iterable, count_batch):
    start = time.perf_counter()
    clips = sum(count_batch(batch) for batch in iterable)
    return clips / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", default=None, help="reuse this data directory")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import torch

    directory = args.dir or tempfile.mkdtemp(prefix="kerasfer-bench-")
    data_dir, folders = make_data(directory, args.videos)
    frames = sum(len(os.listdir(folder)) for folder in folders)
    print(f"{len(folders)} videos, {frames} frames of 224x224 in {directory}")

    pipelines = tf_pipelines(data_dir, args.workers)
    reference = FolderClips(folders)
    loader = torch.utils.data.DataLoader(
        reference, batch_size=BATCH_SIZE, shuffle=True, num_workers=args.workers,
        persistent_workers=True, multiprocessing_context="spawn")
    sides = dict(pipelines)
    sides["torch reference"] = loader
    counters = {name: (lambda batch: int(batch["clip"].shape[0])) for name in pipelines}
    counters["decode-only"] = lambda batch: int(batch.shape[0])
    counters["torch reference"] = lambda batch: int(batch[0].shape[0])

    for name, side in sides.items():  # warm-up: tracing, worker start-up
        clips_per_second(side, counters[name])
    results = {name: [] for name in sides}
    for round_number in range(args.rounds):
        for name, side in sides.items():
            if name == "torch reference":
                reference.epoch = round_number
            results[name].append(clips_per_second(side, counters[name]))
        print(f"round {round_number + 1}: " + ", ".join(
            f"{name} {values[-1]:.1f}" for name, values in results.items()))

    median = {name: statistics.median(values) for name, values in results.items()}
    print("\nmedian clips/s (16x112x112, batch 8, "
          f"{args.workers} workers, {args.rounds} interleaved rounds):")
    for name, value in median.items():
        print(f"  {name:16s} {value:7.1f}")
    def ratio(numerator, denominator):
        # Ratio of medians, and median of the per-round ratios (sides of one round ran
        # back to back, so the latter is less sensitive to load drifting between rounds).
        per_round = [a / b for a, b in zip(results[numerator], results[denominator])]
        return median[numerator] / median[denominator], statistics.median(per_round)

    for numerator, denominator, target in (
            ("kerasfer", "torch reference", ">= 2x"),
            ("kerasfer", "decode-only", ">= 0.40"),
            ("kerasfer+clean", "torch reference", ""),
            ("kerasfer+clean", "decode-only", "")):
        of_medians, per_round = ratio(numerator, denominator)
        print(f"{numerator} / {denominator}: {of_medians:.2f} (ratio of medians), "
              f"{per_round:.2f} (median of per-round ratios)"
              + (f"   target {target}" if target else ""))


if __name__ == "__main__":
    main()
