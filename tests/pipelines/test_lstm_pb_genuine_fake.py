"""Huynh & Kim (2017)'s landmark LSTM-PB + gradient boosting run through kerasfer.fit / evaluate."""

import json
import os

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from kerasfer.config import load_config
from kerasfer.errors import ConfigError
from kerasfer.pipelines.lstm_pb_genuine_fake import (
    LstmPbGenuineFakePipeline,
    align_to_template,
    box_jitter,
    paper_landmarks,
)


def test_forty_paper_landmarks_keep_points_and_add_line_centres():
    points = np.random.default_rng(0).random((3, 68, 2)).astype("float32")
    forty = paper_landmarks(points)
    assert forty.shape == (3, 40, 2)  # 80 inputs per frame, Huynh & Kim 2017, Section 2.3.5
    np.testing.assert_allclose(forty[:, 0], points[:, 8])  # chin tip kept
    np.testing.assert_allclose(forty[:, 36], (points[:, 2] + points[:, 31]) / 2)  # a cheek
    with pytest.raises(ValueError, match="Received: shape"):
        paper_landmarks(np.zeros((5, 2)))


def test_box_jitter_re_expresses_landmarks_in_the_cropped_box():
    rng = np.random.default_rng(3)
    left, top, right, bottom = np.random.default_rng(3).uniform(0, 0.2, 4)
    corners = np.array([[left, top], [1 - right, 1 - bottom]], np.float32)
    np.testing.assert_allclose(box_jitter(corners, rng, 0.2), [[0, 0], [1, 1]], atol=1e-6)


def test_alignment_removes_rigid_head_motion_and_keeps_aligned_landmarks():
    """Per-frame similarity alignment: a rotated, scaled, shifted copy of every frame lands
    where the frame itself lands, and landmarks already aligned (the builder's) stay put."""
    from tfrecords_builder.alignment import TEMPLATE, alignment_points

    from kerasfer.data.synthetic.synthetic_video import render_video

    rng = np.random.default_rng(0)
    face = render_video("Happy", num_frames=3, image_size=48, seed=1).landmarks / 48.0
    angle, scale = rng.uniform(-0.3, 0.3, 3), rng.uniform(0.8, 1.2, 3)
    shift = rng.normal(0, 0.05, (3, 2))
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    centred = face - 0.5
    moved = np.stack([cos * centred[..., 0] - sin * centred[..., 1],
                      sin * centred[..., 0] + cos * centred[..., 1]], -1)
    moved = (scale[:, None, None] * moved + 0.5 + shift[:, None]).astype("float32")
    aligned = align_to_template(face)
    np.testing.assert_allclose(align_to_template(moved), aligned, atol=1e-5)
    np.testing.assert_allclose(align_to_template(aligned), aligned, atol=1e-5)
    # The alignment points sit on the template (weighted least squares, so not exactly).
    assert np.abs(alignment_points(aligned[0]) - TEMPLATE).max() < 0.05
    with pytest.raises(ValueError, match="Received: shape"):
        align_to_template(np.zeros((68, 2)))


def test_unknown_pb_row_choice_is_a_config_error():
    config = load_config("configs/lstm_pb_genuine_fake.yaml", ["pipeline_options.pb_per=video"])
    with pytest.raises(ConfigError, match="pb_per"):
        LstmPbGenuineFakePipeline(config)


@pytest.mark.parametrize("copies", [-1, 1.5, True])
def test_bad_test_copies_is_a_config_error(copies):
    config = load_config("configs/lstm_pb_genuine_fake.yaml",
                         [f"pipeline_options.test_copies={copies}"])
    with pytest.raises(ConfigError, match="test_copies"):
        LstmPbGenuineFakePipeline(config)


