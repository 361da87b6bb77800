"""`write_synthetic_dataset`: a synthetic FER dataset in the `tfrecords_builder` layout."""

from __future__ import annotations

import contextlib
import csv
import json
import os

import cv2
import numpy as np

from kerasfer import schema
from kerasfer.data.synthetic.expressions import AFEW_CLASSES, NUM_ACTIONS
from kerasfer.data.synthetic.face_identity import FaceIdentity
from kerasfer.data.synthetic.face_renderer import FaceRenderer
from kerasfer.data.synthetic.synthetic_video import render_video
from kerasfer.errors import SchemaError
from kerasfer.owned_directory import OwnedDirectory

# Bump when the rendering changes, so cached datasets are rebuilt.
GENERATOR_VERSION = 1
PARAMETERS_FILENAME = "synthetic.json"
CSV_FILENAME = "videos.csv"
VIDEO_FOLDER = "videos"
LOCK_FILENAME = ".synthetic.lock"
TOOL = "kerasfer.data.synthetic"


def dataset_classes(class_names=AFEW_CLASSES, genuine_posed=False):
    """Returns the class list of a synthetic dataset.

    With `genuine_posed`, every expression except Neutral gives a pair of classes,
    `"<Name>_genuine"` (index 2k) and `"<Name>_posed"` (index 2k + 1), as in the ChaLearn 2017
    real-versus-fake protocol (per-emotion pairs, as in "Relaxed spatio-temporal deep feature
    aggregation for real/fake expression prediction"); the binary
    genuine/posed label is `label % 2`.
    """
    names = [str(name) for name in class_names]
    if not genuine_posed:
        return names
    emotions = [name for name in names if name.strip().lower() != "neutral"]
    return [f"{name}_{kind}" for name in emotions for kind in ("genuine", "posed")]


def _validate(num_videos, num_subjects, classes, image_size, min_frames, max_frames,
              apex_fraction, videos_per_shard):
    checks = [
        (int(num_videos) >= 1, f"num_videos={num_videos}", "`num_videos` must be >= 1"),
        (int(num_subjects) >= 1, f"num_subjects={num_subjects}", "`num_subjects` must be >= 1"),
        (len(classes) >= 1, f"class_names={classes}", "need at least one class"),
        (len(set(classes)) == len(classes), f"class_names={classes}",
         "class names must be unique"),
        (int(image_size) >= 16, f"image_size={image_size}", "`image_size` must be >= 16"),
        (3 <= int(min_frames) <= int(max_frames), f"min_frames={min_frames}, "
         f"max_frames={max_frames}", "need 3 <= min_frames <= max_frames"),
        (0.0 < float(apex_fraction) <= 1.0, f"apex_fraction={apex_fraction}",
         "`apex_fraction` must be in (0, 1]"),
        (int(videos_per_shard) >= 1, f"videos_per_shard={videos_per_shard}",
         "`videos_per_shard` must be >= 1"),
    ]
    for ok, received, message in checks:
        if not ok:
            raise ValueError(f"{message}. Received: {received}")


def _is_cached(out_dir, parameters):
    path = os.path.join(out_dir, PARAMETERS_FILENAME)
    if not os.path.exists(path):
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return False
    return (stored.get("parameters") == parameters and stored.get("complete") is True
            and os.path.exists(os.path.join(out_dir, schema.MANIFEST_FILENAME)))


def _claim(out_dir):
    """Creates `out_dir` or checks that the generator wrote it (issue 13: data lost).

    A non-empty directory that kerasfer did not create is refused, naming its files; an
    earlier generator's directory (with `synthetic.json`, before the ownership marker) is
    adopted, and only the files its records list are ever deleted (`_clear_previous`).
    """
    OwnedDirectory(out_dir, TOOL).claim(
        ignore=(LOCK_FILENAME,), adopt=lambda names: PARAMETERS_FILENAME in names)


