"""Synthetic FER video generator throughput (frames/s on one core) against a naive reference.

kerasfer: `render_video` (OpenCV drawing at the target size, anti-aliased, sub-pixel
coordinates) + JPEG with `cv2.imencode` + `kerasfer.schema.encode_video_example`, i.e. the
per-video work of `write_synthetic_dataset` without file writes.

Reference: the same face geometry (`face_geometry.face_points`, same timelines) drawn per
frame with PIL `ImageDraw`, which has no anti-aliasing, so it draws at 4× the size and
downsamples (LANCZOS), then JPEG with PIL: the usual way to get smooth procedural images
with PIL. It draws fewer primitives than kerasfer (no wrinkles, folds, ears or lids), so
the ratio is conservative. A second reference line draws with PIL at 1× (aliased).

Both sides run in this process on one core (OpenCV threads set to 1), interleaved
(A, B, A, B, ...) because other jobs share the machine; medians are reported.

Run: `python benchmarks/synthetic.py [--rounds 5 --videos 6 --size 112]`.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from kerasfer import schema  # noqa: E402
from kerasfer.data.synthetic import AFEW_CLASSES, FaceIdentity, FaceRenderer  # noqa: E402
from kerasfer.data.synthetic import expression_actions, render_video  # noqa: E402
from kerasfer.data.synthetic import face_geometry as geo  # noqa: E402
from kerasfer.data.synthetic.timeline import VideoTimeline  # noqa: E402


def kerasfer_video(index, size, num_frames, renderer):
    identity = FaceIdentity.sample(np.random.default_rng([7, index]))
    video = render_video(AFEW_CLASSES[index % 7], num_frames=num_frames, image_size=size,
                         seed=[8, index], identity=identity, renderer=renderer)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90]
    jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), params)[1].tobytes()
             for f in video.frames]
    data = schema.encode_video_example(
        video_id=f"v{index}", label=index % 7, label_name=AFEW_CLASSES[index % 7],
        jpeg_frames=jpegs, landmarks=video.landmarks, boxes=video.boxes,
        timestamps=np.arange(num_frames) / 25.0, detected=video.face_present,
        crop_size=size, frame_labels=video.intensity)
    return len(data)


def pil_video(index, size, num_frames, renderer, supersample):
    identity = FaceIdentity.sample(np.random.default_rng([7, index]))
    rng = np.random.default_rng([8, index])
    timeline = VideoTimeline.sample(rng, num_frames)
    apex = expression_actions(AFEW_CLASSES[index % 7], 1.0)
    big = size * supersample
    skin = tuple(int(c) for c in identity.skin)
    hair = tuple(int(c) for c in identity.hair)
    total = 0
    for t in range(num_frames):
        points, depth, _ = geo.face_points(identity, timeline.intensity[t] * apex,
                                           timeline.blink[t])
        pixels = renderer.project(points, depth, timeline.pose[t]) * supersample
        xy = [tuple(p) for p in pixels]
        lm = xy[:68]
        image = Image.new("RGB", (big, big), (90, 110, 140))
        draw = ImageDraw.Draw(image)
        draw.polygon(xy[geo.HAIR_OUTER], fill=hair)
        draw.polygon(lm[0:17] + xy[geo.HEAD_TOP], fill=skin)
        draw.polygon(xy[geo.HEAD_TOP] + xy[geo.HAIRLINE], fill=hair)
        lower = xy[geo.BROW_LOWER_EDGE]
        for side in (0, 1):
            draw.polygon(lm[17 + 5 * side:22 + 5 * side] + lower[5 * side:5 * side + 5][::-1],
                         fill=(40, 30, 25))
            draw.polygon(lm[36 + 6 * side:42 + 6 * side], fill=(235, 232, 225))
            cx, cy = xy[geo.IRIS_CENTRES][side]
            radius = 0.075 * renderer.face_scale * big
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                         fill=tuple(int(c) for c in identity.iris))
        draw.line(lm[27:31] + lm[31:36], fill=(90, 60, 50), width=max(1, supersample))
        draw.polygon(lm[48:60], fill=tuple(int(c) for c in identity.lips))
        draw.polygon(lm[60:68], fill=(60, 20, 25))
        if supersample > 1:
            image = image.resize((size, size), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        total += len(buffer.getvalue())
    return total


def timed(function, videos, frames):
    start = time.perf_counter()
    for index in range(videos):
        function(index)
    return videos * frames / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    renderer = FaceRenderer(args.size)
    sides = {
        "kerasfer (OpenCV, AA) + JPEG + SequenceExample": lambda i: kerasfer_video(
            i, args.size, args.frames, renderer),
        "reference PIL ImageDraw 4x supersampled + JPEG": lambda i: pil_video(
            i, args.size, args.frames, renderer, 4),
        "reference PIL ImageDraw 1x (aliased) + JPEG": lambda i: pil_video(
            i, args.size, args.frames, renderer, 1),
    }
    for function in sides.values():  # warm-up (imports, caches)
        function(0)
    rates = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, function in sides.items():
            rates[name].append(timed(function, args.videos, args.frames))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, OpenCV {cv2.__version__}, one thread; "
          f"{args.rounds} interleaved rounds of {args.videos} videos x {args.frames} frames "
          f"at {args.size}x{args.size}")
    ours = statistics.median(rates[next(iter(sides))])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:50s} median {median:7.0f} frames/s  (min {min(values):.0f}, "
              f"max {max(values):.0f})  kerasfer / this = {ours / median:.2f}x")

    # The whole writer once (shards, manifest, atomic renames), default 7 classes.
    import tempfile

    from kerasfer.data.synthetic import write_synthetic_dataset

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        write_synthetic_dataset(out, num_videos=28, num_subjects=4, image_size=args.size)
        seconds = time.perf_counter() - start
        frames = sum(r["frames_kept"] for r in schema.read_manifest(out))
    print(f"write_synthetic_dataset: 28 videos, {frames} frames in {seconds:.1f} s = "
          f"{frames / seconds:.0f} frames/s (one run, includes file writes)")


if __name__ == "__main__":
    main()
