"""`GenuineFakePipeline`: the shared steps of the real-vs-fake expression systems.

The real-vs-fake runs (Ozkan & Akar 2017, `relaxed_aggregation_genuine_fake`; Huynh & Kim
2017, `lstm_pb_genuine_fake`) read a dataset whose classes are `<emotion>_genuine` /
`<emotion>_posed` pairs, train on the subject-independent split and report, per emotion, the
average precision of the genuine decision among the held-out videos and its mean (MAP).
This base class holds what they share: the data with its class pairs, the split evaluated,
and the metrics (`kerasfer.evaluation.genuine_fake.genuine_fake_metrics`).

Example:

>>> class MySystem(GenuineFakePipeline):
...     def fit(self):
...         index, splits, pairs, records = self.prepare_genuine_fake_data()
...     def evaluate(self, split=None, out_dir=None, data_dir=None):
...         split, ids = self.evaluation_split(split)
"""

from __future__ import annotations

import os

from kerasfer.errors import ConfigError
from kerasfer.pipelines.pipeline import Pipeline

SPLIT_NAMES = ("train", "validation", "test")


class GenuineFakePipeline(Pipeline):
    """Base of the real-vs-fake pipelines (see module docstring); `fit` and `evaluate` are
    the subclass'."""

    def prepare_genuine_fake_data(self):
        """Resolves the data and split (`prepare_data`) and checks the class pairs.

        Returns:
            `(index, splits, pairs, records)`: the `DatasetIndex`, the split dict of id
            lists, `{emotion: (genuine class, posed class)}` and the records of every
            video of the train, validation and test splits, in that order.

        Raises:
            ConfigError: the classes are not `<emotion>_genuine` / `<emotion>_posed` pairs.
        """
        from kerasfer.evaluation.genuine_fake import parse_genuine_fake_classes

        index, splits = self.prepare_data()
        pairs = parse_genuine_fake_classes(index.classes)
        if pairs is None:
            raise ConfigError(index.data_dir, f"classes {list(index.classes)} are not "
                              "<emotion>_genuine / <emotion>_posed pairs",
                              "build the dataset with genuine/fake labels, or set "
                              "data.synthetic.genuine_posed=true")
        ids = [i for name in SPLIT_NAMES for i in splits.get(name) or []]
        return index, splits, pairs, index.select(ids=ids)

    def evaluation_split(self, split=None, scored=None):
        """The split to evaluate and its video ids.

        Args:
            split: str or None. Defaults to the config's `eval.split`.
            scored: container of str or None. Keep only these ids (the videos the run
                scored). Defaults to None (every id of the split).

        Returns:
            `(split, ids)`.

        Raises:
            ConfigError: the split holds no (scored) video.
        """
        split = split or self.config.eval.split
        ids = list(self.read_json("splits.json").get(split) or [])
        if scored is not None:
            ids = [i for i in ids if i in scored]
        if not ids:
            raise ConfigError(os.path.join(self.run_dir, "splits.json"),
                              f"split {split!r} holds no "
                              f"{'video' if scored is None else 'scored video'}",
                              "pass --split validation")
        return split, ids

    @staticmethod
    def known_subjects(subjects):
        """The subjects the run saved, or None when one video has none (or none were saved).

        With subjects, the metrics add the paired decision of the ChaLearn protocol
        (`kerasfer.evaluation.genuine_fake.paired_decisions`).
        """
        if subjects is None or any(not str(s) for s in subjects):
            return None
        return [str(s) for s in subjects]

    @staticmethod
    def paired_summary(metrics):
        """`", paired accuracy X %"` when the metrics hold it, else `""`."""
        if "paired_accuracy" not in metrics:
            return ""
        return f", paired accuracy {100 * metrics['paired_accuracy']:.2f} %"