def test_test_time_copies_average_the_boosted_probability_over_jittered_copies():
    """P(genuine) = mean over the clean video and `test_copies` box-jittered copies, each
    recognised on its own (the authors' released test scripts average re-cropped copies)."""
    from sklearn.ensemble import GradientBoostingClassifier

    from kerasfer.models import LSTMParametricBias

    def pipeline(copies):
        config = load_config("configs/lstm_pb_genuine_fake.yaml", [
            f"pipeline_options.test_copies={copies}", "pipeline_options.recognition_steps=2"])
        pipe = LstmPbGenuineFakePipeline(config)
        pipe.scale = 0.05
        return pipe

    rng = np.random.default_rng(0)
    points = rng.uniform(0.2, 0.8, (5, 32, 40, 2)).astype("float32")
    model = LSTMParametricBias(2, input_dim=80, pb_dim=2, units=4, context_dim=4,
                               recurrent="lstm")
    single = pipeline(0)
    draw = np.random.default_rng(1)
    copies = [points] + [np.stack([box_jitter(s, draw, 0.1) for s in points]) for _ in range(2)]
    pbs = [single._recognise(model, single._flat(c)) for c in copies]
    # Boosted trees fitted on these very PB vectors, so that each copy gets its own output.
    gbm = GradientBoostingClassifier(n_estimators=20, max_depth=4, random_state=0).fit(
        np.concatenate(pbs), np.arange(15) % 2)
    each = np.stack([gbm.predict_proba(pb)[:, 1] for pb in pbs])
    assert np.ptp(each, axis=0).max() > 0.1  # the copies disagree, so averaging matters

    clean = single._probability(model, gbm, points, np.random.default_rng(1))
    np.testing.assert_allclose(clean, each[0], atol=1e-6)
    averaged = pipeline(2)._probability(model, gbm, points, np.random.default_rng(1))
    assert averaged.shape == (5,)
    np.testing.assert_allclose(averaged, each.mean(axis=0), atol=1e-6)


@pytest.mark.slow
def test_fit_then_evaluate_gives_roc_per_emotion(tmp_path, monkeypatch, capsys):
    from kerasfer.evaluate import main as evaluate_main
    from kerasfer.fit import main as fit_main

    monkeypatch.setenv("KERASFER_CACHE", str(tmp_path / "cache"))
    run = str(tmp_path / "run")
    assert fit_main(["--config", "configs/lstm_pb_genuine_fake.yaml", f"run_dir={run}",
                     "data.synthetic.num_videos=32", "data.synthetic.num_subjects=8",
                     "data.synthetic.class_names=[Happy, Sad]", "data.synthetic.min_frames=16",
                     "data.synthetic.max_frames=20", "train.epochs=2",
                     "pipeline_options.units=8", "pipeline_options.pb_dim=4",
                     "pipeline_options.sequence_length=8", "pipeline_options.augment_copies=1",
                     "pipeline_options.recognition_steps=3",
                     "pipeline_options.gbm_trees=5"]) == 0
    assert "ROC-AUC" in capsys.readouterr().out
    import keras

    # Section 2.3.1: the learning mode of each emotion creates two PB vectors, genuine and fake.
    model = keras.saving.load_model(os.path.join(run, "lstm_pb_happy.keras"))
    assert model.pb_vectors().shape == (2, 4)
    assert evaluate_main(["--run", run]) == 0
    with open(os.path.join(run, "evaluation", "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(run, "scores.json"), encoding="utf-8") as handle:
        saved = json.load(handle)
    # the paired decision of the ChaLearn protocol: within each subject's emotion, the
    # higher-scoring half of the videos is called genuine
    from kerasfer.evaluation import paired_decisions
    from kerasfer.data import DatasetIndex

    index = DatasetIndex.load(load_config(os.path.join(run, "config.yaml")).data.dir)
    subject = {r["id"]: r["subject"] for r in index.select(ids=report["ids"])}
    rows = [saved[i] for i in report["ids"]]
    called = paired_decisions([r[0] for r in rows], [(subject[i], saved[i][2])
                                                     for i in report["ids"]], 0.5)
    assert report["metrics"]["paired_accuracy"] == pytest.approx(
        np.mean(called == np.array([r[1] for r in rows])))
    for emotion, auc in report["metrics"]["per_emotion_roc_auc"].items():
        rows = [saved[i] for i in report["ids"] if saved[i][2] == emotion]
        assert auc == pytest.approx(roc_auc_score([r[1] for r in rows], [r[0] for r in rows]))
