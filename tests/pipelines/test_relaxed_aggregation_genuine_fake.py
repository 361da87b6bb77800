"""Ozkan & Akar (2017)'s real-vs-fake run (relaxed aggregation + per-emotion SVM) through kerasfer.fit."""

import json
import os

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from kerasfer.evaluation.genuine_fake import per_emotion_average_precision

TINY = ["data.synthetic.num_videos=32", "data.synthetic.num_subjects=8",
        "data.synthetic.class_names=[Happy, Sad]", "data.synthetic.min_frames=16",
        "data.synthetic.max_frames=20", "train.epochs=2", "pipeline_options.rnn_units=8",
        "pipeline_options.grid_dim=16", "pipeline_options.output_dim=32",
        "pipeline_options.intervals_per_video=2"]


def test_per_emotion_ap_is_scikit_learns_on_a_fixed_example():
    truth = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
    scores = [0.9, 0.8, 0.8, 0.1, 0.4, 0.3, 0.3, 0.2, 0.7, -1.0]  # ties across classes
    emotions = ["anger"] * 5 + ["happiness"] * 5
    ap = per_emotion_average_precision(truth, scores, emotions)
    assert ap["anger"] == pytest.approx(average_precision_score(truth[:5], scores[:5]))
    assert ap["happiness"] == pytest.approx(average_precision_score(truth[5:], scores[5:]))
    assert ap["anger"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))  # the synthetic set and features, made once


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["pipeline_options.aggregation=netvlad",
                                        "pipeline_options.pca_components=8"]])
def test_fit_then_evaluate_reports_scikit_learn_ap_on_held_out_subjects(
        tmp_path, monkeypatch, capsys, extra, shared_cache):
    from kerasfer.evaluate import main as evaluate_main
    from kerasfer.fit import main as fit_main

    monkeypatch.setenv("KERASFER_CACHE", shared_cache)
    run = str(tmp_path / "run")
    assert fit_main(["--config", "configs/cbp_rnn_cbp_genuine_fake.yaml", f"run_dir={run}",
                     *TINY, *extra]) == 0
    assert "MAP" in capsys.readouterr().out
    assert evaluate_main(["--run", run]) == 0
    with open(os.path.join(run, "evaluation", "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    saved = np.load(os.path.join(run, "descriptors.npz"))
    assert saved["descriptors"].shape == (32, 32)  # output_dim, for CBP and NetVLAD alike
    rows = np.isin(saved["ids"], report["ids"])
    truth, emotions = saved["is_genuine"][rows], saved["emotions"][rows]
    for emotion, ap in report["metrics"]["per_emotion_average_precision"].items():
        mine = emotions == emotion
        assert ap == pytest.approx(average_precision_score(
            truth[mine], np.asarray(report["scores"])[mine]))
    # subjects are saved with the descriptors, so the paired decision needs no dataset
    from kerasfer.evaluation import paired_decisions

    called = paired_decisions(report["scores"], list(zip(saved["subjects"][rows], emotions)), 0.0)
    assert report["metrics"]["paired_accuracy"] == pytest.approx(np.mean(called == truth))
    with open(os.path.join(run, "splits.json"), encoding="utf-8") as handle:
        splits = json.load(handle)
    from kerasfer.data import DatasetIndex
    import yaml

    with open(os.path.join(run, "config.yaml"), encoding="utf-8") as handle:
        index = DatasetIndex.load(yaml.safe_load(handle)["data"]["dir"])
    subjects = {name: {index.record(i)["subject"] for i in splits[name]}
                for name in ("train", "validation")}
    assert not subjects["train"] & subjects["validation"]
