"""Config: YAML loading, dotted overrides with type checks, errors listing valid keys."""

import glob
import os

import pytest
import yaml

from kerasfer.config import (
    ExperimentConfig,
    apply_override,
    load_config,
    save_config,
    valid_keys,
)
from kerasfer.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_defaults_follow_the_thesis_sampler_settings():
    config = load_config(None)
    assert config.data.clip_length == 16                       # F (thesis 3.3.1.3)
    assert (config.sampler.warmup_epochs, config.sampler.exploration_epochs) == (3, 5)
    assert config.sampler.sampling_temperature == 1.0          # best γ_s, Table 3.1
    assert config.train.early_stopping_patience == 10
    assert config.train.momentum == 0.9


@pytest.mark.parametrize("override, key, expected", [
    ("train.epochs=3", "train.epochs", 3),
    ("train.learning_rate=1e-5", "train.learning_rate", 1e-5),        # YAML 1.1 string
    ("train.learning_rate=2", "train.learning_rate", 2.0),            # int accepted as float
    ("sampler.sampling_temperature=.inf", "sampler.sampling_temperature", float("inf")),
    ("data.grayscale=true", "data.grayscale", True),
    ("train.backbone_learning_rate=null", "train.backbone_learning_rate", None),
    ("train.devices=[/cpu:0, /cpu:1]", "train.devices", ["/cpu:0", "/cpu:1"]),
    ("model.kwargs.width_multiplier=0.5", "model.kwargs", {"width_multiplier": 0.5}),
    ("data.synthetic.num_videos=20", "data.synthetic.num_videos", 20),
])
def test_dotted_overrides(override, key, expected):
    config = apply_override(ExperimentConfig(), override)
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("override, message", [
    ("train.epoch=3", "unknown key 'train.epoch'. valid keys: train.epochs"),
    ("trian.epochs=3", "valid keys: run_dir, seed, data.dir"),
    ("train.epochs=three", "train.epochs must be int, got 'three'"),
    ("train.epochs=1.5", "train.epochs must be int"),
    ("data.grayscale=3", "data.grayscale must be bool"),
    ("sampler.kind=greedy", "sampler.kind='greedy' is not one of label_guided, reinforce, softmax"),
    ("train.epochs", "an override must look like key.sub=value"),
    ("data=3", "data is a section, not a value"),
])
def test_bad_overrides_fail_with_valid_keys(override, message):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(None, [override])
    assert message in str(info.value)


def test_yaml_unknown_key_and_range_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  epochz: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert str(path) in str(info.value) and "train.epochs" in str(info.value)
    with pytest.raises(ConfigError, match="sampler.sampling_temperature must be >= 0"):
        load_config(None, ["sampler.sampling_temperature=-1"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(str(tmp_path / "missing.yaml"))


def test_whole_video_durations_need_the_uniform_sampler():
    config = load_config(None, ["data.duration=random_segments", "sampler.kind=uniform"])
    assert config.data.duration == "random_segments"
    with pytest.raises(ConfigError, match="set sampler.kind=uniform"):
        load_config(None, ["data.duration=random_segments"])
    with pytest.raises(ConfigError, match="data.duration"):
        load_config(None, ["data.duration=stretch", "sampler.kind=uniform"])


def test_saved_config_round_trips(tmp_path):
    config = load_config(None, ["train.epochs=7", "model.kwargs.width_multiplier=0.25"])
    path = tmp_path / "run" / "config.yaml"
    save_config(config, str(path))
    assert load_config(str(path)) == config
    import dataclasses

    assert set(yaml.safe_load(path.read_text())) == {
        field.name for field in dataclasses.fields(ExperimentConfig)}


def test_every_shipped_config_loads():
    paths = sorted(glob.glob(os.path.join(REPO, "configs", "*.yaml")))
    assert paths, "configs/*.yaml missing"
    for path in paths:
        load_config(path)
    assert load_config(os.path.join(REPO, "configs", "cpu_tiny.yaml")) == load_config(None)


def test_valid_keys_cover_the_evaluation_contract():
    keys = set(valid_keys())
    assert {"data.dir", "data.clip_length", "data.image_size", "data.normalization",
            "data.grayscale", "model.name", "model.kwargs", "sampler.sampling_temperature",
            "eval.pooling_temperature", "run_dir"} <= keys


def test_monitor_must_be_a_key_the_loop_logs():
    # val_video_accuracy was accepted but never logged: no best model, early stopping on None.
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.monitor=val_video_accuracy"])
    assert "val_accuracy, val_loss, accuracy, loss" in str(info.value)


def test_pretrained_weights_have_one_key():
    # model.pretrained is the one way to give starting weights; the builder argument in
    # model.kwargs is refused with the fix, not silently moved.
    with pytest.raises(ConfigError, match=r"Received: model.kwargs.pretrained="):
        load_config(None, ["model.kwargs.pretrained=/tmp/weights.keras"])
    assert load_config(None, ["model.pretrained=/tmp/weights.keras"]).model.pretrained \
        == "/tmp/weights.keras"
