import csv
import hashlib
import os

import cv2
import numpy as np
import pytest

from kerasfer import schema
from kerasfer.data.synthetic import (AFEW_CLASSES, FaceIdentity, FaceRenderer, VideoTimeline,
                                     dataset_classes, expression_actions, render_video,
                                     write_synthetic_dataset)
from kerasfer.data.synthetic.__main__ import main as cli_main
from kerasfer.errors import SchemaError


def _identity(seed=0):
    return FaceIdentity.sample(np.random.default_rng(seed))


def test_render_video_shapes_dtypes_ranges():
    video = render_video("Surprise", num_frames=30, image_size=40, seed=1)
    assert video.frames.shape == (30, 40, 40, 3) and video.frames.dtype == np.uint8
    assert video.landmarks.shape == (30, 68, 2) and video.landmarks.dtype == np.float32
    assert video.intensity.shape == (30,) and video.intensity.dtype == np.float32
    assert video.boxes.shape == (30, 4) and video.face_present.dtype == bool
    assert 0.0 <= video.intensity.min() and video.intensity.max() <= 1.0
    assert video.frames.std() > 10  # not a blank image
    # Landmarks stay in (or very near) the crop.
    assert video.landmarks.min() > -4 and video.landmarks.max() < 44


def test_timeline_apex_window_and_mostly_neutral():
    for seed, length in [(0, 24), (1, 50), (2, 128)]:
        timeline = VideoTimeline.sample(np.random.default_rng(seed), length, apex_fraction=0.2)
        assert timeline.apex_end - timeline.apex_start == round(0.2 * length)
        assert 0 <= timeline.onset_start <= timeline.apex_start < timeline.apex_end
        assert timeline.apex_end <= timeline.offset_end <= length
        apex = timeline.intensity[timeline.apex_start:timeline.apex_end]
        outside = np.concatenate([timeline.intensity[:timeline.apex_start],
                                  timeline.intensity[timeline.apex_end:]])
        assert apex.min() >= 0.7 and outside.max() < apex.min()
        assert np.mean(timeline.intensity == 0) >= 0.4
    starts = {VideoTimeline.sample(np.random.default_rng(s), 100).apex_start for s in range(20)}
    assert len(starts) > 8  # the apex position is random
    with pytest.raises(ValueError, match="Received: apex_fraction=0"):
        VideoTimeline.sample(np.random.default_rng(0), 30, apex_fraction=0)


def test_distractors():
    counts = {"no_face": 0, "occluded": 0, "other_expression": 0, "lighting": 0, "blink": 0}
    for seed in range(40):
        timeline = VideoTimeline.sample(np.random.default_rng(seed), 80,
                                        distractor_classes=[0, 1, 2])
        counts["no_face"] += not timeline.face_present.all()
        counts["occluded"] += (timeline.occluder >= 0).any()
        counts["lighting"] += np.ptp(timeline.gain) > 0.05
        counts["blink"] += timeline.blink.max() > 0.5
        other = np.flatnonzero(timeline.distractor_class >= 0)
        if len(other):
            counts["other_expression"] += 1
            # The other expression stays clear of the main onset-apex-offset event.
            assert not np.any((other >= timeline.onset_start - 2)
                              & (other < timeline.offset_end + 2))
            assert timeline.distractor_intensity[other].max() <= 0.6
        clean = VideoTimeline.sample(np.random.default_rng(seed), 80, distractors=False,
                                     distractor_classes=[0, 1, 2])
        assert clean.face_present.all() and (clean.occluder < 0).all()
        assert (clean.distractor_class < 0).all() and np.ptp(clean.gain) == 0
        assert np.std(clean.pose[:, 0]) > 0  # head jitter is always on
    assert all(count >= 4 for count in counts.values()), counts
    renderer = FaceRenderer(32)
    background = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    image, _ = renderer.render(_identity(), np.zeros((12, 2)), face_present=False,
                               background=background)
    np.testing.assert_array_equal(image, background)


