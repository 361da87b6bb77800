"""SavedModel export: serving signature, fresh-process load without kerasfer, bad input,
and the settings `export_run` records for a predictor (the export directory's safety:
`test_export_directory.py`)."""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from export_helpers import CLASSES
from export_helpers import F
from export_helpers import GAMMA
from export_helpers import NAMES
from export_helpers import SIZE
from export_helpers import clip_level_model
from export_helpers import export
from export_helpers import fully_conv_model
from export_helpers import reference_scores
from export_helpers import start
from export_helpers import uint8_video

from kerasfer.evaluation import VideoScorer
from kerasfer.export import ExportError
from kerasfer.export import export_run
from kerasfer.export import export_saved_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = fully_conv_model()
    path = export(model, tmp_path_factory.mktemp("export") / "saved_model")
    return model, path


def finish(process):
    stdout, stderr = process.communicate(timeout=600)  # TF start-up on a loaded machine
    assert process.returncode == 0, stderr[-3000:]
    return stdout


FRESH_PROCESS_SCRIPT = """
import json, sys
import numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
serve = loaded.signatures["serving_default"]
out = {"class_names": [c.decode() for c in loaded.class_names.numpy()]}
for name in ("short", "long"):
    result = serve(videos=tf.constant(np.load(f"{sys.argv[2]}/{name}.npy")))
    out[name] = {k: v.numpy().tolist() for k, v in result.items()}
assert "kerasfer" not in sys.modules, "the SavedModel must load without kerasfer"
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def processes(exported, tmp_path_factory):
    """The three subprocesses (TF start-up dominates) run side by side."""
    folder = tmp_path_factory.mktemp("serving")
    videos = {"short": uint8_video(4, seed=2), "long": uint8_video(13, seed=3)}
    for name, video in videos.items():
        np.save(folder / f"{name}.npy", video)
    path = exported[1]
    running = {
        "show": start(["saved_model_cli", "show", "--dir", path, "--all"]),
        "run": start(["saved_model_cli", "run", "--dir", path, "--tag_set", "serve",
                      "--signature_def", "serving_default", "--inputs",
                      f"videos={folder / 'long.npy'}", "--outdir", str(folder / "out")]),
        # A plain interpreter that only loads the SavedModel; it must not import kerasfer.
        "fresh": start([sys.executable, "-c", FRESH_PROCESS_SCRIPT, path, str(folder)],
                       cwd=str(folder)),
    }
    return {name: finish(process) for name, process in running.items()}, videos, folder


@pytest.mark.slow
def test_saved_model_cli_show_lists_uint8_signature(processes):
    serving = processes[0]["show"].split("signature_def['serving_default']")[1]
    assert "inputs['videos']" in serving and "dtype: DT_UINT8" in serving.split("outputs[")[0]
    assert "outputs['probabilities']" in serving and "shape: (-1, 3)" in serving
    assert "outputs['frame_scores']" in serving and "shape: (-1, -1, 3)" in serving


def test_saved_model_cli_run_on_npy(exported, processes):
    _, videos, folder = processes
    probabilities = np.load(folder / "out" / "probabilities.npy")
    np.testing.assert_allclose(
        probabilities[0], reference_scores(exported[0], videos["long"], "imagenet").probabilities,
        rtol=1e-4, atol=1e-5)


def test_fresh_process_without_kerasfer_matches_keras(exported, processes):
    model, path = exported
    outputs, videos, _ = processes
    served = json.loads(outputs["fresh"].strip().splitlines()[-1])
    assert served["class_names"] == NAMES
    for name, video in videos.items():
        expected = reference_scores(model, video, "imagenet")
        np.testing.assert_allclose(served[name]["probabilities"][0], expected.probabilities,
                                   rtol=1e-4, atol=1e-5)
        frame_scores = np.asarray(served[name]["frame_scores"][0])
        assert frame_scores.shape == (video.shape[1], CLASSES)
        np.testing.assert_allclose(frame_scores, expected.frame_scores, rtol=1e-4, atol=1e-5)
    assert open(os.path.join(path, "assets", "class_names.txt")).read().split() == NAMES
    settings = json.load(open(os.path.join(path, "assets", "kerasfer_export.json")))
    assert (settings["clip_length"], settings["pooling_temperature"]) == (F, GAMMA)


@pytest.mark.parametrize("videos", [
    np.zeros((0, 5, 12, 12, 3), "uint8"),        # a batch of 0 videos
    np.zeros((1, 0, 12, 12, 3), "uint8"),        # empty video
    np.zeros((4, 12, 12, 3), "uint8"),           # one video without the batch axis
    np.zeros((1, 5, 12, 12, 1), "uint8"),        # grey instead of RGB
    np.zeros((1, 5, 0, 12, 3), "uint8"),         # empty frames
], ids=["empty_batch", "empty", "rank4", "one_channel", "zero_height"])
def test_bad_shapes_fail_with_clear_message(exported, videos):
    serve = tf.saved_model.load(exported[1]).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        serve(videos=tf.constant(videos))
    # What a user sees: TensorFlow's frame around kerasfer's line, which names the shape.
    shape = " ".join(str(size) for size in videos.shape)
    assert ("assertion failed: [kerasfer serving: `videos` must be uint8 [batch >= 1, "
            "frames >= 1, height >= 1, width >= 1, 3] aligned RGB faces; received shape] "
            f"[{shape}]") in caught.value.message
    assert "Incompatible shapes" not in caught.value.message


def test_wrong_dtype_names_uint8(exported):
    serve = tf.saved_model.load(exported[1]).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        serve(videos=tf.zeros([1, 5, 12, 12, 3], tf.float32))


@pytest.mark.parametrize("short_video", ["loop", "repeat_last"])
def test_clip_level_model_export(tmp_path, short_video):
    model = clip_level_model()
    path = export_saved_model(model, str(tmp_path / "c3d"), normalization="imagenet",
                              image_size=SIZE, grayscale=False, clip_length=F,
                              pooling_temperature=GAMMA, class_names=NAMES,
                              short_video=short_video)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    for frames in (3, 11):
        video = uint8_video(frames, seed=frames)
        expected = reference_scores(model, video, "imagenet", short_video=short_video)
        result = serve(videos=tf.constant(video))
        np.testing.assert_allclose(result["probabilities"][0], expected.probabilities,
                                   rtol=1e-4, atol=1e-5)
        # Frame t carries the window centred on t (clamped to the valid starts).
        windows = expected.window_scores
        centred = np.clip(np.arange(frames) - F // 2, 0, len(windows) - 1)
        np.testing.assert_allclose(result["frame_scores"][0], windows[centred], rtol=1e-4,
                                   atol=1e-5)


def test_grayscale_minus_one_one_export(tmp_path):
    # Exported twice into the same directory: the second export replaces the first whole.
    export(fully_conv_model(seed=3), tmp_path / "grey")
    model = fully_conv_model(channels=1, seed=4)
    path = export(model, tmp_path / "grey", normalization="minus_one_one", grayscale=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grey"]  # no partial export left
    serve = tf.saved_model.load(path).signatures["serving_default"]
    video = uint8_video(8, seed=5, side=SIZE)  # already at image_size: no resize
    expected = reference_scores(model, video, "minus_one_one", grayscale=True)
    np.testing.assert_allclose(serve(videos=tf.constant(video))["probabilities"][0],
                               expected.probabilities, rtol=1e-4, atol=1e-5)


def test_export_argument_errors(exported, tmp_path):
    model = exported[0]
    with pytest.raises(ValueError, match="outputs 3 classes but 2 class names"):
        export_saved_model(model, str(tmp_path / "a"), normalization="unit", image_size=SIZE,
                           grayscale=False, clip_length=F, pooling_temperature=1.0,
                           class_names=["a", "b"])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not an export")
    with pytest.raises(ExportError, match="not empty \\(notes.txt\\) and has no "
                                          "kerasfer_export_marker.json"):
        export(model, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "not an export"
    with pytest.raises(ValueError,
                       match="takes clips of 6 frames but clip_length=8; pass clip_length=6"):
        export_saved_model(clip_level_model(), str(tmp_path / "c"), normalization="unit",
                           image_size=SIZE, grayscale=False, clip_length=8,
                           pooling_temperature=1.0, class_names=NAMES)
    with pytest.raises(ValueError, match="pooling_temperature"):
        export_saved_model(model, str(tmp_path / "b"), normalization="unit", image_size=SIZE,
                           grayscale=False, clip_length=F, pooling_temperature=-1.0,
                           class_names=NAMES)


@pytest.mark.slow
def test_strided_registry_model_export_matches_scorer(tmp_path):
    # r3d_18 is fully convolutional with a temporal stride (frames' < frames): it is scored
    # clip by clip (every F-frame window through the whole model), in the scorer and in the
    # export alike.
    from kerasfer.models import get_model
    from kerasfer.models import model_spec

    spec = model_spec("r3d_18")
    model = get_model("r3d_18", num_classes=CLASSES, **spec.tiny_kwargs)
    clip_length, size = spec.tiny_input_shape[0], spec.tiny_input_shape[1]
    path = export_saved_model(model, str(tmp_path / "r3d_18"), normalization="unit",
                              image_size=size, grayscale=False, clip_length=clip_length,
                              pooling_temperature=GAMMA, class_names=NAMES)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    scorer = VideoScorer(model, clip_length=clip_length, pooling_temperature=GAMMA)
    for frames in (clip_length - 3, clip_length + 5):
        video = uint8_video(frames, seed=frames, side=size)
        expected = scorer.score(video[0].astype("float32") / 255.0)
        # Clip by clip: one window per start.
        assert scorer.temporal_output == "strided"
        assert expected.window_scores.shape == (max(frames, clip_length) - clip_length + 1,
                                                CLASSES)
        padded = video[0].astype("float32") / 255.0
        padded = np.concatenate([padded, padded])[:max(frames, clip_length)]  # loop padding
        first_clip = np.asarray(model(padded[None, :clip_length]))[0]
        np.testing.assert_allclose(expected.window_scores[0], first_clip, rtol=1e-4, atol=1e-5)
        result = serve(videos=tf.constant(video))
        np.testing.assert_allclose(result["probabilities"][0], expected.probabilities,
                                   rtol=1e-4, atol=1e-5)
        assert result["frame_scores"].shape == (1, frames, CLASSES)


def write_run(run_dir, data_dir, model):
    """The files `kerasfer.fit` writes that `export_run` reads."""
    from kerasfer.config import load_config
    from kerasfer.config import save_config

    os.makedirs(run_dir)
    config = load_config(overrides=[f"run_dir={run_dir}", f"data.dir={data_dir}",
                                    f"data.image_size={SIZE}", f"data.clip_length={F}",
                                    "data.normalization=minus_one_one",
                                    "eval.pooling_temperature=3.0"])
    save_config(config, os.path.join(run_dir, "config.yaml"))
    with open(os.path.join(run_dir, "splits.json"), "w") as handle:
        json.dump({"train": [], "validation": [], "test": []}, handle)
    model.save(os.path.join(run_dir, "best_model.keras"))


def test_export_run_records_what_a_predictor_needs(tmp_path):
    from kerasfer.data.synthetic import write_synthetic_dataset

    data_dir = write_synthetic_dataset(str(tmp_path / "data"), num_videos=3, num_subjects=1,
                                       class_names=NAMES, image_size=24, min_frames=4,
                                       max_frames=6)
    run_dir = str(tmp_path / "run")
    write_run(run_dir, data_dir, fully_conv_model())
    out = export_run(run_dir, pooling_temperature=0.5)
    assert out == os.path.join(run_dir, "export")
    settings = json.load(open(os.path.join(out, "assets", "kerasfer_export.json")))
    assert {key: settings[key] for key in (
        "class_names", "image_size", "grayscale", "normalization", "clip_length",
        "pooling_temperature", "temporal_output", "short_video", "format_version")} == {
        "class_names": NAMES, "image_size": SIZE, "grayscale": False,
        "normalization": "minus_one_one", "clip_length": F, "pooling_temperature": 0.5,
        "temporal_output": "dense", "short_video": "loop", "format_version": 2}
    assert settings["run"] == os.path.abspath(run_dir)
    face = settings["face_pipeline"]
    assert face["recorded_by"].startswith("builder defaults (synthetic videos")
    assert (face["detector"], face["crop_size"], face["keep_frames_without_face"]) == (
        "hog", 24, False)  # builder defaults; the crop size read from the manifest
    assert len(face["alignment"]["template"]) == 5 and "68" in face["landmarks_model"]
    # Face options the builder recorded in the dataset are exported as they are.
    with open(os.path.join(data_dir, "face_options.json"), "w") as handle:
        json.dump({"detector": "cnn", "upsample": 0, "detection_max_side": 640,
                   "keep_frames_without_face": True, "crop_size": 24}, handle)
    settings = json.load(open(os.path.join(export_run(run_dir), "assets",
                                           "kerasfer_export.json")))
    face = settings["face_pipeline"]
    assert settings["pooling_temperature"] == 3.0  # the run config's eval.pooling_temperature
    assert (face["recorded_by"], face["detector"], face["upsample"],
            face["detection_max_side"], face["keep_frames_without_face"]) == (
        "dataset", "cnn", 0, 640, True)
