"""`Predictor`: raw video → per-frame emotion probabilities and a whole-video prediction.

The faces are made exactly as the training data were: `tfrecords_builder`'s own pipeline
(PyAV decoding with real timestamps, dlib detection on a downscaled copy with optional
tracking, 68 landmarks, similarity alignment, JPEG at the recorded quality; with
`tracking="none"` detections run in a worker thread one frame ahead, same crops), with the
settings recorded in the export's `assets/kerasfer_export.json` (`face_pipeline`; the
builder's defaults when an older export lacks them). The aligned crops go through the
export's `serving_default` in chunks (`ChunkedFrameScorer`): per-frame probabilities are
the softmax of `frame_scores`, the whole-video probabilities the export's Eq. 3.3 pooling
(Ayral (2021) thesis, Section 3.3.1.3: window max over F frames, softmax pooling with γ_p).
A video that fits in one chunk (`chunk_frames`, 512 by default: 17 s at 30 fps) is scored
in one call, so its probabilities are identical to `kerasfer.evaluate` on the builder's
TFRecords of the same video; a longer one is pooled in NumPy from the per-frame logits.

`tracking="landmarks"` (`LandmarkFaceTracker`) trades a slight change of the per-frame
predictions for ~2–3× less CPU per frame; BENCHMARKS.md `## Predict` has the numbers.

Frames stream through: only the decoded frames of one detection period and the JPEG crops
of one chunk (plus context) are in memory. Frames without a face are kept as rows with
`face_found = False` and NaN probabilities (the builder's `keep_frames_without_face`, which
crops such frames with the last known box, is not applied: they are reported, not scored);
a video with no face at all (or only sporadic detector hits, as the builder decides) raises
`NoFaceError`. A recorded `frame_stride` / `target_fps` applies: rows are the kept frames.

Example:

>>> predictor = Predictor("runs/cpu_tiny/export")
>>> prediction = predictor.predict("clip.mp4")
>>> prediction.label, prediction.frame_probabilities.shape
('Happy', (120, 3))
>>> predictor.write(prediction, "predictions/", annotate=True)
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from kerasfer.errors import NoFaceError, VideoDecodeError
from kerasfer.evaluation.window_pooling import softmax
from kerasfer.prediction.chunked_frame_scorer import ChunkedFrameScorer
from kerasfer.prediction.export_settings import (face_options, load_export_settings,
                                                 resolve_export_dir)
from kerasfer.prediction.tracking_mode import TRACKING, default_tracking
from kerasfer.prediction.video_prediction import VideoPrediction


def declared_frame_count(path):
    """Frames the container declares (for the progress bar), or None."""
    try:
        import av

        with av.open(path) as container:
            stream = container.streams.video[0]
            count = int(stream.frames or 0)
            if not count and container.duration and stream.average_rate:
                count = int(container.duration / 1e6 * float(stream.average_rate))
            return count or None
    except Exception:  # The real decode reports the problem with a proper message.
        return None


class Predictor:
    """Predicts facial expressions in raw videos with a kerasfer SavedModel export.

    Args:
        model: str. A kerasfer export directory, or a training run directory (its
            `export/`, exported on the fly when missing).
        chunk_frames: int. Faces per SavedModel call. Defaults to 512.
        context_frames: int or None. Context faces on each side of a chunk. Defaults to
            None (max(2F, 32)).
        progress: bool. Show a progress bar with ETA (tqdm, on stderr). Defaults to False.
        tracking: str or None. How the face is found in every frame
            (`kerasfer.prediction.tracking_mode.TRACKING`): "none" (the detector on every
            frame: the builder's exact crops), "landmarks" (the box from the previous
            frame's landmarks, detector every `detect_every` frames, default 5: ~2–3×
            less CPU, per-frame predictions change slightly), "correlation" (dlib
            correlation tracking). Defaults to None: as the builder makes faces
            ("correlation" when `detect_every` > 1 is passed or recorded, else "none").
        **face_overrides: `FaceOptions` fields replacing the recorded ones (e.g.
            `detect_every=5`: the detection period of the tracking mode); None keeps the
            recorded value.

    Example:

    >>> Predictor("export/").predict("clip.mp4").summary()["prediction"]
    'Happy'
    """

    def __init__(self, model, chunk_frames=512, context_frames=None, progress=False,
                 tracking=None, **face_overrides):
        import tensorflow as tf

        if tracking is not None and tracking not in TRACKING:
            raise ValueError(f"`tracking` must be None or one of {tuple(TRACKING)}. "
                             f"Received: tracking={tracking!r}")
        self.export_dir = resolve_export_dir(model)
        self.settings = load_export_settings(self.export_dir)
        detect_every = face_overrides.pop("detect_every", None)
        recorded = face_options(self.settings, **face_overrides)
        self.tracking = tracking or default_tracking(detect_every or recorded.detect_every)
        self.face_options = dataclasses.replace(
            recorded, detect_every=TRACKING[self.tracking].detect_every(
                detect_every, recorded.detect_every))
        self.class_names = [str(name) for name in self.settings["class_names"]]
        self.progress = bool(progress)
        self._serve = tf.saved_model.load(self.export_dir).signatures["serving_default"]
        self._scorer = ChunkedFrameScorer(
            self._serve, self.settings["clip_length"], self.settings["pooling_temperature"],
            temporal_output=self.settings.get("temporal_output"), chunk_frames=chunk_frames,
            context_frames=context_frames, grayscale=bool(self.settings.get("grayscale")))

    def describe(self):
        """One line: the model, its classes and the face pipeline used."""
        options = self.face_options
        return (f"model {self.export_dir} ({self.settings.get('model', '?')}: "
                f"{len(self.class_names)} classes {self.class_names}, F = "
                f"{self.settings['clip_length']}, γ_p = {self.settings['pooling_temperature']}); "
                f"faces: {options.detector} detector every {options.detect_every} frame(s) on "
                f"≤ {options.detection_max_side} px (tracking: {self.tracking}), 68 "
                f"landmarks, aligned {options.crop_size} px crops")

    def predict(self, path):
        """Predicts one video file.

        Args:
            path: str. A video file PyAV/ffmpeg can decode.

        Returns:
            `VideoPrediction`.

        Raises:
            VideoDecodeError: missing, empty, corrupt or truncated file.
            NoFaceError: no face in any frame (or only sporadic detector hits).
        """
        from tqdm import tqdm

        from tfrecords_builder.process import MIN_FACE_FRACTION, encode_jpeg
        from tfrecords_builder.video import open_video

        path = os.fspath(path)
        if not os.path.exists(path):
            raise VideoDecodeError(path, "file not found", "check the path (a video file or "
                                   "a directory of videos)")
        started = time.perf_counter()
        options = self.face_options
        fps, frames = open_video(path, target_fps=options.target_fps,
                                 frame_stride=options.frame_stride)
        scorer = self._scorer
        scorer.reset()
        rows = {"index": [], "time": [], "found": [], "detected": [], "box": []}
        probabilities = []
        face_rows = []
        hits = misses = 0
        total = declared_frame_count(path)
        if total and (options.frame_stride > 1 or options.target_fps):
            total = None
        bar = tqdm(total=total, unit="frame", desc=os.path.basename(path), leave=False,
                   disable=not self.progress, dynamic_ncols=True)
        empty = np.full(len(self.class_names), np.nan)

        def store(ready):
            for face_index, logits in ready:
                probabilities[face_rows[face_index]] = softmax(logits)

        try:
            for source_index, timestamp, box, detected, face in TRACKING[self.tracking].locate(
                    frames, options):
                rows["index"].append(source_index)
                rows["time"].append(timestamp)
                rows["found"].append(box is not None)
                rows["detected"].append(bool(detected))
                rows["box"].append(np.full(4, np.nan) if box is None else box)
                probabilities.append(empty)
                hits += bool(detected)
                misses += box is None
                bar.update(1)
                if box is None:
                    continue
                face_rows.append(len(rows["index"]) - 1)
                store(scorer.push(encode_jpeg(face, options.jpeg_quality)))
        finally:
            bar.close()
        attempts = hits + misses
        if not face_rows:
            raise NoFaceError(path, f"no face found in any of {attempts} frames "
                              f"(detector={options.detector})", "check the video shows a "
                              "frontal face; predict needs the face the model was trained on")
        if options.detector != "none" and hits < MIN_FACE_FRACTION * attempts:
            raise NoFaceError(path, f"a face was detected in only {hits} of {attempts} frames "
                              f"(< {MIN_FACE_FRACTION:.0%}): sporadic false positives, so no "
                              "face", "check the video shows a frontal face")
        ready, video_probabilities = scorer.finish()
        store(ready)
        settings = {"export_dir": os.path.abspath(self.export_dir),
                    "clip_length": int(self.settings["clip_length"]),
                    "pooling_temperature": float(self.settings["pooling_temperature"]),
                    "pooling": ("one SavedModel call over the whole video" if scorer.chunks == 1
                                else f"{scorer.chunks} chunks of {scorer.chunk_frames} faces "
                                f"(± {scorer.context_frames} context), Eq. 3.3 over the "
                                "per-frame logits"),
                    "tracking": self.tracking,
                    "face_pipeline": dataclasses.asdict(options)}
        return VideoPrediction(
            path=path, class_names=list(self.class_names), fps=float(fps),
            frame_index=np.asarray(rows["index"], np.int64),
            timestamps=np.asarray(rows["time"], np.float64),
            face_found=np.asarray(rows["found"], bool),
            detected=np.asarray(rows["detected"], bool),
            boxes=np.asarray(rows["box"], np.float32).reshape(-1, 4),
            frame_probabilities=np.asarray(probabilities, np.float64).reshape(
                -1, len(self.class_names)),
            probabilities=np.asarray(video_probabilities, np.float64),
            model_calls=scorer.chunks, seconds=time.perf_counter() - started,
            settings=settings)

    def write(self, prediction, out_dir, annotate=False, name=None):
        """Writes the CSV, JSON summary, PNG timeline (and annotated mp4) of a prediction.

        Args:
            prediction: `VideoPrediction`.
            out_dir: str. Output directory (created).
            annotate: bool. Also write `<name>_annotated.mp4`. Defaults to False.
            name: str or None. File name stem. Defaults to None (the video's name).

        Returns:
            dict of output kind → path.
        """
        from kerasfer.prediction.annotate import write_annotated_video
        from kerasfer.prediction.outputs import (plot_timeline, write_frame_csv,
                                                 write_summary_json)

        os.makedirs(out_dir, exist_ok=True)
        stem = os.path.join(out_dir, name or prediction.name)
        outputs = {"csv": write_frame_csv(prediction, stem + ".csv"),
                   "timeline": plot_timeline(prediction, stem + "_timeline.png")}
        if annotate:
            outputs["annotated"] = write_annotated_video(prediction, stem + "_annotated.mp4",
                                                         self.face_options)
        outputs["summary"] = write_summary_json(prediction, stem + ".json", outputs)
        return outputs
