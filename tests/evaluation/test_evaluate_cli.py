"""End to end: a run directory → `python -m kerasfer.evaluate` / `kerasfer.export` CLIs."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasfer import schema
from kerasfer.config import load_config
from kerasfer.config import save_config
from kerasfer.data import DatasetIndex
from kerasfer.data import evaluation_dataset
from kerasfer.evaluate import main as evaluate_main
from kerasfer.evaluation import VideoScorer
from kerasfer.export import main as export_main
from kerasfer.layers import WindowedSoftmaxPooling

CPU_TINY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "configs", "cpu_tiny.yaml")   # fit without --config runs another preset

SIZE, F, CLASSES = 16, 4, ("happy", "sad")


def write_dataset(directory, num_videos=8):
    """A tiny dataset in the `kerasfer.schema` layout: JPEG frames, manifest, classes."""
    rng = np.random.default_rng(0)
    shard = "tiny-00000-of-00001.tfrecord"
    records = []
    with tf.io.TFRecordWriter(os.path.join(directory, shard)) as writer:
        for i in range(num_videos):
            frames = int(rng.integers(3, 9))  # some shorter than F
            label = i % 2
            pixels = rng.integers(0, 120, (frames, SIZE, SIZE, 3)) + 100 * label
            jpeg = [tf.io.encode_jpeg(p.astype("uint8")).numpy() for p in pixels]
            writer.write(schema.encode_video_example(
                video_id=f"v{i}", label=label, label_name=CLASSES[label], jpeg_frames=jpeg,
                landmarks=np.zeros((frames, 68, 2)), boxes=np.zeros((frames, 4)),
                timestamps=np.arange(frames) / 25.0, detected=np.ones(frames, bool),
                subject=f"s{i // 2}", fps=25.0))
            records.append(schema.manifest_record(
                video_id=f"v{i}", label=label, label_name=CLASSES[label], subject=f"s{i // 2}",
                split="", frames_kept=frames, frames_total=frames, shard=shard, fps=25.0,
                crop_size=SIZE))
    with open(os.path.join(directory, schema.MANIFEST_FILENAME), "w") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records))
    schema.write_json_atomic(os.path.join(directory, schema.CLASSES_FILENAME), list(CLASSES))
    return [r["id"] for r in records]


def tiny_model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv3D(len(CLASSES), (1, SIZE, SIZE), padding="valid")(x)
    frame_scores = keras.layers.Reshape((-1, len(CLASSES)), name="frame_scores")(x)
    outputs = WindowedSoftmaxPooling(F, 1.0, name="temporal_pooling")(frame_scores)
    return keras.Model(inputs, outputs)


def write_run(run_dir, data_dir, ids, seed):
    """The layout `kerasfer.fit` writes: config.yaml, splits.json, best_model.keras.

    Run `seed` is fold `seed` of a 2-fold cross-validation: validation = half of the videos.
    """
    os.makedirs(run_dir)
    config = load_config(overrides=[f"run_dir={run_dir}", f"data.dir={data_dir}",
                                    f"data.image_size={SIZE}", f"data.clip_length={F}",
                                    "data.normalization=unit", f"seed={seed}",
                                    "eval.pooling_temperature=2.0"])
    save_config(config, os.path.join(run_dir, "config.yaml"))
    with open(os.path.join(run_dir, "splits.json"), "w") as handle:
        validation = ids[4 * seed:4 * seed + 4]
        train = [i for i in ids if i not in validation]
        json.dump({"name": f"fold-{seed}", "protocol": "kfold", "seed": seed, "train": train,
                   "validation": validation, "test": []}, handle)
    tiny_model(seed).save(os.path.join(run_dir, "best_model.keras"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    data_dir = root / "data"
    data_dir.mkdir()
    ids = write_dataset(str(data_dir))
    run_dirs = [str(root / f"seed{seed}") for seed in (0, 1)]
    for seed, run_dir in enumerate(run_dirs):
        write_run(run_dir, str(data_dir), ids, seed)
    return run_dirs, str(data_dir), ids


def in_process_predictions(run_dir, data_dir, ids, gamma):
    index = DatasetIndex.load(data_dir)
    model = keras.saving.load_model(os.path.join(run_dir, "best_model.keras"))
    dataset = evaluation_dataset(index, index.select(ids), normalization="unit",
                                 image_size=SIZE)
    return VideoScorer(model, clip_length=F, pooling_temperature=gamma).predict_dataset(dataset)


@pytest.fixture(scope="module")
def fit_run(runs):
    """A real tiny run written by `kerasfer.fit` (r3d_18 at 1/16 width, one epoch)."""
    from kerasfer.fit import main as fit_main

    _, data_dir, _ = runs
    run_dir = os.path.join(os.path.dirname(data_dir), "fit_run")
    assert fit_main(["--no-evaluate", "--config", CPU_TINY, f"run_dir={run_dir}", f"data.dir={data_dir}",
                     f"data.image_size={SIZE}", f"data.clip_length={F}", "data.batch_size=4",
                     "data.normalization=unit", "data.validation_fraction=0.25",
                     "model.name=r3d_18", "model.kwargs={width_multiplier: 0.0625}",
                     "train.epochs=1", "train.verbose=0", "sampler.warmup_epochs=0",
                     "sampler.exploration_epochs=0", "eval.pooling_temperature=2.0"]) == 0
    return run_dir


@pytest.mark.slow
def test_evaluate_cli_end_to_end(fit_run, runs):
    _, data_dir, _ = runs
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-m", "kerasfer.evaluate", "--run", fit_run,
                             "--pooling-temperature", "2", "0"], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    validation = json.load(open(os.path.join(fit_run, "splits.json")))["validation"]
    assert f"validation: {len(validation)} videos, accuracy" in result.stdout
    assert "(γ_p = 2.0)" in result.stdout
    out = os.path.join(fit_run, "evaluation")
    for name in ("report.json", "report.md", "predictions.csv", "window_scores.npz",
                 "confusion_matrix.png", "per_class_recall.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    report = json.load(open(os.path.join(out, "report.json")))
    expected = in_process_predictions(fit_run, data_dir, validation, 2.0)
    assert report["num_videos"] == len(validation) and report["class_names"] == list(CLASSES)
    assert report["metrics"]["accuracy"] == pytest.approx(
        np.mean(expected.predicted == expected.labels))
    zero = expected.with_pooling_temperature(0.0)
    assert report["pooling_temperature_sweep"]["0.0"]["accuracy"] == pytest.approx(
        np.mean(zero.predicted == zero.labels))
    rows = open(os.path.join(out, "predictions.csv")).read().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == validation
    np.testing.assert_allclose([float(r.split(",")[4]) for r in rows],
                               expected.probabilities[:, 0], rtol=1e-5)


@pytest.mark.slow
def test_evaluate_runs_aggregates_mean_and_se(runs, tmp_path, capsys):
    run_dirs, data_dir, ids = runs
    assert evaluate_main(["--runs", *run_dirs, "--out", str(tmp_path / "agg"),
                          "--no-reuse"]) == 0
    printed = capsys.readouterr().out
    assert "2 runs: accuracy" in printed and "all folds pooled: validation (all folds): 8" \
        in printed
    aggregate = json.load(open(tmp_path / "agg" / "aggregate.json"))
    reports = [json.load(open(os.path.join(d, "evaluation", "report.json"))) for d in run_dirs]
    values = [r["metrics"]["accuracy"] for r in reports]
    assert aggregate["metrics"]["accuracy"]["values"] == pytest.approx(values)
    assert aggregate["metrics"]["accuracy"]["mean"] == pytest.approx(np.mean(values))
    assert aggregate["metrics"]["roc_auc"]["n"] == 2
    # The folds are disjoint: one report over all 8 videos, each scored by its fold's model.
    pooled = json.load(open(tmp_path / "agg" / "pooled" / "report.json"))
    assert pooled["num_videos"] == 8
    folds = [in_process_predictions(d, data_dir, ids[4 * k:4 * k + 4], 2.0)
             for k, d in enumerate(run_dirs)]
    correct = sum(int(np.sum(f.predicted == f.labels)) for f in folds)
    assert pooled["metrics"]["accuracy"] == pytest.approx(correct / 8)
    assert os.path.exists(tmp_path / "agg" / "pooled" / "roc_curve.png")


def test_export_cli_from_run(runs, tmp_path):
    run_dirs, data_dir, ids = runs
    out = str(tmp_path / "export")
    assert export_main(["--run", run_dirs[1], "--out", out]) == 0
    serve = tf.saved_model.load(out).signatures["serving_default"]
    # The served probabilities of a stored video equal the evaluation of the same video
    # (uint8 JPEG-decoded frames in; γ_p = eval.pooling_temperature of the config).
    index = DatasetIndex.load(data_dir)
    example = next(iter(evaluation_dataset(index, index.select(ids[5:6]), normalization="unit",
                                           image_size=SIZE)))
    video = tf.cast(tf.round(example["video"] * 255.0), tf.uint8)
    expected = in_process_predictions(run_dirs[1], data_dir, ids[5:6], 2.0)
    np.testing.assert_allclose(serve(videos=video)["probabilities"][0],
                               expected.probabilities[0], rtol=1e-4, atol=1e-5)


def test_cli_errors_are_one_clear_line(runs, tmp_path, capsys):
    run_dirs, _, _ = runs
    assert evaluate_main(["--run", str(tmp_path / "missing")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "config.yaml: run config not found" in error
    assert evaluate_main(["--run", run_dirs[0], "--split", "test",
                          "--out", str(tmp_path / "t")]) == 2
    assert "split 'test' holds no video. pass --split one of train, validation" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate_main(["--help"])
    assert "--pooling-temperature" in capsys.readouterr().out


def test_padded_batches_score_like_single_videos(runs):
    # evaluation_dataset(batch_size=3) zero-pads videos of different lengths; each video is
    # cropped to its `length` before scoring, so the predictions are those of batch_size=1.
    run_dirs, data_dir, ids = runs
    index = DatasetIndex.load(data_dir)
    model = keras.saving.load_model(os.path.join(run_dirs[0], "best_model.keras"))
    scorer = VideoScorer(model, clip_length=F, pooling_temperature=2.0)
    single, batched = (scorer.predict_dataset(evaluation_dataset(
        index, index.select(ids), normalization="unit", image_size=SIZE, batch_size=size))
        for size in (1, 3))
    assert batched.ids == single.ids == ids
    np.testing.assert_allclose(batched.logits, single.logits, rtol=1e-5, atol=1e-6)
    assert [len(w) for w in batched.window_scores] == [len(w) for w in single.window_scores]


def test_evaluate_does_not_import_training():
    # One-way layering: evaluation reads a run's files, it never needs the training code.
    import ast
    import pathlib

    import kerasfer.evaluate

    tree = ast.parse(pathlib.Path(kerasfer.evaluate.__file__).read_text())
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]
    modules += [node.value for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.startswith("kerasfer.")]
    assert not [m for m in modules if m and m.startswith("kerasfer.training")]