def test_render_is_deterministic_and_seed_dependent():
    a = render_video("Happy", num_frames=24, image_size=32, seed=5)
    b = render_video("Happy", num_frames=24, image_size=32, seed=5)
    c = render_video("Happy", num_frames=24, image_size=32, seed=6)
    assert a.frames.tobytes() == b.frames.tobytes()
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert a.frames.tobytes() != c.frames.tobytes()


def test_landmarks_follow_the_rendered_features():
    renderer = FaceRenderer(96)
    identity = _identity(3)
    background = np.zeros((96, 96, 3), np.uint8)
    closed_image, closed = renderer.render(identity, expression_actions("Surprise", 0.0),
                                           background=background)
    open_image, opened = renderer.render(identity, expression_actions("Surprise", 1.0),
                                         background=background)
    # The inner lips (62 top, 66 bottom) part and the chin (8) drops with the mouth.
    assert opened[66, 1] - opened[62, 1] > closed[66, 1] - closed[62, 1] + 5
    assert opened[8, 1] > closed[8, 1] + 2
    # Between the parted lips the image shows the dark mouth interior.
    x, y = np.round((opened[62] + opened[66]) / 2).astype(int) + [0, 2]
    assert open_image[y, x].sum() < closed_image[y, x].sum() - 60
    # Brows go up with surprise, and every landmark lies on the drawn face.
    assert opened[17:27, 1].mean() < closed[17:27, 1].mean() - 3
    face = cv2.dilate((open_image.max(axis=2) > 0).astype(np.uint8), np.ones((3, 3)))
    points = np.round(opened).astype(int)
    assert face[points[:, 1], points[:, 0]].all()
    # Under head motion the landmarks move with the image.
    shifted = renderer.landmarks(identity, expression_actions("Surprise", 1.0),
                                 pose=(0.1, 0.0, 0.0, 0.0, 1.0))
    dx = 0.1 * renderer.face_scale * 96
    np.testing.assert_allclose(shifted - opened, np.tile([dx, 0.0], (68, 1)), atol=1e-3)


def test_expression_classes_are_distinct():
    renderer = FaceRenderer(64)
    identity = _identity(1)
    shapes = np.stack([renderer.landmarks(identity, expression_actions(name, 1.0))
                       for name in AFEW_CLASSES])
    distances = np.abs(shapes[:, None] - shapes[None]).max(axis=(2, 3))
    assert distances[~np.eye(len(AFEW_CLASSES), dtype=bool)].min() > 1.0
    custom = [expression_actions(name) for name in ("Boredom", "Pride")]
    assert np.abs(custom[0] - custom[1]).max() > 0.3
    np.testing.assert_array_equal(expression_actions("Boredom"), custom[0])


def _apex_displacements(posed, seeds):
    renderer = FaceRenderer(64)
    asymmetry, eye_ratio, onset = [], [], []
    for seed in seeds:
        identity = _identity(seed)
        video = render_video("Happy", num_frames=60, image_size=64, seed=seed, posed=posed,
                             identity=identity, distractors=False, renderer=renderer)
        t = (video.timeline.apex_start + video.timeline.apex_end) // 2
        pose = video.timeline.pose[t]
        neutral = renderer.landmarks(identity, np.zeros((12, 2)), pose=pose)
        moved = np.linalg.norm(video.landmarks[t] - neutral, axis=1)
        left, right = moved[48], moved[54]
        asymmetry.append(min(left, right) / max(left, right))
        opening = lambda lm: (lm[[40, 41, 46, 47], 1] - lm[[38, 37, 44, 43], 1]).mean()  # noqa
        eye_ratio.append(opening(video.landmarks[t]) / opening(neutral))
        onset.append(video.timeline.apex_start - video.timeline.onset_start)
    return np.array(asymmetry), np.array(eye_ratio), np.array(onset)


