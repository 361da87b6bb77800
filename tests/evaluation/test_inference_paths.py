"""Evaluation and export score the same stored video identically (dense, strided, clip).

Both paths run the one `VideoInferenceModel`; they differ only in where the uint8 → float
preprocessing runs (tf.data vs the serving graph) and in graph optimisation, so the scores
agree to float32 round-off: |Δ| ≤ 1e-5 on probabilities and frame logits (measured:
identical for the dense and strided models, ≤ 1e-8 on the clip-level model's frame logits).
"""

import json
import os

import numpy as np
import pytest

from kerasfer.data.synthetic import write_synthetic_dataset
from kerasfer.export import export_saved_model
from kerasfer.models import get_model
from kerasfer.models import model_spec
from inference_paths import INFERENCE_PATHS
from inference_paths import InferenceCase

CLASSES = ("happy", "sad")
TOLERANCE = 1e-5  # float32 round-off (see the module docstring)

# One registered model of each temporal output; tiny widths.
MODELS = {"dense": "r3d_18_dense", "strided": "r3d_18", "clip": "c3d"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    # Real JPEG TFRecords; videos of 5 to 21 frames, so some are shorter than F.
    return write_synthetic_dataset(str(tmp_path_factory.mktemp("data")), num_videos=2,
                                   num_subjects=1, class_names=CLASSES, image_size=32,
                                   min_frames=5, max_frames=21, seed=3)


def video_ids(data_dir):
    with open(os.path.join(data_dir, "manifest.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle]


@pytest.mark.parametrize("temporal_output", sorted(MODELS))
def test_evaluation_and_export_give_the_same_scores(temporal_output, data_dir, tmp_path):
    name = MODELS[temporal_output]
    spec = model_spec(name)
    model = get_model(name, num_classes=len(CLASSES), **spec.tiny_kwargs)
    clip_length, image_size = spec.tiny_input_shape[0], spec.tiny_input_shape[1]
    settings = {"normalization": "imagenet", "image_size": image_size, "grayscale": False,
                "clip_length": clip_length, "pooling_temperature": 2.0}
    export_dir = export_saved_model(model, str(tmp_path / name), class_names=CLASSES,
                                    **settings)
    with open(os.path.join(export_dir, "assets", "kerasfer_export.json")) as handle:
        assert json.load(handle)["temporal_output"] == temporal_output
    for video_id in video_ids(data_dir):
        case = InferenceCase(model, export_dir, data_dir, video_id, settings)
        scores = {path: score(case) for path, score in INFERENCE_PATHS.items()}
        reference = scores.pop("evaluation")
        frames = reference["frame_scores"].shape[0]
        assert reference["probabilities"].shape == (len(CLASSES),)
        assert reference["frame_scores"].shape == (frames, len(CLASSES))
        for path, other in scores.items():
            for key in ("probabilities", "frame_scores"):
                np.testing.assert_allclose(other[key], reference[key], rtol=0, atol=TOLERANCE,
                                           err_msg=f"{path} vs evaluation: {key}, {name}")
