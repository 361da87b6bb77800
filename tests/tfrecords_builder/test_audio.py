"""Builder audio (Fan et al. 2017, Section 4.2.1): PyAV 16 kHz mono → 88 eGeMAPS functionals."""

import glob
import os

import numpy as np
import pytest

from kerasfer import schema

opensmile = pytest.importorskip("opensmile")

from tfrecords_builder.audio import decode_audio, egemaps_functionals, extract_audio_features  # noqa: E402
from tfrecords_builder.cli import main  # noqa: E402


def _parsed(out):
    import tensorflow as tf

    videos = {}
    for path in sorted(glob.glob(os.path.join(out, "*.tfrecord"))):
        for data in tf.data.TFRecordDataset(path):
            video = schema.parse_video_example(data)
            videos[video["id"].numpy().decode()] = video
    return videos


@pytest.fixture(scope="module")
def synthetic_mp4(tmp_path_factory):
    from kerasfer.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("syn")
    return write_synthetic_dataset(str(out), num_videos=3, num_subjects=2, image_size=48,
                                   min_frames=25, max_frames=30, write_mp4=True,
                                   class_names=("Happy", "Sad", "Surprise"))


def test_decode_audio_is_16k_mono_and_none_without_track(synthetic_mp4, carphone_path):
    path = os.path.join(synthetic_mp4, "videos", "syn00000.mp4")
    signal = decode_audio(path)
    assert signal.dtype == np.float32 and signal.ndim == 1
    import av

    with av.open(path) as container:
        seconds = float(container.streams.video[0].frames) / 25.0
    # AAC pads to whole 1024-sample frames: the length is the video's within 2 frames.
    assert abs(signal.size - seconds * 16000) <= 2048
    assert 0.01 < np.abs(signal).max() <= 1.0
    assert decode_audio(carphone_path) is None  # the sample video has no audio stream


def test_egemaps_88_finite_and_class_dependent(synthetic_mp4):
    first = extract_audio_features(os.path.join(synthetic_mp4, "videos", "syn00000.mp4"))
    third = extract_audio_features(os.path.join(synthetic_mp4, "videos", "syn00002.mp4"))
    assert first.shape == (88,) and np.isfinite(first).all()
    names = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals).feature_names
    f0 = names.index("F0semitoneFrom27.5Hz_sma3nz_amean")
    assert first[f0] > 0  # voiced: openSMILE found a pitch
    assert not np.allclose(first, third)  # Happy vs Surprise prosody
    silence = egemaps_functionals(np.zeros(100, np.float32))  # padded, NaN-free
    assert silence.shape == (88,) and np.isfinite(silence).all()
    with pytest.raises(ValueError, match="Received: features='mfcc'"):
        extract_audio_features("x.mp4", "mfcc")


def test_builder_stores_egemaps_and_flags_video_without_audio(synthetic_mp4, carphone_path,
                                                            tmp_path, capfd):
    csv_path = tmp_path / "list.csv"
    rows = [(os.path.join(synthetic_mp4, "videos", f"syn0000{i}.mp4"), label)
            for i, label in enumerate(["Happy", "Sad"])] + [(carphone_path, "Happy")]
    csv_path.write_text("path,label\n" + "".join(f"{p},{l}\n" for p, l in rows))
    out = str(tmp_path / "out")
    status = main(["--source", f"csv:{csv_path}", "--out", out, "--audio-features", "egemaps",
                   "--detect-every", "5", "--frame-stride", "4", "--no-progress"])
    assert status == 0
    videos = _parsed(out)
    assert len(videos) == 3  # the video without audio is written, not dropped
    carphone = [v for v in videos.values() if v["source_path"].numpy().decode() == carphone_path]
    assert len(carphone) == 1 and not bool(carphone[0]["audio_present"])
    assert np.all(carphone[0]["audio_egemaps"].numpy() == 0)
    with_audio = [v for v in videos.values() if v is not carphone[0]]
    for video in with_audio:
        assert bool(video["audio_present"])
        values = video["audio_egemaps"].numpy()
        assert values.shape == (88,) and np.isfinite(values).all() and np.any(values != 0)
        expected = extract_audio_features(video["source_path"].numpy().decode())
        np.testing.assert_allclose(values, expected, rtol=1e-6)  # stored = extracted
    err = capfd.readouterr().err
    no_audio_lines = [line for line in err.splitlines() if "no audio" in line]
    assert len(no_audio_lines) == 1 and carphone_path in no_audio_lines[0], err


def test_without_flag_no_audio_keys_and_old_records_parse(carphone_path, tmp_path):
    data = schema.encode_video_example(
        video_id="v", label=0, label_name="a", jpeg_frames=[_jpeg()],
        landmarks=np.zeros((1, 68, 2)), boxes=np.zeros((1, 4)), timestamps=[0.0],
        detected=[True])
    parsed = schema.parse_video_example(data)
    assert not bool(parsed["audio_present"]) and parsed["audio_egemaps"].shape == (88,)
    with pytest.raises(ValueError):
        schema.encode_video_example(
            video_id="v", label=0, label_name="a", jpeg_frames=[_jpeg()],
            landmarks=np.zeros((1, 68, 2)), boxes=np.zeros((1, 4)), timestamps=[0.0],
            detected=[True], audio_egemaps=np.zeros(5))


def _jpeg():
    import cv2

    return cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
