"""RAVDESS and CREMA-D sources on mimic trees with the real file naming (no download)."""

import os

import av
import numpy as np
import pytest

from kerasfer.errors import LabelError
from tfrecords_builder.sources import SOURCE_KINDS, make_source
from tfrecords_builder.sources.crema_d import CremaD, crema_d_splits, parse_crema_d_name
from tfrecords_builder.sources.ravdess import Ravdess, parse_ravdess_name


def _video(path, audio=True, container_format=None):
    """A real 6-frame 32x32 video with (or without) a 0.3 s AAC tone."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream("mpeg4" if container_format != "flv" else "flv", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for index in range(6):
            image = np.full((32, 32, 3), 30 * index, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
        if sound is not None:
            tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(4800) / 16000)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
            frame.sample_rate, frame.pts = 16000, 0
            container.mux(list(sound.encode(frame)) + list(sound.encode(None)))
    return str(path)


@pytest.fixture(scope="module")
def ravdess_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("RAVDESS")
    for actor, name in [(1, "01-01-03-02-01-01-01"), (1, "01-01-01-01-02-02-01"),
                        (17, "01-02-05-01-01-01-17"), (22, "01-01-08-02-02-01-22")]:
        _video(root / f"Video_Speech_Actor_{actor:02d}" / f"Actor_{actor:02d}" / f"{name}.mp4")
    _video(root / "Video_Speech_Actor_01" / "Actor_01" / "02-01-03-02-01-01-01.mp4", audio=False)
    (root / "Video_Speech_Actor_01" / "Actor_01" / "03-01-03-02-01-01-01.wav").write_bytes(b"RIFF")
    _video(root / "Video_Speech_Actor_01" / "Actor_01" / "01-01-03-02-01-01-05.mp4")  # wrong actor
    _video(root / "Video_Speech_Actor_01" / "Actor_01" / "01-01-09-02-01-01-01.mp4")  # emotion 09
    return root


def test_ravdess_codes_actor_splits_and_bad_names(ravdess_tree):
    assert "ravdess" in SOURCE_KINDS and "crema_d" in SOURCE_KINDS
    code = parse_ravdess_name("01-02-05-01-01-01-17")
    assert code == ("audio-video", "song", "angry", "normal", 1, 1, 17)
    assert parse_ravdess_name("01-01-03-03-01-01-01") is None  # intensity 03 does not exist
    errors = []
    items = make_source(f"ravdess:{ravdess_tree}").items(on_error=lambda i, e: errors.append((i, e)))
    rows = [(i.video_id, i.label_name, i.subject, i.split) for i in items]
    assert rows == [
        ("Video_Speech_Actor_01/Actor_01/01-01-01-01-02-02-01", "neutral", "Actor_01", "train"),
        ("Video_Speech_Actor_01/Actor_01/01-01-03-02-01-01-01", "happy", "Actor_01", "train"),
        ("Video_Speech_Actor_17/Actor_17/01-02-05-01-01-01-17", "angry", "Actor_17", "validation"),
        ("Video_Speech_Actor_22/Actor_22/01-01-08-02-02-01-22", "surprised", "Actor_22", "test"),
    ]
    # The intensity is read back from the id.
    assert parse_ravdess_name(items[1].video_id.rsplit("/", 1)[1]).intensity == "strong"
    assert sorted(e[0].rsplit("/", 1)[1] for e in errors) == ["01-01-03-02-01-01-05",
                                                              "01-01-09-02-01-01-01"]
    assert all(isinstance(e, LabelError) and "RAVDESS codes" in str(e) for _, e in errors)
    with_silent = Ravdess(str(ravdess_tree), modalities=("audio-video", "video-only"))
    assert len(with_silent.items(on_error=lambda i, e: None)) == 5
    assert Ravdess.classes[0] == "neutral" and len(Ravdess.classes) == 8
    with pytest.raises(LabelError, match="folder not found"):
        Ravdess(str(ravdess_tree / "missing"))


@pytest.fixture(scope="module")
def crema_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("CREMA-D")
    rows = ["ActorID,Age,Sex,Race,Ethnicity"] + [
        f"{1001 + i},{20 + i},{'Male' if i % 2 == 0 else 'Female'},Caucasian,Not Hispanic"
        for i in range(44)]
    (root / "VideoDemographics.csv").write_text("\n".join(rows) + "\n")
    for name in ["1001_DFA_ANG_XX", "1002_IEO_HAP_HI", "1030_TIE_SAD_LO", "1044_WSI_NEU_XX"]:
        _video(root / "VideoFlash" / f"{name}.flv", container_format="flv")
    _video(root / "VideoFlash" / "1001_DFA_XYZ_XX.flv", container_format="flv")  # bad emotion
    _video(root / "VideoFlash" / "1099_DFA_ANG_XX.flv", container_format="flv")  # no demographics
    return root


def test_crema_d_codes_demographics_and_splits(crema_tree):
    assert parse_crema_d_name("1002_IEO_HAP_HI") == ("1002", "IEO", "happy", "high")
    assert parse_crema_d_name("1002_IEO_HAP_ZZ") is None
    errors = []
    source = make_source(f"crema_d:{crema_tree}")
    items = source.items(on_error=lambda i, e: errors.append((i, e)))
    assert [(i.video_id, i.label_name, i.subject) for i in items] == [
        ("1001_DFA_ANG_XX", "anger", "1001"), ("1002_IEO_HAP_HI", "happy", "1002"),
        ("1030_TIE_SAD_LO", "sad", "1030"), ("1044_WSI_NEU_XX", "neutral", "1044")]
    assert [e[0] for e in errors] == ["1001_DFA_XYZ_XX", "1099_DFA_ANG_XX"]
    assert "VideoDemographics.csv" in str(errors[1][1])
    splits = crema_d_splits(source.demographics)
    for sex in ("Male", "Female"):
        actors = [a for a, row in source.demographics.items() if row["Sex"] == sex]
        counts = {side: sum(splits[a] == side for a in actors) for side in ("train", "validation", "test")}
        assert counts == {"train": 14, "validation": 3, "test": 3} or sum(counts.values()) == len(actors)
        assert counts["validation"] >= 1 and counts["test"] >= 1
    assert [i.split for i in items] == [splits[i.subject] for i in items]
    (crema_tree / "empty").mkdir()
    with pytest.raises(LabelError, match="demographics"):
        CremaD(str(crema_tree / "empty"))


def test_builder_on_ravdess_tree_stores_audio_and_flags_silent_copy(ravdess_tree, tmp_path):
    pytest.importorskip("opensmile")
    import glob

    import tensorflow as tf

    from kerasfer import schema
    from tfrecords_builder import BuildJob
    from tfrecords_builder.audio_video_processor import AudioVideoProcessor
    from tfrecords_builder.face_options import FaceOptions

    source = Ravdess(str(ravdess_tree), modalities=("audio-video", "video-only"))
    summary = BuildJob(source, str(tmp_path / "out"), FaceOptions(detector="none", crop_size=32),
                       progress=False, process_fn=AudioVideoProcessor("egemaps")).run()
    assert summary.written == 5 and summary.failed == 2  # the two badly named files
    present = {}
    for shard in glob.glob(str(tmp_path / "out" / "*.tfrecord")):
        for data in tf.data.TFRecordDataset(shard):
            video = schema.parse_video_example(data)
            present[video["id"].numpy().decode()] = bool(video["audio_present"])
            assert np.isfinite(video["audio_egemaps"].numpy()).all()
    silent = "Video_Speech_Actor_01/Actor_01/02-01-03-02-01-01-01"
    assert present.pop(silent) is False and all(present.values())
