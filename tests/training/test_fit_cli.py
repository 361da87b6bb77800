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
    from training_helpers import tiny_overrides

    values = {"eval.run_after_fit": True, "eval.export_after_fit": True}
    values.update(extra)
    return tiny_overrides(tiny_dataset_dir, run_dir, epochs=1, **values)


def test_fit_evaluates_and_exports_as_functions(tiny_dataset_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(_fit_argv(tiny_dataset_dir, run_dir)) == 0
    out = capsys.readouterr().out
    assert "evaluation: validation:" in out and "export: SavedModel written to" in out
    assert (run_dir / "evaluation" / "report.json").exists()
    assert (run_dir / "export" / "saved_model.pb").exists()


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
    assert err[1].startswith("error: export failed:") and "not a kerasfer export" in err[1]
    assert (run_dir / "export" / "NOTES.md").read_text() == "mine"
    assert (run_dir / "best_model.keras").exists()           # the trained run is kept
