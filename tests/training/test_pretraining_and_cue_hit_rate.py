"""2D pretraining stage (held-out subjects excluded), cue hit-rate callback, sampler registry."""

import inspect
import json
import os

import keras
import numpy as np
import pytest

from kerasfer.errors import ConfigError


def _split(tiny_config):
    from kerasfer.data import DatasetIndex
    from kerasfer.training.experiment import make_splits

    config = tiny_config()
    index = DatasetIndex.load(config.data.dir)
    splits = make_splits(index, config.data, config.seed)
    return config, index, index.select(ids=splits["train"]), index.select(ids=splits["validation"])


@pytest.mark.parametrize("source", ["cue_frames", "all_frames"])
def test_pretraining_frames_come_from_training_subjects_only(source, tiny_config):
    from kerasfer.training.pretraining import read_training_frames

    config, index, train, validation = _split(tiny_config)
    assert {r["subject"] for r in train}.isdisjoint({r["subject"] for r in validation})
    jpegs, labels, ids = read_training_frames(index, train, source)
    assert len(jpegs) == len(labels) == len(ids) > 0
    assert set(ids) <= {r["id"] for r in train}
    assert set(ids).isdisjoint({r["id"] for r in validation})
    by_id = {r["id"]: r for r in train}
    assert all(int(by_id[i]["label"]) == label for i, label in zip(ids, labels))
    total = sum(int(r["frames_kept"]) for r in train)
    if source == "all_frames":
        assert len(jpegs) == total
    else:                                   # only frames where the expression is visible
        assert 0 < len(jpegs) < total


def test_static_faces_subjects_are_not_dataset_subjects():
    from kerasfer.data.synthetic import FaceIdentity
    from kerasfer.data.synthetic.expressions import NUM_ACTIONS
    from kerasfer.data.synthetic.static_faces import STATIC_FACE_STREAM, render_static_faces

    faces = render_static_faces(["Happy", "Sad"], num_subjects=2, images_per_subject=3,
                                image_size=16)
    assert faces["images"].shape == (6, 16, 16, 3)
    assert faces["labels"].tolist() == [0, 1, 0, 1, 0, 1]
    assert np.all(faces["intensity"] > 0)          # the expression is visible on every image
    # The dataset writer draws subject s from [seed, 1, s]; static faces from [seed, 4, s].
    dataset = FaceIdentity.sample(np.random.default_rng([0, 1, 0]), NUM_ACTIONS)
    static = FaceIdentity.sample(np.random.default_rng([0, STATIC_FACE_STREAM, 0]), NUM_ACTIONS)
    assert STATIC_FACE_STREAM != 1 and repr(dataset) != repr(static)


def test_resolve_pretrained_run_directory(tmp_path):
    from kerasfer.errors import ConfigError
    from kerasfer.training.pretraining import resolve_pretrained

    with pytest.raises(ConfigError, match="no pretraining/model_2d.keras"):
        resolve_pretrained(str(tmp_path))
    (tmp_path / "pretraining").mkdir()
    (tmp_path / "pretraining" / "model_2d.keras").write_bytes(b"x")
    assert resolve_pretrained(str(tmp_path)) == str(tmp_path / "pretraining" / "model_2d.keras")
    assert resolve_pretrained(True) is True


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["small_cnn_2d", "fer_mini_xception_2d"])
def test_pretraining_stage_trains_saves_and_is_reused(backbone, tiny_config, tmp_path):
    from kerasfer.models import backbone_2d_spec, get_model
    from kerasfer.training.pretraining import prepare_pretrained_backbone

    config, index, train, validation = _split(tiny_config)
    spec = backbone_2d_spec(backbone)
    config.model.name, config.model.kwargs = spec.inflated_by, {}
    config.pretrain.model, config.pretrain.source, config.pretrain.epochs = backbone, "cue_frames", 1
    path = prepare_pretrained_backbone(config, index, train, str(tmp_path))
    assert os.path.exists(path) and config.model.pretrained == path
    with open(os.path.join(tmp_path, "pretraining", "pretraining.json")) as handle:
        info = json.load(handle)
    assert set(info["subjects"]) == {r["subject"] for r in train}
    # The 3D family inflates the saved 2D model: a static clip scores like the 2D model.
    size = config.data.image_size
    model_2d = keras.saving.load_model(path, compile=False)
    model_3d = get_model(spec.inflated_by, len(index.classes), pretrained=path,
                         input_shape=(None, size, size, 3))
    face = np.random.default_rng(0).uniform(-1, 1, (1, size, size, 3)).astype("float32")
    frames = keras.Model(model_3d.input, model_3d.get_layer("frame_scores").output)(
        np.repeat(face[:, None], 9, axis=1))
    expected = np.asarray(model_2d(face))
    if spec.outputs == "probabilities":
        expected = np.log(expected)            # the 3D frame scores are the 2D logits
    got = np.asarray(frames)[0, 4]
    np.testing.assert_allclose(got - got.mean(), expected[0] - expected[0].mean(), atol=1e-4)
    mtime = os.path.getmtime(path)
    config.model.pretrained = False
    assert prepare_pretrained_backbone(config, index, train, str(tmp_path)) == path
    assert os.path.getmtime(path) == mtime               # resumed: not retrained
    # Reuse by another run: model.pretrained=RUN resolves to the saved 2D model.
    config.pretrain.source, config.model.pretrained = "none", str(tmp_path)
    assert prepare_pretrained_backbone(config, index, train, str(tmp_path / "other")) == path