def _recorded_files(out_dir):
    """Names (relative to `out_dir`) that the previous generation recorded as written."""
    try:
        with open(os.path.join(out_dir, PARAMETERS_FILENAME), encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return []
    if isinstance(stored, dict) and isinstance(stored.get("files"), list):
        return [str(name) for name in stored["files"]]
    # Written before the list existed: its manifest names the shards and the mp4 files.
    names = [schema.MANIFEST_FILENAME, schema.CLASSES_FILENAME, schema.FAILURES_FILENAME,
             PARAMETERS_FILENAME]
    try:
        for record in schema.read_manifest(out_dir):
            names += [record["shard"]] + ([record["source_path"]] if record.get("source_path")
                                          else [])
        if any(record.get("source_path") for record in schema.read_manifest(out_dir)):
            names.append(CSV_FILENAME)
    except (SchemaError, KeyError, TypeError):
        pass
    return names


def _planned_files(num_videos, videos_per_shard, write_mp4):
    """Every name this generation may create, temporaries included, recorded up front."""
    num_shards = (num_videos + videos_per_shard - 1) // videos_per_shard
    names = []
    for shard_index in range(num_shards):
        shard = f"synthetic-{shard_index:05d}-of-{num_shards:05d}{schema.SHARD_SUFFIX}"
        names += [shard, shard + ".tmp"]
    if write_mp4:
        for index in range(num_videos):
            path = f"{VIDEO_FOLDER}/syn{index:05d}.mp4"
            names += [path, path + ".tmp.mp4"]
        names.append(CSV_FILENAME)
    pid = os.getpid()
    for name in (schema.CLASSES_FILENAME, PARAMETERS_FILENAME):
        names += [name, f"{name}.tmp-{pid}"]
    names += [schema.FAILURES_FILENAME, schema.MANIFEST_FILENAME,
              schema.MANIFEST_FILENAME + ".tmp"]
    return names


def _clear_previous(out_dir):
    # Only what the previous generation's records list; never through a symbolic link.
    owned = OwnedDirectory(out_dir, TOOL)
    recorded = _recorded_files(out_dir)
    if os.path.exists(os.path.join(out_dir, PARAMETERS_FILENAME)):
        # Marked incomplete (its file list kept) before anything goes: a run killed while
        # deleting must not leave a manifest with missing shards that looks finished.
        schema.write_json_atomic(os.path.join(out_dir, PARAMETERS_FILENAME),
                                 {"complete": False, "files": recorded})
    for name in recorded:
        if name != PARAMETERS_FILENAME:
            owned.remove(name)
    owned.remove(PARAMETERS_FILENAME)


@contextlib.contextmanager
def _exclusive_lock(out_dir):
    # Several jobs (parallel test runs, fit on two GPUs) may ask for the same cached
    # dataset at once: one writes, the others wait and then find it complete.
    try:
        import fcntl
    except ImportError:  # Windows: no lock, as before.
        yield
        return
    # O_NOFOLLOW: the lock file is never opened through a symbolic link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(os.path.join(out_dir, LOCK_FILENAME), flags, 0o644), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_mp4(path, frames, fps, audio=None):
    import av

    from kerasfer.data.synthetic.audio_track import SAMPLE_RATE

    # yuv420p needs even sides: drop the last row / column of odd-sized frames.
    frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]
    tmp = path + ".tmp.mp4"
    with av.open(tmp, "w") as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        # One thread and a fixed CRF keep the file identical for a seed.
        stream.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        if audio is not None:  # Mono AAC track (kerasfer.data.synthetic.audio_track).
            sound = container.add_stream("aac", rate=SAMPLE_RATE)
            sound.layout = "mono"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            chunk = av.AudioFrame.from_ndarray(np.asarray(audio, np.float32)[None], format="flt",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, 0
            for packet in list(sound.encode(chunk)) + list(sound.encode(None)):
                container.mux(packet)
    os.replace(tmp, path)


def _audio_track(emotion, video, duration, emotions, seed, subject, index):
    from kerasfer.data.synthetic.audio_track import render_audio_track, speaker_pitch

    return render_audio_track(emotion, duration=duration, intensity=video.intensity,
                              class_names=emotions, speaker_pitch_hz=speaker_pitch([seed, 5, subject]),
                              seed=[seed, 4, index])


def write_synthetic_dataset(out_dir, *, num_videos=140, num_subjects=20,
                            class_names=AFEW_CLASSES, image_size=112, min_frames=24,
                            max_frames=128, apex_fraction=0.2, seed=0, genuine_posed=False,
                            write_mp4=False, videos_per_shard=32, fps=25.0, jpeg_quality=90,
                            progress=False):
    """Writes (or reuses) a synthetic facial-expression dataset; returns `out_dir`.

    The layout is the one `tfrecords_builder` writes (`kerasfer.schema`): `*.tfrecord`
    shards of pre-aligned RGB crops with 68 landmarks in crop coordinates and the
    per-frame expression intensity as frame labels, `manifest.jsonl`, `classes.json`, an
    empty `failures.jsonl`, plus `synthetic.json` with the generation parameters. Video `i`
    has label `i % C` and subject `(i % C + i // C) % num_subjects`, so classes and
    subjects are balanced (with C × S videos each subject shows every class once);
    `split` is left empty (use `kerasfer.data.folds`). With `write_mp4`, every video is
    also written as `videos/<id>.mp4` with the face inside a wider frame, and
    `videos.csv` lists `path,label,subject,split` (paths relative to the CSV) for
    `python -m tfrecords_builder`; `video/source_path` then names the mp4 (relative to
    `out_dir`) and the boxes are in its pixels. Frames without a face have
    `detected = 0` and keep the landmarks of where the face would be.

    The call is a cache: when `out_dir` already holds a complete dataset made with the same
    parameters it returns at once; concurrent calls on one directory are serialised with a
    file lock (`.synthetic.lock`, POSIX), so only one of them writes. Deterministic: the same parameters give identical shards.

    Args:
        out_dir: str. Output directory (created).
        num_videos: int. Number of videos. Defaults to 140.
        num_subjects: int. Number of subjects (identities). Defaults to 20.
        class_names: sequence of str. Expression classes. Defaults to the 7 AFEW classes.
        image_size: int. Side of the face crops. Defaults to 112.
        min_frames: int. Shortest video. Defaults to 24.
        max_frames: int. Longest video. Defaults to 128.
        apex_fraction: float. Fraction of each video in the apex window. Defaults to 0.2.
        seed: int. Seed. Defaults to 0.
        genuine_posed: bool. Per-emotion genuine/posed pairs (see `dataset_classes`).
            Defaults to False.
        write_mp4: bool. Also write mp4 files (with a class-dependent mono AAC audio track,
            `audio_track.py`) and `videos.csv`. Defaults to False.
        videos_per_shard: int. Videos per TFRecord shard. Defaults to 32.
        fps: float. Frame rate. Defaults to 25.0 (AFEW).
        jpeg_quality: int. JPEG quality of the crops. Defaults to 90.
        progress: bool. Show a tqdm progress bar. Defaults to False.

    Returns:
        str, `out_dir`.

    Example:

    >>> path = write_synthetic_dataset("/tmp/syn", num_videos=14, num_subjects=2)
    >>> len(kerasfer.schema.read_manifest(path))
    14
    """
    classes = dataset_classes(class_names, genuine_posed)
    _validate(num_videos, num_subjects, classes, image_size, min_frames, max_frames,
              apex_fraction, videos_per_shard)
    parameters = {
        "generator_version": GENERATOR_VERSION, "num_videos": int(num_videos),
        "num_subjects": int(num_subjects), "class_names": [str(c) for c in class_names],
        "image_size": int(image_size), "min_frames": int(min_frames),
        "max_frames": int(max_frames), "apex_fraction": float(apex_fraction),
        "seed": int(seed), "genuine_posed": bool(genuine_posed), "write_mp4": bool(write_mp4),
        "videos_per_shard": int(videos_per_shard), "fps": float(fps),
        "jpeg_quality": int(jpeg_quality),
    }
    if write_mp4:  # The mp4 files carry a class-dependent audio track (audio_track.py).
        from kerasfer.data.synthetic.audio_track import AUDIO_TRACK_VERSION

        parameters["mp4_audio_version"] = AUDIO_TRACK_VERSION
    out_dir = str(out_dir)
    if _is_cached(out_dir, parameters):
        return out_dir
    _claim(out_dir)
    with _exclusive_lock(out_dir):
        # Another process may have finished the same dataset while this one waited.
        if _is_cached(out_dir, parameters):
            return out_dir
        _clear_previous(out_dir)
        files = _planned_files(int(num_videos), int(videos_per_shard), write_mp4)
        schema.write_json_atomic(os.path.join(out_dir, PARAMETERS_FILENAME),
                                 {"parameters": parameters, "complete": False, "files": files})
        if write_mp4:
            os.makedirs(os.path.join(out_dir, VIDEO_FOLDER), exist_ok=True)

        import tensorflow as tf
        # Plain tqdm: tqdm.auto warns in notebooks without ipywidgets, even unused.
        from tqdm import tqdm

        emotions = [name for name in class_names if not genuine_posed
                    or name.strip().lower() != "neutral"]
        identities = [FaceIdentity.sample(np.random.default_rng([seed, 1, s]), NUM_ACTIONS)
                      for s in range(num_subjects)]
        # mp4 frames show the face with a margin, as a raw video would. Their side is a multiple
        # of 64 so that decoders return unpadded rows (dlib misreads row-padded arrays).
        padding = (-(-3 * image_size // 128) * 64 - image_size) // 2 if write_mp4 else 0
        renderer = FaceRenderer(image_size, padding=padding)
        encode_params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        num_shards = (num_videos + videos_per_shard - 1) // videos_per_shard
        manifest, csv_rows = [], []
        bar = tqdm(total=num_videos, desc="synthetic videos", unit="video", disable=not progress)
        for shard_index in range(num_shards):
            shard = f"synthetic-{shard_index:05d}-of-{num_shards:05d}{schema.SHARD_SUFFIX}"
            shard_path = os.path.join(out_dir, shard)
            with tf.io.TFRecordWriter(shard_path + ".tmp") as writer:
                first = shard_index * videos_per_shard
                for index in range(first, min(num_videos, first + videos_per_shard)):
                    label = index % len(classes)
                    # Round b of the classes starts at subject b: with C × S videos every
                    # subject shows every class once, and few videos still spread over subjects.
                    subject = (index % len(classes) + index // len(classes)) % num_subjects
                    emotion = emotions[label // 2] if genuine_posed else classes[label]
                    posed = bool(genuine_posed and label % 2)
                    video_id = f"syn{index:05d}"
                    num_frames = int(np.random.default_rng([seed, 2, index]).integers(
                        min_frames, max_frames + 1))
                    video = render_video(
                        emotion, num_frames=num_frames, image_size=image_size,
                        apex_fraction=apex_fraction, seed=[seed, 3, index],
                        identity=identities[subject], posed=posed, class_names=emotions,
                        padding=padding, renderer=renderer)
                    source_path = ""
                    if write_mp4:
                        source_path = f"{VIDEO_FOLDER}/{video_id}.mp4"
                        _write_mp4(os.path.join(out_dir, source_path), video.source_frames, fps,
                                   audio=_audio_track(emotion, video, num_frames / fps, emotions,
                                                      seed, subject, index))
                        csv_rows.append([source_path, classes[label], f"S{subject:03d}", ""])
                    jpegs = [cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                          encode_params)[1].tobytes() for frame in video.frames]
                    writer.write(schema.encode_video_example(
                        video_id=video_id, label=label, label_name=classes[label],
                        jpeg_frames=jpegs, landmarks=video.landmarks, boxes=video.boxes,
                        timestamps=np.arange(num_frames) / fps, detected=video.face_present,
                        crop_size=image_size, subject=f"S{subject:03d}", split="", fps=fps,
                        source_path=source_path, frame_labels=video.intensity))
                    manifest.append(schema.manifest_record(
                        video_id=video_id, label=label, label_name=classes[label],
                        subject=f"S{subject:03d}", split="", frames_kept=num_frames,
                        frames_total=num_frames, shard=shard, fps=fps, crop_size=image_size,
                        source_path=source_path, has_frame_labels=True))
                    bar.update(1)
            os.replace(shard_path + ".tmp", shard_path)
        bar.close()

        schema.write_json_atomic(os.path.join(out_dir, schema.CLASSES_FILENAME), classes)
        with open(os.path.join(out_dir, schema.FAILURES_FILENAME), "w", encoding="utf-8"):
            pass
        tmp = os.path.join(out_dir, schema.MANIFEST_FILENAME + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in manifest:
                handle.write(json.dumps(record) + "\n")
        os.replace(tmp, os.path.join(out_dir, schema.MANIFEST_FILENAME))
        if write_mp4:
            with open(os.path.join(out_dir, CSV_FILENAME), "w", newline="", encoding="utf-8") as f:
                rows = csv.writer(f)
                rows.writerow(["path", "label", "subject", "split"])
                rows.writerows(csv_rows)
        schema.write_json_atomic(os.path.join(out_dir, PARAMETERS_FILENAME),
                                 {"parameters": parameters, "complete": True,
                                  "classes": classes, "files": files})
    return out_dir
