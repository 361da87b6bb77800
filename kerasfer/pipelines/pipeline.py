"""`Pipeline`: base class of a system that `python -m kerasfer.fit` runs end to end.

A pipeline turns an `ExperimentConfig` into a trained run directory (`fit`) and that run
directory into its paper's metric (`evaluate`). The default, `clip_classifier`, is the
thesis' clip classifier trained by `kerasfer.training.Experiment` and evaluated on whole
videos by `kerasfer.evaluate`; the other pipelines chain a network stage with the classical
stages of their papers (SVM, gradient boosting, fusion) in the same run directory.

A pipeline's own settings live in the config's free-form `pipeline_options` section and are
checked against its `options_class` dataclass (unknown key or wrong type: `ConfigError`
listing the valid keys).

Example:

>>> @register_pipeline("my_system")
... class MySystem(Pipeline):
...     options_class = MyOptions
...     def fit(self): ...
...     def evaluate(self, split=None, out_dir=None, data_dir=None): ...
"""

from __future__ import annotations

import dataclasses
import json
import os

from kerasfer.config import section_from_dict


@dataclasses.dataclass
class NoOptions:
    """A pipeline without settings of its own."""


class Pipeline:
    """Base of the registered systems (see module docstring).

    Args:
        config: `kerasfer.config.ExperimentConfig`. Its `pipeline_options` are parsed into
            `self.options` (an `options_class` instance).

    Class attributes:
        name: str. Registry name (set by `register_pipeline`).
        options_class: dataclass of the `pipeline_options` section. Defaults to no options.
        whole_video_evaluation: bool. True when `kerasfer.evaluate`'s whole-video scorer
            and `kerasfer.export` apply (the clip classifier); False when `evaluate` computes
            the pipeline's own metric. Defaults to False.
    """

    name = None
    options_class = NoOptions
    whole_video_evaluation = False

    def __init__(self, config):
        self.config = config
        self.run_dir = config.run_dir
        self.options = section_from_dict(self.options_class, dict(config.pipeline_options),
                                         source=f"pipeline_options of {self.name}",
                                         prefix="pipeline_options.")

    def fit(self):
        """Runs every training stage; returns a summary dict with a one-line "message"."""
        raise NotImplementedError

    def evaluate(self, split=None, out_dir=None, data_dir=None):
        """Computes the pipeline's metric on `split`; returns a report dict with "summary"."""
        raise NotImplementedError

    def prepare_data(self):
        """Resolves the dataset (synthetic when `data.dir` is empty), saves `RUN/config.yaml`
        and the subject-independent split `RUN/splits.json` (reused on reruns).

        Returns:
            `(index, splits)`: `kerasfer.data.DatasetIndex` and the split dict of id lists.
        """
        from kerasfer.config import save_config
        from kerasfer.data import DatasetIndex
        from kerasfer.data.synthetic.synthetic_cache import prepare_data_dir
        from kerasfer.training.run_splits import load_or_make_splits

        os.makedirs(self.run_dir, exist_ok=True)
        data_dir = prepare_data_dir(self.config)
        self.config.data.dir = os.path.abspath(data_dir)
        save_config(self.config, os.path.join(self.run_dir, "config.yaml"))
        index = DatasetIndex.load(data_dir)
        return index, load_or_make_splits(self.run_dir, index, self.config)

    def load_data(self, data_dir=None):
        """`(index, splits)` of a finished run (`data_dir` overrides the saved `data.dir`)."""
        from kerasfer.data import DatasetIndex
        from kerasfer.data.synthetic.synthetic_cache import prepare_data_dir

        index = DatasetIndex.load(data_dir or self.config.data.dir
                                  or prepare_data_dir(self.config))
        return index, self.read_json("splits.json")

    def write_report(self, report, markdown, out_dir=None):
        """Writes `report.json` and `report.md` into `out_dir` (default `RUN/evaluation`)."""
        from kerasfer.schema import write_json_atomic

        out_dir = out_dir or os.path.join(self.run_dir, "evaluation")
        os.makedirs(out_dir, exist_ok=True)
        write_json_atomic(os.path.join(out_dir, "report.json"), report)
        with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as handle:
            handle.write(markdown)
        report["out_dir"] = out_dir
        return report

    def write_json(self, name, payload):
        """Writes `RUN/name` atomically; returns its path."""
        from kerasfer.schema import write_json_atomic

        path = os.path.join(self.run_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json_atomic(path, payload)
        return path

    def read_json(self, name):
        """Reads `RUN/name`."""
        with open(os.path.join(self.run_dir, name), encoding="utf-8") as handle:
            return json.load(handle)
