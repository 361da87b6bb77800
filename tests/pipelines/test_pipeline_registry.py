"""The pipeline registry and the dispatch of `kerasfer.fit` / `kerasfer.evaluate` on it."""

import dataclasses
import os

import pytest

from kerasfer.config import load_config
from kerasfer.errors import ConfigError
from kerasfer.pipelines import Pipeline, get_pipeline, pipeline_names, register_pipeline

CPU_TINY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "configs", "cpu_tiny.yaml")   # fit without --config runs another preset


@dataclasses.dataclass
class _CountOptions:
    count: int = 2


@register_pipeline("test_counting")
class _CountingPipeline(Pipeline):
    """Writes `count` into the run directory; its metric reads it back."""

    options_class = _CountOptions

    def fit(self):
        self.write_json("fitted.json", {"count": self.options.count})
        return {"message": f"fitted {self.options.count}"}

    def evaluate(self, split=None, out_dir=None, data_dir=None):
        count = self.read_json("fitted.json")["count"]
        return {"metrics": {"count": count}, "summary": f"{split}: count {count}"}


def test_default_is_the_clip_classifier_experiment():
    config = load_config()
    assert config.pipeline == "clip_classifier" and "clip_classifier" in pipeline_names()
    pipeline = get_pipeline(config.pipeline)(config)
    assert pipeline.whole_video_evaluation


def test_unknown_pipeline_and_option_say_what_exists():
    with pytest.raises(ConfigError, match="clip_classifier"):
        get_pipeline("nope")
    config = load_config(overrides=["pipeline=test_counting", "pipeline_options.cuont=3"])
    with pytest.raises(ConfigError, match="pipeline_options.count"):
        get_pipeline(config.pipeline)(config)
    with pytest.raises(ValueError, match="already registered"):
        register_pipeline("test_counting")(type("Other", (Pipeline,), {}))


def test_fit_and_evaluate_dispatch_on_the_pipeline(tmp_path, capsys):
    from kerasfer.evaluate import main as evaluate_main
    from kerasfer.fit import main as fit_main

    run = str(tmp_path / "run")
    assert fit_main(["--config", CPU_TINY, "pipeline=test_counting", "pipeline_options.count=5",
                     f"run_dir={run}"]) == 0
    assert "fitted 5" in capsys.readouterr().out
    assert os.path.exists(os.path.join(run, "fitted.json"))
    os.makedirs(run, exist_ok=True)
    from kerasfer.config import save_config

    save_config(load_config(overrides=["pipeline=test_counting", f"run_dir={run}"]),
                os.path.join(run, "config.yaml"))
    assert evaluate_main(["--run", run, "--split", "test"]) == 0
    assert "test: count 5" in capsys.readouterr().out
