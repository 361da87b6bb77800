"""`python -m kerasfer.fit` CLI surface and sampler construction from configs."""

import numpy as np
import pytest

from kerasfer.fit import main


def test_help_lists_every_key(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for key in ("data.clip_length", "sampler.sampling_temperature", "eval.pooling_temperature",
                "train.gradient_accumulation_steps", "train.backbone_learning_rate"):
        assert key in out


@pytest.mark.parametrize("argv, message", [
    (["train.epoch=3"], "unknown key 'train.epoch'. valid keys: train.epochs"),
    (["train.epochs=abc"], "train.epochs must be int"),
    (["--config", "missing.yaml"], "missing.yaml: config file not found"),
])
def test_bad_arguments_print_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.parametrize("kind, expected", [
    ("softmax", "TemporalStochasticSoftmaxSampler"),
    ("uniform", "TemporalStochasticSoftmaxSampler"),
    ("reinforce", "ReinforceSampler"),
    ("label_guided", "LabelGuidedSampler"),
])
def test_build_sampler_from_config(kind, expected, tiny_config):
    from kerasfer.data import DatasetIndex
    from kerasfer.training.experiment import build_sampler

    config = tiny_config(**{"sampler.kind": kind})
    index = DatasetIndex.load(config.data.dir)
    sampler = build_sampler(config, index.records, index)
    assert type(sampler).__name__ == expected
    assert sampler.num_videos == len(index.records)
    np.testing.assert_array_equal(sampler.num_starts,
                                  [max(r["frames_kept"] - 4 + 1, 1) for r in index.records])
    if kind == "uniform":
        assert sampler.sampling_temperature == 0 and sampler.phase(0) == "exploitation"
    if kind == "label_guided":
        # Synthetic frame labels are the expression intensity: the apex is favoured.
        for video in range(sampler.num_videos):
            best = int(np.argmax(sampler.distribution(video)))
            assert sampler.label_scores[video][best] == sampler.label_scores[video].max() > 0


def _fit_argv(tiny_dataset_dir, run_dir, **extra):
    from training_helpers import fit_argv

    values = {"eval.run_after_fit": True, "eval.export_after_fit": True}
    values.update(extra)
    return fit_argv(tiny_dataset_dir, run_dir, epochs=1, **values)


@pytest.mark.slow
def test_fit_evaluates_and_exports_as_functions(tiny_dataset_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(_fit_argv(tiny_dataset_dir, run_dir)) == 0
    out = capsys.readouterr().out
    assert "evaluation: validation:" in out and "export: SavedModel written to" in out
    assert (run_dir / "evaluation" / "report.json").exists()
    assert (run_dir / "export" / "saved_model.pb").exists()


@pytest.mark.slow
def test_fit_exits_nonzero_when_evaluation_or_export_fails(tiny_dataset_dir, tmp_path, capsys):
    # Evaluation: the synthetic dataset has no test videos. Export: RUN/export holds a file
    # kerasfer did not write, which export refuses to replace (and must keep).
    run_dir = tmp_path / "run"
    (run_dir / "export").mkdir(parents=True)
    (run_dir / "export" / "NOTES.md").write_text("mine")
    assert main(_fit_argv(tiny_dataset_dir, run_dir, **{"eval.split": "test"})) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith("error: evaluation failed:") and "'test' holds no video" in err[0]
    assert err[1].startswith(f"error: export failed: {run_dir / 'export'}")
    assert (run_dir / "export" / "NOTES.md").read_text() == "mine"
    assert (run_dir / "best_model.keras").exists()           # the trained run is kept


@pytest.mark.slow
def test_fit_says_what_it_does_and_hides_tensorflow_start_up_noise(tmp_path):
    # A fresh process without TF_CPP_MIN_LOG_LEVEL, on a synthetic cache generated here.
    import os
    import subprocess
    import sys

    from training_helpers import fit_argv

    overrides = fit_argv("", tmp_path / "run", epochs=1, **{
        "train.verbose": 2, "data.synthetic.num_videos": 12, "data.synthetic.num_subjects": 4,
        "data.synthetic.image_size": 16, "data.synthetic.min_frames": 8,
        "data.synthetic.max_frames": 20})
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(KERASFER_CACHE=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-m", "kerasfer.fit", "--no-evaluate", *overrides],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "kerasfer.fit: config " in out and "cpu_tiny.yaml" in out
    assert f"data: generating 12 synthetic videos into the cache {tmp_path / 'cache'}" in out
    assert "synthetic videos" in result.stderr                  # the progress bar
    assert "12 videos, 3 classes" in out
    assert "model: c3d," in out and " parameters; sampler: softmax; 1 device" in out
    assert f"run dir: {tmp_path / 'run'}" in out
    for noise in ("E0000", "cuInit", "remapper", "I0000", "Compiled cluster"):
        assert noise not in result.stderr, noise


@pytest.mark.parametrize("line, noise", [
    (b"I0000 00:00:1796186429.467121     522 port.cc:153] oneDNN custom operations are on.\n",
     True),
    (b"E0000 00:00:1796184308.527929    3246 cuda_platform.cc:52] failed call to cuInit: "
     b"INTERNAL: CUDA error\n", True),
    (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
     b"STDERR\n", True),
    (b"F0000 00:00:1796184308.527929    3246 op.cc:1] Check failed\n", False),   # fatal: kept
    (b"error: /data/part-00000.tfrecord: corrupt shard\n", False),
    (b"synthetic videos:  40%|####      | 96/240\r", False),
    (b'  File "x.py", line 3, in <module>\n', False),
])
def test_tensorflow_log_filter_drops_only_cxx_log_lines(line, noise):
    from kerasfer.tensorflow_log_filter import is_tensorflow_noise

    assert is_tensorflow_noise(line) == noise
