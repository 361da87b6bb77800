"""Grey models: the SavedModel fed RGB = evaluation on the TFRecords' one-channel JPEG decode.

Evaluation (and training) decode a grey model's JPEG frames with `decode_jpeg(channels=1)`
(the stored Y plane); the export receives decoded RGB and converts it in its graph
(`kerasfer.export.serving_module.rgb_to_jpeg_luma`). Both are compared on the same video,
the export loaded in a fresh process that does not import kerasfer. The tolerances come
from measurement (see `rgb_to_jpeg_luma`): RGB → Y is exact except where the decoder clipped
a colour, so generated frames stay inside the YCbCr gamut, as faces do.
"""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from export_helpers import F
from export_helpers import GAMMA
from export_helpers import SIZE
from export_helpers import export
from export_helpers import fully_conv_model
from export_helpers import start

from kerasfer import schema
from kerasfer.data import DatasetIndex
from kerasfer.data import evaluation_dataset
from kerasfer.evaluation import VideoScorer
from kerasfer.export.serving_module import rgb_to_jpeg_luma

FRESH_PROCESS_SCRIPT = """
import glob, json, sys
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
jpeg = [tf.io.read_file(p) for p in sorted(glob.glob(sys.argv[2] + "/*.jpg"))]
rgb = tf.stack([tf.io.decode_jpeg(j, channels=3) for j in jpeg])
grey = tf.image.grayscale_to_rgb(tf.stack([tf.io.decode_jpeg(j, channels=1) for j in jpeg]))
out = {}
for name, frames in (("rgb", rgb), ("grey", grey)):
    result = serve(videos=frames[None])
    out[name] = {k: result[k].numpy()[0].tolist() for k in ("probabilities", "frame_scores")}
assert "kerasfer" not in sys.modules, "the SavedModel must load without kerasfer"
print(json.dumps(out))
"""


