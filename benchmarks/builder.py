"""Builder throughput: `process_video` against a naive full-resolution reference.

Input: AFEW-sized video made from the real `carphone_pristine.mp4` (176×144, 120 frames)
upscaled to 704×576 (bicubic) and looped to `--frames` frames (default 600), written to
a temporary H.264 mp4 (libx264, CRF 18).

Both sides run in this one process, decode the same file with the same PyAV decoder
(`tfrecords_builder.video.open_video`), predict 68 landmarks with the same dlib model on
the full-resolution frame, align with the same similarity transform and JPEG-encode the
112 px crop (quality 90). They differ only in how the face box is found:

* reference ("naive"): dlib HOG on every full-resolution frame, `upsample=1` (dlib's and
  face_recognition's usual call, and the builder's default `upsample`);
* builder: `process_video` with HOG on a copy downscaled to `--max-side` (320) px, same
  `upsample=1`, detection every `--detect-every` frames (5) and dlib correlation tracking
  in between.

A second, stronger reference (full resolution, `upsample=0`: finds faces ≥ 80 px at
704×576, close to the builder's ≥ ~88 px) is also timed, so the speed-up is not only the
result of skipping upsampling.

Sides are interleaved (builder, reference, reference-up0, builder, ...) for `--rounds`
rounds and the median frames/s is reported, since other jobs may share the CPU.
Landmark agreement: over frames kept by both, the distance between the builder's and the
reference's landmarks in 112 px crop coordinates (each after its own alignment).

Run: `python benchmarks/builder.py` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np


def make_afew_sized_video(path, frames, size=(704, 576)):
    import av
    import cv2

    from kerasfer.assets import sample_video_path
    from tfrecords_builder.video import open_video

    _, source = open_video(sample_video_path("carphone"))
    images = [cv2.resize(image, size, interpolation=cv2.INTER_CUBIC) for _, _, image in source]
    container = av.open(path, "w")
    stream = container.add_stream("libx264", rate=av.utils.Fraction(30000, 1001))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "18", "preset": "veryfast"}
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(images[index % len(images)], format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def reference(path, upsample, crop_size=112, jpeg_quality=90):
    """Naive pipeline: full-resolution HOG + 68 landmarks on every frame, then alignment."""
    from tfrecords_builder.alignment import align_face
    from tfrecords_builder.detectors import get_detector, largest_box
    from tfrecords_builder.faces import predict_landmarks
    from tfrecords_builder.process import encode_jpeg
    from tfrecords_builder.video import open_video

    detect = get_detector("hog")
    _, frames = open_video(path)
    kept = {}
    for _, timestamp, image in frames:
        box = largest_box(detect(image, upsample))
        if box is None:
            continue
        crop, landmarks, _ = align_face(image, predict_landmarks(image, box), crop_size)
        encode_jpeg(crop, jpeg_quality)
        kept[round(timestamp, 4)] = landmarks
    return kept


def builder(path, options):
    from tfrecords_builder import VideoItem, process_video

    video = process_video(VideoItem(path, "bench", ""), options)
    return {round(float(t), 4): l for t, l in zip(video.timestamps, video.landmarks)}, video


def compare(ours, theirs):
    common = sorted(set(ours) & set(theirs))
    distances = np.stack([np.linalg.norm(ours[t] - theirs[t], axis=-1) for t in common])
    return len(common), float(distances.mean()), float(distances.mean(axis=1).max()), \
        float(distances.max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--detect-every", type=int, default=5)
    parser.add_argument("--max-side", type=int, default=320)
    args = parser.parse_args()

    from tfrecords_builder.face_options import FaceOptions

    options = FaceOptions(detector="hog", detect_every=args.detect_every,
                          detection_max_side=args.max_side, upsample=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "afew_sized.mp4")
        make_afew_sized_video(path, args.frames)
        builder(path, options)  # warm-up: loads the dlib models once, as a real job does
        speeds = {"builder": [], "reference_up1": [], "reference_up0": []}
        results = {}
        for round_index in range(args.rounds):
            for name in speeds:
                start = time.perf_counter()
                if name == "builder":
                    results[name], video = builder(path, options)
                else:
                    results[name] = reference(path, upsample=int(name[-1]))
                elapsed = time.perf_counter() - start
                speeds[name].append(args.frames / elapsed)
                print(f"round {round_index}: {name:14s} {speeds[name][-1]:7.2f} frames/s "
                      f"({len(results[name])} of {args.frames} frames kept)", flush=True)

    median = {name: statistics.median(values) for name, values in speeds.items()}
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print(f"input: carphone upscaled to 704x576, {args.frames} frames, H.264")
    print(f"builder: HOG on <= {args.max_side} px copy, upsample 1, detect every "
          f"{args.detect_every}, correlation tracking ({int(video.detected.sum())} detections)")
    for name, value in median.items():
        print(f"{name:14s} median {value:7.2f} frames/s")
    for name in ("reference_up1", "reference_up0"):
        print(f"speed-up vs {name}: {median['builder'] / median[name]:.2f}x")
        frames, mean, worst_frame, worst_point = compare(results["builder"], results[name])
        print(f"landmarks vs {name} (112 px crop, {frames} common frames): mean "
              f"{mean:.2f} px, worst frame mean {worst_frame:.2f} px, worst point "
              f"{worst_point:.2f} px")


if __name__ == "__main__":
    main()