def test_genuine_and_posed_differ_as_documented():
    seeds = range(6)
    g_sym, g_eye, g_onset = _apex_displacements(False, seeds)
    p_sym, p_eye, p_onset = _apex_displacements(True, seeds)
    assert g_sym.min() > 0.85 and p_sym.max() < 0.8  # posed smiles are lopsided
    assert g_eye.max() < 0.75 and p_eye.min() > 0.85  # Duchenne eye narrowing only if genuine
    assert p_onset.mean() < 0.5 * g_onset.mean()  # posed onsets are abrupt
    assert dataset_classes(AFEW_CLASSES, genuine_posed=True)[:2] == ["Angry_genuine",
                                                                     "Angry_posed"]
    assert len(dataset_classes(AFEW_CLASSES, genuine_posed=True)) == 12


def test_rendered_faces_are_detected_by_dlib():
    dlib = pytest.importorskip("dlib")
    detector = dlib.get_frontal_face_detector()
    renderer = FaceRenderer(112)
    hits = total = 0
    for seed, name in enumerate(AFEW_CLASSES * 2):
        video = render_video(name, num_frames=24, seed=seed, distractors=False,
                             renderer=renderer)
        frame = video.frames[video.timeline.apex_start]
        hits += len(detector(frame, 0)) > 0
        total += 1
    assert hits / total >= 0.8


def _features(frames, side=16):
    # Edge magnitude of the central face region, per-image standardised: removes most of
    # the skin tone, lighting and background that vary between subjects and videos.
    size = frames.shape[1]
    rows = []
    for frame in frames:
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        edges = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        face = edges[int(0.2 * size):int(0.95 * size), int(0.2 * size):int(0.8 * size)]
        rows.append(cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA).ravel())
    rows = np.stack(rows).astype(np.float64)
    rows -= rows.mean(axis=1, keepdims=True)
    return rows / (rows.std(axis=1, keepdims=True) + 1e-6)


@pytest.mark.slow
def test_expression_cue_is_localized_at_the_apex():
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    renderer = FaceRenderer(48)
    videos = []
    for subject in range(20):
        identity = _identity(100 + subject)
        for label, name in enumerate(AFEW_CLASSES):
            videos.append((subject, label, render_video(
                name, num_frames=48, image_size=48, apex_fraction=0.1, seed=[100 + subject, label],
                identity=identity, renderer=renderer)))
    rng = np.random.default_rng(0)

    def frames(subjects, apex):
        x, y = [], []
        for subject, label, video in videos:
            if subject in subjects:
                index = video.apex_frames
                if not apex:
                    index = rng.choice(len(video.frames), len(index), replace=False)
                x.append(_features(video.frames[index]))
                y += [label] * len(index)
        return np.concatenate(x), np.array(y)

    train, test = set(range(14)), set(range(14, 20))  # held-out subjects
    scores = {}
    for apex in (True, False):
        with threadpool_limits(1):
            model = LogisticRegression(C=0.3, max_iter=500).fit(*frames(train, apex))
            scores[apex] = model.score(*frames(test, apex))
    chance = 1 / 7
    assert scores[True] > 3 * chance, scores
    assert scores[False] < chance + 0.12, scores
    assert scores[True] - scores[False] > 0.35, scores


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_dataset_reads_back_and_is_cached(tmp_path):
    from kerasfer.data import read_videos

    kwargs = dict(num_videos=9, num_subjects=3, image_size=32, min_frames=24, max_frames=30,
                  videos_per_shard=4, seed=0)
    out = write_synthetic_dataset(str(tmp_path / "a"), **kwargs)
    shards = sorted(f for f in os.listdir(out) if f.endswith(".tfrecord"))
    assert len(shards) == 3
    assert open(os.path.join(out, "failures.jsonl")).read() == ""
    assert schema.read_classes(out) == list(AFEW_CLASSES)
    manifest = schema.read_manifest(out)
    assert [r["id"] for r in manifest] == [f"syn{i:05d}" for i in range(9)]
    videos = {v["id"]: v for v in read_videos(out)}
    for record in manifest:
        video = videos[record["id"]]
        assert record == schema.manifest_record(
            video_id=video["id"], label=video["label"], label_name=video["label_name"],
            subject=video["subject"], split="", frames_kept=video["num_frames"],
            frames_total=video["num_frames"], shard=record["shard"], fps=25.0, crop_size=32,
            has_frame_labels=True)
        assert video["frames"].shape == (video["num_frames"], 32, 32, 3)
        assert 24 <= video["num_frames"] <= 30 and video["split"] == ""
        assert video["landmarks"].shape == (video["num_frames"], 68, 2)
        assert video["label"] == int(record["id"][3:]) % 7
        peak = video["frame_label"].max()
        assert peak == 0.0 if video["label_name"] == "Neutral" else peak >= 0.7
    assert [r["subject"] for r in manifest] == ["S000", "S001", "S002", "S000", "S001",
                                                "S002", "S000", "S001", "S002"]

    # Cache: a second call returns without rewriting anything.
    stamps = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out)}
    write_synthetic_dataset(out, **kwargs)
    assert stamps == {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out)}

    # Same seed → identical bytes; another seed → different bytes; new parameters rebuild.
    same = write_synthetic_dataset(str(tmp_path / "b"), **kwargs)
    other = write_synthetic_dataset(str(tmp_path / "c"), **{**kwargs, "seed": 1})
    for shard in shards:
        assert _sha(os.path.join(out, shard)) == _sha(os.path.join(same, shard))
        assert _sha(os.path.join(out, shard)) != _sha(os.path.join(other, shard))
    write_synthetic_dataset(out, **{**kwargs, "num_videos": 5})
    assert len(schema.read_manifest(out)) == 5
    assert len([f for f in os.listdir(out) if f.endswith(".tfrecord")]) == 2