def test_pretraining_refuses_a_backbone_the_model_does_not_inflate(tiny_config, tmp_path):
    from kerasfer.training.pretraining import prepare_pretrained_backbone

    config, index, train, _ = _split(tiny_config)
    config.model.name, config.pretrain.model = "c3d", "small_cnn_2d"
    config.pretrain.source = "cue_frames"
    with pytest.raises(ConfigError, match="small_cnn_2d is inflated by small_cnn_3d, but "
                                          "model.name is c3d"):
        prepare_pretrained_backbone(config, index, train, str(tmp_path))
    config.model.name, config.pretrain.init = "small_cnn_3d", "fer2013"
    with pytest.raises(ConfigError, match="small_cnn_2d has no fer2013 weights"):
        prepare_pretrained_backbone(config, index, train, str(tmp_path))
    assert not os.path.exists(tmp_path / "pretraining")


def test_every_2d_backbone_is_inflated_by_a_registered_model():
    from kerasfer.config import choices
    from kerasfer.models import backbone_2d_spec, list_backbones_2d, list_models

    assert choices("pretrain.model") == tuple(list_backbones_2d())
    for name in list_backbones_2d():
        assert backbone_2d_spec(name).inflated_by in list_models()


def test_cue_hit_rate_callback_hand_made_case(tmp_path):
    from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler
    from kerasfer.training.cue_hit_rate_callback import CueHitRateCallback

    labels = [np.r_[np.zeros(20), np.ones(4), np.zeros(16)],   # 40 frames, cue 20-23
              np.r_[np.ones(2), np.zeros(18)]]                 # 20 frames, cue 0-1
    sampler = TemporalStochasticSoftmaxSampler([40, 20], 8, 1.0, warmup_epochs=1,
                                               exploration_epochs=0)
    callback = CueHitRateCallback(sampler, labels, 8, out_dir=str(tmp_path))
    assert callback.uniform == pytest.approx((11 / 33 + 2 / 13) / 2)
    sampler.history[0] = np.array([15, 5])           # hit, miss
    logs = {}
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, logs)
    assert logs["cue_hit_rate"] == 0.5 and "cue_hit_rate_expected" not in logs
    sampler.table.scores(0)[:] = -50.0
    sampler.table.scores(0)[18] = 0.0                # the sampler "knows" the cue of video 0
    callback.on_epoch_begin(1)
    sampler.history[1] = np.array([18, 0])
    callback.on_epoch_end(1, logs)
    assert logs["cue_hit_rate"] == 1.0
    assert logs["cue_hit_rate_expected"] == pytest.approx((1.0 + 2 / 13) / 2)
    callback.on_train_end()
    with open(tmp_path / "cue_hit_rate.json") as handle:
        saved = json.load(handle)
    assert saved["exploitation"] == 1.0 and len(saved["epochs"]) == 2


def test_sampler_registry_matches_config_choices_and_extends():
    from kerasfer.config import SamplerConfig, choices, load_config
    from kerasfer.data.sampling import (TemporalStochasticSoftmaxSampler, build_sampler,
                                        list_samplers, register_sampler)
    from kerasfer.data.sampling import sampler_registry
    from kerasfer.errors import ConfigError

    assert list_samplers() == ["label_guided", "reinforce", "softmax", "uniform"]
    assert sorted(choices("sampler.kind")) == list_samplers()
    author = build_sampler(SamplerConfig(kind="softmax", exploration="author"), [40], 16)
    assert author.exploration == "author"

    @register_sampler("test_always_first")
    def build_first(options, lengths, clip_length, seed, frame_labels):
        return TemporalStochasticSoftmaxSampler(lengths, clip_length, float("inf"), 0, 0, seed)

    try:
        # One file + one decorator: the config accepts the new kind too.
        assert load_config(None, ["sampler.kind=test_always_first"]).sampler.kind == \
            "test_always_first"
        sampler = build_sampler(SamplerConfig(kind="test_always_first"), [40, 30], 16)
        sampler.table.scores(0)[3] = sampler.table.scores(1)[5] = 1.0
        assert sampler.plan(0).tolist() == [3, 5]
    finally:
        sampler_registry._SAMPLERS.pop("test_always_first")
    with pytest.raises(ConfigError, match="unknown sampler"):
        build_sampler(SamplerConfig(kind="nope"), [40], 16)
    with pytest.raises(ConfigError, match="frame-level labels"):
        build_sampler(SamplerConfig(kind="label_guided"), [40], 16)
