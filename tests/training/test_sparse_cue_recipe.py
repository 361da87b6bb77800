"""The recommended recipe (configs/sparse_cue_pretrained.yaml), which is also the default run.

Ayral (2021) master's thesis protocol: 2D pretraining → inflation → fine-tuning on clips
chosen by temporal stochastic softmax. Checked end to end at tiny sizes: (1) on a dataset
`python -m tfrecords_builder` wrote from mp4 files with a train/validation/test `split`
column, then `kerasfer.evaluate --split test` on that split; (2) `python -m kerasfer.fit`
with no --config, in a fresh process, prints the accuracy and the cue hit rates.
"""

import csv
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

RECIPE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "configs", "sparse_cue_pretrained.yaml")
TINY = ["data.image_size=16", "data.clip_length=4", "data.batch_size=4", "train.epochs=3",
        "train.verbose=0", "sampler.warmup_epochs=1", "sampler.exploration_epochs=1",
        "pretrain.epochs=1", "model.kwargs={widths: [4, 8]}", "eval.export_after_fit=false"]
SPLIT_OF_SUBJECT = {0: "train", 1: "train", 2: "validation", 3: "test"}


@pytest.fixture(scope="module")
def built_dataset(tmp_path_factory):
    """mp4 files → CSV with a split column by subject → `python -m tfrecords_builder`."""
    from kerasfer.data.synthetic import write_synthetic_dataset
    from tfrecords_builder.cli import main as build

    root = tmp_path_factory.mktemp("recipe")
    videos = write_synthetic_dataset(str(root / "syn"), num_videos=24, num_subjects=4,
                                     class_names=["Happy", "Sad", "Surprise"], image_size=32,
                                     min_frames=16, max_frames=24, write_mp4=True)
    with open(os.path.join(videos, "videos.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["split"] = SPLIT_OF_SUBJECT[int(row["subject"].lstrip("S"))]   # "S002" → 2
    listing = os.path.join(videos, "videos_with_split.csv")
    with open(listing, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "subject", "split"])
        writer.writeheader()
        writer.writerows({k: row[k] for k in ("path", "label", "subject", "split")}
                         for row in rows)
    out = str(root / "built")
    assert build(["--source", f"csv:{listing}", "--out", out, "--no-detect"]) == 0
    return out, rows


def test_recipe_trains_on_builder_data_and_evaluates_its_test_split(built_dataset, tmp_path):
    from kerasfer.evaluate import main as evaluate
    from kerasfer.fit import main as fit

    data_dir, rows = built_dataset
    run = str(tmp_path / "run")
    # The builder's CSV source writes no frame labels: pretrain on all training frames.
    # The recipe's split protocol keeps the dataset's own test videos for testing and holds
    # a validation subject out of the rest.
    assert fit(["--config", RECIPE, f"data.dir={data_dir}", "pretrain.source=all_frames",
                "sampler.kind=uniform", "seed=1", f"run_dir={run}", "eval.run_after_fit=false",
                *TINY]) == 0
    with open(os.path.join(run, "splits.json")) as handle:
        splits = json.load(handle)
    by_id = {r["id"]: r["subject"] for r in map(json.loads, open(os.path.join(data_dir,
                                                                              "manifest.jsonl")))}
    test_rows = [r for r in rows if r["split"] == "test"]
    assert len(splits["test"]) == len(test_rows)
    assert {by_id[i] for i in splits["test"]} == {"S003"}
    with open(os.path.join(run, "pretraining", "pretraining.json")) as handle:
        pretraining = json.load(handle)
    # Held-out subjects (validation and test) never enter pretraining.
    assert set(pretraining["subjects"]) == {by_id[i] for i in splits["train"]}
    assert not set(pretraining["subjects"]) & {by_id[i] for i in splits["validation"]
                                                + splits["test"]}
    assert evaluate(["--run", run, "--split", "test"]) == 0
    with open(os.path.join(run, "evaluation", "report.json")) as handle:
        report = json.load(handle)
    assert report["split"] == "test"
    assert report["num_videos"] == len(test_rows)


def test_default_run_prints_accuracy_and_hit_rates(tmp_path):
    env = dict(os.environ, KERASFER_CACHE=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="")
    overrides = [f"run_dir={tmp_path / 'run'}", "data.synthetic.num_videos=15",
                 "data.synthetic.num_subjects=5", "data.synthetic.image_size=16",
                 "data.synthetic.min_frames=24", "data.synthetic.max_frames=32",
                 "pretrain.static_subjects=3", "pretrain.static_images_per_subject=5", *TINY]
    result = subprocess.run([sys.executable, "-m", "kerasfer.fit", *overrides],
                            capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "kerasfer.fit: config configs/sparse_cue_pretrained.yaml (default)" in out
    assert os.path.exists(tmp_path / "run" / "pretraining" / "model_2d.keras")
    result_lines = [line for line in out.splitlines() if line.startswith("result: ")]
    assert len(result_lines) == 1, out[-3000:]
    line = result_lines[0]
    assert "whole-video validation accuracy" in line and "cue hit rate of the training clips: " \
        "softmax" in line and "vs uniform sampling" in line
    with open(tmp_path / "run" / "cue_hit_rate.json") as handle:
        hits = json.load(handle)
    assert f"vs uniform sampling {hits['uniform']:.2f}" in line
    assert 0 < hits["uniform"] < 1