def test_concurrent_calls_write_once(tmp_path):
    import threading

    out = str(tmp_path / "shared")
    kwargs = dict(num_videos=4, num_subjects=2, image_size=24, min_frames=12, max_frames=12,
                  videos_per_shard=1)
    errors = []

    def call():
        try:
            write_synthetic_dataset(out, **kwargs)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(schema.read_manifest(out)) == 4
    assert sorted(f for f in os.listdir(out) if f.endswith(".tfrecord")) == [
        f"synthetic-{i:05d}-of-00004.tfrecord" for i in range(4)]


def test_refuses_to_overwrite_a_builder_dataset(tmp_path):
    (tmp_path / "manifest.jsonl").write_text("")
    with pytest.raises(SchemaError, match="did not create it"):
        write_synthetic_dataset(str(tmp_path), num_videos=2)
    assert sorted(os.listdir(tmp_path)) == ["manifest.jsonl"]  # nothing added or removed
    marker = tmp_path / ".kerasfer-directory.json"
    marker.write_text('{"created_by": "tfrecords_builder"}')
    with pytest.raises(SchemaError, match="was written by tfrecords_builder"):
        write_synthetic_dataset(str(tmp_path), num_videos=2)
    with pytest.raises(ValueError, match="Received: min_frames=50, max_frames=10"):
        write_synthetic_dataset(str(tmp_path / "x"), min_frames=50, max_frames=10)


