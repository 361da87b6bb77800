"""Fan et al. (2017) audio-visual run: splits, stored scores → report, and end to end (slow)."""

import json
import os

import numpy as np
import pytest

from kerasfer.errors import ConfigError
from kerasfer.evaluation.fusion_run import (AudioVisualFusionOptions, check_options,
                                            evaluate_audio_visual_fusion, make_three_way_split,
                                            read_audio_features)
from kerasfer.evaluation.fusion_video_stage import feature_model_scores, video_model_config

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "audio_visual_fusion.yaml")


def test_three_way_split_is_subject_independent():
    records = [{"id": f"v{i}", "label": i % 3, "subject": f"s{i % 8}", "split": ""}
               for i in range(96)]
    split = make_three_way_split(records, validation_fraction=0.25, test_fraction=0.25, seed=0)
    subjects = {side: {r["subject"] for r in records if r["id"] in set(split[side])}
                for side in ("train", "validation", "test")}
    assert all(subjects.values())
    assert not (subjects["train"] & subjects["test"] or subjects["train"] & subjects["validation"]
                or subjects["validation"] & subjects["test"])
    assert sum(len(v) for v in split.values()) == 96
    own = [dict(r, split=("train", "validation", "test")[i % 3]) for i, r in enumerate(records)]
    assert make_three_way_split(own, 0.25, 0.25, 0)["test"] == [f"v{i}" for i in range(2, 96, 3)]


def test_options_and_overrides_are_checked():
    from kerasfer.config import load_config

    config = load_config(CONFIG)
    with pytest.raises(ConfigError, match="unknown \\['knn'\\]"):
        check_options(AudioVisualFusionOptions(audio_classifiers=["knn"]))
    with pytest.raises(ConfigError, match="test_fraction"):
        check_options(AudioVisualFusionOptions(test_fraction=1.0))
    with pytest.raises(ConfigError, match="unknown key 'modle.name.x'"):
        video_model_config(config, "c3d", {"modle.name.x": "c3d"}, "/data")
    c3d = video_model_config(config, "c3d", {"model.name": "c3d", "data.clip_length": 8}, "/data")
    assert (c3d.model.name, c3d.data.clip_length, c3d.data.dir) == ("c3d", 8, "/data")
    assert c3d.run_dir == os.path.join(config.run_dir, "video", "c3d")
    # With a pretrained 2D backbone: the base family inflates it, another family does not,
    # an explicit model.pretrained wins, and no network pretrains again.
    inflated = video_model_config(config, "x", {}, "/data", backbone="/b/model_2d.keras")
    assert inflated.model.name == config.model.name == "fer_mini_xception_3d"
    assert (inflated.model.pretrained, inflated.pretrain.source) == ("/b/model_2d.keras", "none")
    other = video_model_config(config, "c3d", {"model.name": "c3d"}, "/data", backbone="/b/m")
    assert (other.model.pretrained, other.pretrain.source) == (False, "none")
    own = video_model_config(config, "x", {"model.pretrained": "/own.keras"}, "/data", "/b/m")
    assert own.model.pretrained == "/own.keras"
    with pytest.raises(ConfigError, match="unknown \\['units'\\]"):
        check_options(AudioVisualFusionOptions(feature_models={"bilstm": {"units": 3}}))
    with pytest.raises(ConfigError, match="also in video_models"):
        check_options(AudioVisualFusionOptions(feature_models={"c3d": {}}))
    with pytest.raises(ConfigError, match="need a pretrained 2D backbone"):
        feature_model_scores(config, {"bilstm": {}}, "/data", {}, {}, backbone=None)
    from kerasfer.pipelines import get_pipeline

    assert get_pipeline("audio_visual_fusion").options_class is AudioVisualFusionOptions
    with pytest.raises(ConfigError, match="svm"):
        get_pipeline("audio_visual_fusion")(load_config(CONFIG, ["pipeline_options.svm=1"]))


def test_report_from_stored_scores(tmp_path):
    rng = np.random.default_rng(0)
    labels = {"validation": np.arange(60) % 3, "test": np.arange(30) % 3}
    arrays = {}
    for side, y in labels.items():
        video = np.eye(3)[y] * 0.5 + rng.uniform(0, 0.6, (len(y), 3))
        audio = np.eye(3)[y] * 0.4 + rng.uniform(0, 0.6, (len(y), 3))
        audio[:4] = np.nan  # no audio track
        arrays.update({f"{side}/cnn_bilstm": video, f"{side}/audio_svc": audio,
                       f"{side}/labels": y, f"{side}/ids": np.array([f"v{i}" for i in range(len(y))])})
    np.savez(tmp_path / "scores.npz", **arrays)
    (tmp_path / "fusion_options.json").write_text(json.dumps(
        {"video_models": {}, "audio_classifiers": ["svc"], "svc_c": 1.0,
         "fusion_methods": ["average", "max", "svm"], "svm_c": 18.5, "test_fraction": 0.25}))
    report = evaluate_audio_visual_fusion(str(tmp_path))
    test = arrays["test/cnn_bilstm"]
    assert report["accuracy"]["cnn_bilstm"] == pytest.approx(np.mean(np.argmax(test, 1) == labels["test"]))
    assert report["videos"] == 30 and report["videos_without_audio"] == 4
    assert report["chance"] == pytest.approx(1 / 3)
    assert report["video_modality"] == report["accuracy"]["cnn_bilstm"]
    assert set(report["accuracy"]) == {"cnn_bilstm", "audio_svc", "fusion_average", "fusion_max",
                                       "fusion_svm"}
    assert report["paper"]["fusion_svm"] == 0.553
    assert os.path.exists(tmp_path / "evaluation" / "report.md")
    with pytest.raises(ConfigError, match="no fusion scores"):
        evaluate_audio_visual_fusion(str(tmp_path / "missing"))