def face_like_frames(count, side=24, seed=0):
    """Skin-toned frames with a moving darker blob and mild noise: colours a JPEG decoder
    does not clip, like real face crops."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    frames = []
    for t in range(count):
        blob = np.exp(-((x - 0.3 - 0.02 * t) ** 2 + (y - 0.5) ** 2) / 0.02)
        shade = 1.0 - 0.35 * blob - 0.15 * y
        base = np.array([190.0, 140.0, 115.0]) * shade[..., None]
        frames.append(np.clip(base + rng.normal(0, 6, base.shape), 0, 255))
    return np.asarray(frames, np.uint8)


def write_video_dataset(directory, jpeg, crop_size):
    """One video of `jpeg` frames in the `kerasfer.schema` layout; also one file a frame."""
    shard = "grey-00000-of-00001.tfrecord"
    frames = len(jpeg)
    with tf.io.TFRecordWriter(os.path.join(directory, shard)) as writer:
        writer.write(schema.encode_video_example(
            video_id="v0", label=0, label_name="a", jpeg_frames=jpeg,
            landmarks=np.zeros((frames, 68, 2)), boxes=np.zeros((frames, 4)),
            timestamps=np.arange(frames) / 25.0, detected=np.ones(frames, bool),
            subject="s0", fps=25.0))
    record = schema.manifest_record(video_id="v0", label=0, label_name="a", subject="s0",
                                    split="", frames_kept=frames, frames_total=frames,
                                    shard=shard, fps=25.0, crop_size=crop_size)
    with open(os.path.join(directory, schema.MANIFEST_FILENAME), "w") as handle:
        handle.write(json.dumps(record) + "\n")
    schema.write_json_atomic(os.path.join(directory, schema.CLASSES_FILENAME), ["a"])
    frames_dir = os.path.join(directory, "frames")
    os.makedirs(frames_dir)
    for k, data in enumerate(jpeg):
        with open(os.path.join(frames_dir, f"{k:04d}.jpg"), "wb") as handle:
            handle.write(data)
    return frames_dir


def evaluated(model, data_dir, image_size, normalization, clip_length, gamma):
    """`VideoScorer` on the TFRecord video, decoded to one channel by `evaluation_dataset`."""
    index = DatasetIndex.load(data_dir)
    video = next(iter(evaluation_dataset(index, index.select(), normalization=normalization,
                                         image_size=image_size, grayscale=True)))["video"]
    scorer = VideoScorer(model, clip_length=clip_length, pooling_temperature=gamma)
    return scorer.score(video[0].numpy())


def served(export_dir, frames_dir):
    process = start([sys.executable, "-c", FRESH_PROCESS_SCRIPT, export_dir, frames_dir],
                    cwd=frames_dir)
    stdout, stderr = process.communicate(timeout=600)  # TF start-up on a loaded machine
    assert process.returncode == 0, stderr[-3000:]
    return {name: {k: np.asarray(v) for k, v in outputs.items()}
            for name, outputs in json.loads(stdout.strip().splitlines()[-1]).items()}


def differences(expected, outputs):
    """Max |Δ| of the video and of the per-frame probabilities, and changed frame argmaxes."""
    frames = tf.nn.softmax(outputs["frame_scores"]).numpy()
    expected_frames = tf.nn.softmax(expected.frame_scores).numpy()
    return (np.abs(outputs["probabilities"] - expected.probabilities).max(),
            np.abs(frames - expected_frames).max(),
            int(np.sum(frames.argmax(-1) != expected_frames.argmax(-1))))


def check(expected, outputs, video_tolerance, frame_tolerance):
    rgb = differences(expected, outputs["rgb"])
    print(f"RGB fed: video p max|Δ| {rgb[0]:.2e}, frame p max|Δ| {rgb[1]:.2e}, "
          f"frame argmax changed {rgb[2]}")
    assert rgb[0] <= video_tolerance and rgb[1] <= frame_tolerance and rgb[2] == 0, rgb
    assert outputs["rgb"]["probabilities"].argmax() == expected.probabilities.argmax()
    # The decoder's own Y sent as three equal channels: the same input as evaluation.
    np.testing.assert_allclose(outputs["grey"]["probabilities"], expected.probabilities,
                               rtol=1e-4, atol=1e-5)


def test_luma_of_decoded_rgb_is_the_decoders_y():
    jpeg = tf.constant([tf.io.encode_jpeg(f, quality=90).numpy()
                        for f in face_like_frames(8, side=48)])
    y = schema.decode_frames(jpeg, 1).numpy()
    luma = rgb_to_jpeg_luma(schema.decode_frames(jpeg, 3)).numpy()
    assert luma.dtype == np.uint8 and luma.shape == y.shape
    assert np.mean(luma != y) < 1e-3 and np.abs(luma.astype(int) - y).max() <= 1


def test_grey_export_fed_rgb_equals_evaluation_on_generated_video(tmp_path):
    model = fully_conv_model(channels=1, seed=7)
    export_dir = export(model, tmp_path / "export", normalization="minus_one_one",
                        grayscale=True)
    jpeg = [tf.io.encode_jpeg(f, quality=90).numpy() for f in face_like_frames(10)]
    frames_dir = write_video_dataset(str(tmp_path), jpeg, crop_size=24)
    expected = evaluated(model, str(tmp_path), SIZE, "minus_one_one", F, GAMMA)
    # Measured: 0 (every pixel's Y recovered); the float luma gave 3.0e-5 and 1.7e-4.
    check(expected, served(export_dir, frames_dir), video_tolerance=1e-5,
          frame_tolerance=1e-5)


@pytest.mark.slow
def test_fer_mini_xception_export_fed_rgb_equals_evaluation_on_carphone(tmp_path):
    from tfrecords_builder import VideoItem, process_video
    from tfrecords_builder.face_options import FaceOptions

    from kerasfer.assets import FER2013_CLASSES, sample_video_path
    from kerasfer.export import export_saved_model
    from kerasfer.models import fer_mini_xception_3d

    built = process_video(VideoItem(path=sample_video_path("carphone"), video_id="carphone",
                                    label_name=""), FaceOptions())
    frames_dir = write_video_dataset(str(tmp_path), list(built.jpeg_frames),
                                     crop_size=FaceOptions().crop_size)
    model = fer_mini_xception_3d(input_shape=(None, 64, 64, 1), pretrained=True,
                                 window_size=16)
    export_dir = export_saved_model(model, str(tmp_path / "export"),
                                    normalization="minus_one_one", image_size=64,
                                    grayscale=True, clip_length=16, pooling_temperature=1.0,
                                    class_names=list(FER2013_CLASSES))
    expected = evaluated(model, str(tmp_path), 64, "minus_one_one", 16, 1.0)
    # Measured: 3.7e-5 (video) and 1.4e-4 (frames); the float luma gave 3.7e-4 and 4.1e-3.
    check(expected, served(export_dir, frames_dir), video_tolerance=1e-4,
          frame_tolerance=5e-4)
    # Predict decodes a grey export's faces to one channel, as evaluation does: the same
    # numbers, not within the RGB round trip's 3.7e-5.
    from kerasfer.prediction import Predictor

    prediction = Predictor(export_dir).predict(sample_video_path("carphone"))
    assert prediction.frames_with_face == built.frames_kept
    np.testing.assert_allclose(prediction.probabilities, expected.probabilities, atol=1e-6)