def test_mp4_and_csv_decode_with_pyav(tmp_path):
    import av

    out = write_synthetic_dataset(str(tmp_path), num_videos=3, num_subjects=2,
                                  image_size=32, min_frames=24, max_frames=26,
                                  genuine_posed=True, write_mp4=True)
    manifest = schema.read_manifest(out)
    with open(os.path.join(out, "videos.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == ["Angry_genuine", "Angry_posed", "Disgust_genuine"]
    for row, record in zip(rows, manifest):
        assert row["path"] == record["source_path"] and row["subject"] == record["subject"]
        assert row["split"] == ""
        with av.open(os.path.join(out, row["path"])) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == record["frames_kept"]
        assert frames[0].shape == (64, 64, 3)  # the crop plus a 16-pixel margin per side


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--help"])
    assert exit_info.value.code == 0
    assert "--apex-fraction" in capsys.readouterr().out
    out = str(tmp_path / "cli")
    assert cli_main(["--out", out, "--videos", "4", "--subjects", "2", "--size", "32",
                     "--min-frames", "24", "--max-frames", "24", "--classes", "Happy,Sad",
                     "--no-progress"]) == 0
    assert schema.read_classes(out) == ["Happy", "Sad"]
    assert cli_main(["--out", out, "--min-frames", "30", "--max-frames", "3"]) == 2
    assert "Received: min_frames=30" in capsys.readouterr().err


def test_cli_keeps_an_unrelated_directory(tmp_path, capsys):
    """Issue 13: `--out d` with the user's files in d is refused, naming them; nothing goes."""
    out = tmp_path / "d"
    (out / "videos").mkdir(parents=True)
    for name in ("backup.tmp", "mydata.tfrecord", "videos.csv", "videos/holiday.mp4"):
        (out / name).write_text(name)
    (out / "classes.json").write_text('["mine"]')
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert cli_main(["--out", str(out), "--videos", "4", "--subjects", "2", "--size", "32",
                     "--classes", "A,B", "--min-frames", "24", "--max-frames", "24",
                     "--no-progress"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {out}: is not empty and kerasfer did not create it (it holds "
                   f"backup.tmp, classes.json, mydata.tfrecord, videos, videos.csv). pass a new "
                   f"or empty --out directory; nothing was deleted"]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    for name in ("backup.tmp", "mydata.tfrecord", "videos.csv", "videos/holiday.mp4"):
        assert (out / name).read_text() == name
    assert (out / "classes.json").read_text() == '["mine"]'


def test_regeneration_deletes_only_recorded_files(tmp_path):
    """New parameters replace the previous generation's files, never the user's or a link's
    target."""
    out = tmp_path / "syn"
    kwargs = dict(num_videos=3, num_subjects=2, image_size=24, min_frames=12, max_frames=12,
                  videos_per_shard=1)
    write_synthetic_dataset(str(out), **kwargs)
    (out / "NOTES.md").write_text("mine")
    (out / "synthetic-00009-of-00010.tfrecord").write_text("mine too")  # never recorded
    precious = tmp_path / "precious"
    precious.write_text("keep")
    os.remove(out / "synthetic-00002-of-00003.tfrecord")
    os.symlink(precious, out / "synthetic-00002-of-00003.tfrecord")
    write_synthetic_dataset(str(out), **{**kwargs, "num_videos": 2})
    assert (out / "NOTES.md").read_text() == "mine"
    assert (out / "synthetic-00009-of-00010.tfrecord").read_text() == "mine too"
    assert precious.read_text() == "keep"
    assert not os.path.lexists(out / "synthetic-00002-of-00003.tfrecord")
    assert sorted(f for f in os.listdir(out) if f.startswith("synthetic-0000")) == [
        "synthetic-00000-of-00002.tfrecord", "synthetic-00001-of-00002.tfrecord",
        "synthetic-00009-of-00010.tfrecord"]
    assert len(schema.read_manifest(out)) == 2


@pytest.mark.slow  # two processes with TensorFlow start-up (~13 s CPU)
def test_hash_seed_does_not_change_the_bytes(tmp_path):
    """Issue 12: the generator's shards are byte-identical under PYTHONHASHSEED=1 and =2."""
    import subprocess
    import sys

    digests = []
    for hash_seed in (1, 2):
        out = tmp_path / f"h{hash_seed}"
        code = ("from kerasfer.data.synthetic import write_synthetic_dataset as w; "
                f"w({str(out)!r}, num_videos=3, num_subjects=2, image_size=24, min_frames=12, "
                "max_frames=14, videos_per_shard=2, class_names=('A', 'B', 'C'))")
        subprocess.run([sys.executable, "-c", code], check=True, timeout=300,
                       env={**os.environ, "PYTHONHASHSEED": str(hash_seed)})
        digests.append({name: _sha(os.path.join(out, name)) for name in sorted(os.listdir(out))
                        if name.endswith(".tfrecord") or name == "manifest.jsonl"})
    assert len(digests[0]) == 3 and digests[0] == digests[1]