def test_audio_features_extracted_from_synthetic_mp4_and_cached(tmp_path):
    pytest.importorskip("opensmile")
    from kerasfer import schema
    from kerasfer.data.synthetic import write_synthetic_dataset

    out = write_synthetic_dataset(str(tmp_path / "syn"), num_videos=3, num_subjects=1,
                                  image_size=32, min_frames=25, max_frames=25, write_mp4=True)
    records = schema.read_manifest(out)
    cache = str(tmp_path / "audio.npz")
    features, present = read_audio_features(out, records, cache)
    assert features.shape == (3, 88) and present.all() and np.isfinite(features).all()
    again, _ = read_audio_features(out, records, cache)
    np.testing.assert_array_equal(features, again)
    os.remove(os.path.join(out, "videos", "syn00001.mp4"))
    os.remove(cache)
    with pytest.raises(ConfigError, match="no source file"):
        read_audio_features(out, records, cache)


@pytest.mark.slow
def test_backbone_frame_features_are_the_classifier_input_computed_once(tmp_path):
    """Fan et al.'s fc6-of-every-frame stage on a saved 2D CNN: one row per frame, cached."""
    import keras

    from kerasfer.data import DatasetIndex, evaluation_dataset
    from kerasfer.data.feature_dataset import feature_file_name
    from kerasfer.data.synthetic import write_synthetic_dataset
    from kerasfer.evaluation.fusion_feature_lstm import frame_feature_extractor
    from kerasfer.models.fer_mini_xception import fer_mini_xception_2d
    from kerasfer.pipelines.frame_features import saved_backbone_frame_features

    out = write_synthetic_dataset(str(tmp_path / "syn"), num_videos=2, num_subjects=1,
                                  class_names=("Happy", "Sad"), image_size=32, min_frames=6,
                                  max_frames=9)
    index = DatasetIndex.load(out)
    records = index.select()
    model_path = str(tmp_path / "model_2d.keras")
    fer_mini_xception_2d(2, input_shape=(32, 32, 1)).save(model_path)
    feature_dir = str(tmp_path / "features")
    features = saved_backbone_frame_features(index, records, model_path, feature_dir, 32,
                                             "minus_one_one", True)
    extractor = frame_feature_extractor(keras.saving.load_model(model_path, compile=False))
    for video in evaluation_dataset(index, records, normalization="minus_one_one",
                                    image_size=32, grayscale=True):
        video_id = video["id"][0].numpy().decode()
        expected = np.asarray(extractor(video["video"][0]))
        assert features[video_id].shape == (video["video"].shape[1], 128)
        np.testing.assert_allclose(features[video_id], expected, rtol=1e-4, atol=1e-5)
    path = os.path.join(feature_dir, feature_file_name(records[0]["id"]))
    stamp = os.stat(path).st_mtime_ns
    os.remove(model_path)  # cached: the model is not needed (nor loaded) again
    again = saved_backbone_frame_features(index, records, model_path, feature_dir, 32,
                                          "minus_one_one", True)
    assert os.stat(path).st_mtime_ns == stamp
    np.testing.assert_array_equal(again[records[0]["id"]], features[records[0]["id"]])


@pytest.mark.slow
def test_fit_then_evaluate_fusion_beats_each_modality(tmp_path, monkeypatch, capsys):
    """Acceptance: held-out subjects; audio, video, fused above chance; fusion >= best single.

    The config as shipped (a few minutes on a CPU): the FER2013 mini-Xception fine-tuned on
    static faces of other subjects, inflated (c3d role) and as frozen per-frame features
    under a Bi-LSTM (vgg_bilstm role), as Fan et al. start from VGG-Face / Sports-1M.
    """
    pytest.importorskip("opensmile")
    from kerasfer.evaluate import main as evaluate_main
    from kerasfer.fit import main as fit_main

    monkeypatch.setenv("KERASFER_CACHE", str(tmp_path / "cache"))
    run = str(tmp_path / "run")
    assert fit_main(["--config", CONFIG, f"run_dir={run}", "train.verbose=0"]) == 0
    assert "fusion_svm" in capsys.readouterr().out
    assert evaluate_main(["--run", run]) == 0
    with open(os.path.join(run, "evaluation", "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(run, "splits.json"), encoding="utf-8") as handle:
        splits = json.load(handle)
    from kerasfer import schema
    from kerasfer.config import load_config
    from kerasfer.evaluation.fusion_run import prepare_audio_visual_data

    data_dir = prepare_audio_visual_data(load_config(CONFIG))  # the cached synthetic set
    subject = {r["id"]: r["subject"] for r in schema.read_manifest(data_dir)}
    assert not {subject[i] for i in splits["test"]} & {subject[i] for i in splits["train"]}
    with open(os.path.join(run, "pretraining", "pretraining.json"), encoding="utf-8") as handle:
        assert json.load(handle)["subjects"].endswith("outside the dataset")
    chance, accuracy = report["chance"], report["accuracy"]
    assert set(accuracy) >= {"c3d", "vgg_bilstm", "audio_svc", "fusion_svm"}, accuracy
    # "clearly above chance": at least 20 points over it, on 45 held-out videos.
    for name in ("c3d", "vgg_bilstm", "audio_random_forest", "audio_svc", "fusion_svm"):
        assert accuracy[name] >= chance + 0.2, (name, accuracy)
    assert report["video_modality"] == max(accuracy["c3d"], accuracy["vgg_bilstm"])
    singles = [a for name, a in accuracy.items() if not name.startswith("fusion_")]
    assert accuracy["fusion_svm"] >= max(singles), accuracy
