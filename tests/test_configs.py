"""Every config in `configs/` is built and run for one tiny epoch, then evaluated (no rot).

Tiny overrides: a small synthetic set (no `data.dir`), the registry's tiny model widths,
one epoch, no export. Per-pipeline extras shrink the classical stages.
"""

import glob
import os

import pytest
import yaml

CONFIGS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.yaml")))
DATA = ["data.dir=", "data.synthetic.num_videos=16", "data.synthetic.num_subjects=4",
        "data.synthetic.image_size=32", "data.synthetic.min_frames=16",
        "data.synthetic.max_frames=20", "data.image_size=32", "data.batch_size=4",
        "train.epochs=1", "train.verbose=0", "eval.export_after_fit=false",
        "pretrain.epochs=1", "pretrain.static_subjects=2", "pretrain.static_images_per_subject=5"]
PIPELINES = {
    "relaxed_aggregation_genuine_fake": [
        "data.image_size=48", "data.synthetic.image_size=48", "data.synthetic.num_subjects=4",
        "data.synthetic.class_names=[Happy]", "pipeline_options.rnn_units=4",
        "pipeline_options.grid_dim=8", "pipeline_options.output_dim=8",
        "pipeline_options.intervals_per_video=1"],
    "lstm_pb_genuine_fake": [
        "data.synthetic.class_names=[Happy]", "pipeline_options.units=4",
        "pipeline_options.pb_dim=2", "pipeline_options.sequence_length=6",
        "pipeline_options.augment_copies=0", "pipeline_options.recognition_steps=2",
        "pipeline_options.gbm_trees=3"],
}


def tiny_overrides(path):
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    pipeline = raw.get("pipeline", "clip_classifier")
    # The synthetic set has no split column: the AFEW protocol becomes a subject holdout,
    # evaluated on its validation side (the holdout has no test side).
    data = DATA + (["data.split=stratified", "eval.split=validation"]
                   if raw.get("data", {}).get("split") in ("dataset", "given") else [])
    if pipeline != "clip_classifier":
        return data + PIPELINES.get(pipeline, [])
    from kerasfer.models import model_spec

    spec = model_spec(raw.get("model", {}).get("name", "r3d_18"))
    kwargs = {k: v for k, v in spec.tiny_kwargs.items() if k != "input_shape"}
    frames = spec.tiny_input_shape[0]
    overrides = data + [f"data.clip_length={frames}", "model.pretrained=false"]
    return overrides + [f"model.kwargs.{k}={yaml.safe_dump(v, default_flow_style=True).strip()}"
                        for k, v in kwargs.items()]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))  # synthetic sets shared between configs


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_config_runs_one_tiny_epoch(path, tmp_path, monkeypatch, shared_cache):
    from kerasfer.fit import main

    monkeypatch.setenv("KERASFER_CACHE", shared_cache)
    assert main(["--config", path, f"run_dir={tmp_path / 'run'}", *tiny_overrides(path)]) == 0
