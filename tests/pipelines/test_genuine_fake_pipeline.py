"""`GenuineFakePipeline`: the class pairs and the evaluated split of the real-vs-fake runs."""

import json

import pytest

from kerasfer.config import load_config
from kerasfer.errors import ConfigError
from kerasfer.pipelines.genuine_fake_pipeline import GenuineFakePipeline

TINY = ["data.synthetic.num_videos=8", "data.synthetic.num_subjects=4",
        "data.synthetic.min_frames=4", "data.synthetic.max_frames=5",
        "data.synthetic.image_size=16"]


def test_evaluation_split_keeps_the_scored_videos_and_names_an_empty_split(tmp_path):
    (tmp_path / "splits.json").write_text(json.dumps(
        {"train": ["a", "b"], "validation": ["c", "d"], "test": []}))
    pipeline = GenuineFakePipeline(load_config(None, [f"run_dir={tmp_path}",
                                                      "eval.split=validation"]))
    assert pipeline.evaluation_split() == ("validation", ["c", "d"])
    assert pipeline.evaluation_split("train", scored={"b", "c"}) == ("train", ["b"])
    with pytest.raises(ConfigError, match=r"splits.json: split 'test' holds no video\. "
                       r"pass --split validation"):
        pipeline.evaluation_split("test")
    with pytest.raises(ConfigError, match="split 'validation' holds no scored video"):
        pipeline.evaluation_split(scored={"a"})


@pytest.mark.parametrize("genuine_posed", [True, False])
def test_prepare_genuine_fake_data_needs_emotion_pairs(tmp_path, monkeypatch, genuine_posed):
    monkeypatch.setenv("KERASFER_CACHE", str(tmp_path / "cache"))
    config = load_config(None, [f"run_dir={tmp_path / 'run'}", *TINY,
                                "data.synthetic.class_names=[Happy, Sad]",
                                f"data.synthetic.genuine_posed={str(genuine_posed).lower()}"])
    pipeline = GenuineFakePipeline(config)
    if not genuine_posed:
        with pytest.raises(ConfigError, match=r"classes \['Happy', 'Sad'\] are not "
                           r"<emotion>_genuine / <emotion>_posed pairs"):
            pipeline.prepare_genuine_fake_data()
        return
    index, splits, pairs, records = pipeline.prepare_genuine_fake_data()
    assert set(pairs) == {"happy", "sad"}
    assert all(index.classes[g].endswith("genuine") and index.classes[p].endswith("posed")
               for g, p in pairs.values())
    ordered = [i for name in ("train", "validation", "test") for i in splits.get(name) or []]
    assert [r["id"] for r in records] == ordered and len(records) == 8
