"""The ways kerasfer scores one stored video, which must all give the same scores.

Every path is a function `path(case) -> {"probabilities": (classes,), "frame_scores":
(frames, classes)}` (float64 NumPy) on an `InferenceCase`: a trained clip model, its
SavedModel export and one video of a TFRecord dataset. `INFERENCE_PATHS` maps a name to
its function; `kerasfer.predict` adds its own path by adding an entry (e.g.
`INFERENCE_PATHS["predict"] = predict_scores`), and `test_inference_paths.py` then checks
it against the others.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from kerasfer import schema
from kerasfer.data import DatasetIndex
from kerasfer.data import evaluation_dataset
from kerasfer.evaluation import VideoScorer


@dataclasses.dataclass
class InferenceCase:
    """One model, its export and one stored video.

    Args:
        model: `keras.Model`. The trained clip model.
        export_dir: str. Its `kerasfer.export` SavedModel.
        data_dir: str. A dataset in the `kerasfer.schema` layout.
        video_id: str. The video scored.
        settings: dict. `normalization`, `image_size`, `grayscale`, `clip_length`,
            `pooling_temperature` (as in `assets/kerasfer_export.json`).
    """

    model: object
    export_dir: str
    data_dir: str
    video_id: str
    settings: dict


def stored_uint8_frames(case):
    """The video's aligned faces as uint8 `(frames, height, width, 3)`, JPEG-decoded."""
    index = DatasetIndex.load(case.data_dir)
    record = index.select(ids=[case.video_id])[0]
    for serialized in tf.data.TFRecordDataset(index.shard_path(record)):
        example = schema.parse_video_example(serialized)
        if example["id"].numpy().decode() == case.video_id:
            return schema.decode_frames(example["jpeg"]).numpy()
    raise KeyError(case.video_id)


def evaluation_scores(case):
    """`python -m kerasfer.evaluate`'s path: `evaluation_dataset` → `VideoScorer`."""
    index = DatasetIndex.load(case.data_dir)
    dataset = evaluation_dataset(index, index.select(ids=[case.video_id]),
                                 normalization=case.settings["normalization"],
                                 image_size=case.settings["image_size"],
                                 grayscale=case.settings["grayscale"])
    scorer = VideoScorer(case.model, clip_length=case.settings["clip_length"],
                         pooling_temperature=case.settings["pooling_temperature"])
    element = next(iter(dataset))
    scores = scorer.score(element["video"].numpy()[0])
    return {"probabilities": scores.probabilities, "frame_scores": scores.frame_scores}


def export_scores(case):
    """The SavedModel's `serving_default` on the stored uint8 frames."""
    serve = tf.saved_model.load(case.export_dir).signatures["serving_default"]
    outputs = serve(videos=tf.constant(stored_uint8_frames(case)[None]))
    return {"probabilities": outputs["probabilities"].numpy()[0].astype(np.float64),
            "frame_scores": outputs["frame_scores"].numpy()[0].astype(np.float64)}


INFERENCE_PATHS = {"evaluation": evaluation_scores, "export": export_scores}
