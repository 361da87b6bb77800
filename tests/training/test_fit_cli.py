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
