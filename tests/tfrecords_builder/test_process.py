"""`process_video` end to end on the real carphone clip, bad inputs and frame folders."""

import numpy as np
import pytest

from kerasfer.errors import LabelError, NoFaceError, VideoDecodeError
from tfrecords_builder import VideoItem, process_video
from tfrecords_builder.alignment import template_points
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.video import open_video

cv2 = pytest.importorskip("cv2")


def _decode_jpeg(data):
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                        cv2.COLOR_BGR2RGB)


def _eye_centres(landmarks):
    return np.stack([landmarks[:, 36:42].mean(axis=1), landmarks[:, 42:48].mean(axis=1)], 1)


@pytest.fixture(scope="module")
def carphone_video(carphone_path):
    return process_video(VideoItem(carphone_path, "carphone", "neutral"), FaceOptions())


@pytest.fixture(scope="module")
def carphone_frames(carphone_path):
    _, frames = open_video(carphone_path)
    return [image for _, _, image in frames]


def test_carphone_keeps_a_face_in_most_frames_aligned_on_the_template(carphone_video):
    video = carphone_video
    assert video.frames_total == 120
    assert 110 <= video.frames_kept <= 120
    assert video.landmarks.shape == (video.frames_kept, 68, 2)
    assert video.landmarks.dtype == np.float32
    assert video.boxes.shape == (video.frames_kept, 4)
    assert video.detected.dtype == bool and video.detected.all()
    assert np.all(np.diff(video.timestamps) > 0)
    assert video.fps == pytest.approx(30000 / 1001)
    distances = np.linalg.norm(_eye_centres(video.landmarks) - template_points(112)[:2], axis=-1)
    assert distances.max() < 3.0
    assert video.frame_labels is None


def test_crops_are_rgb_jpegs_matching_the_landmarks(carphone_video, carphone_frames):
    video = carphone_video
    crop = _decode_jpeg(video.jpeg_frames[0])
    assert crop.shape == (112, 112, 3)
    # Same crop, re-made from the source frame with the stored landmarks' transform:
    # the JPEG holds RGB (not BGR) pixels of the face.
    from tfrecords_builder.alignment import align_face
    from tfrecords_builder.faces import predict_landmarks

    index = int(round(video.timestamps[0] * video.fps))
    expected, _, _ = align_face(carphone_frames[index],
                                predict_landmarks(carphone_frames[index], video.boxes[0]), 112)
    assert np.abs(crop.astype(int) - expected.astype(int)).mean() < 4
    assert np.abs(crop.astype(int) - expected[..., ::-1].astype(int)).mean() > 4


@pytest.mark.parametrize("crop_size", [64, 160])
def test_other_crop_sizes(carphone_path, crop_size):
    video = process_video(VideoItem(carphone_path, "c", "x"),
                          FaceOptions(crop_size=crop_size, frame_stride=10, jpeg_quality=75))
    assert video.frames_total == 12 and video.crop_size == crop_size
    assert _decode_jpeg(video.jpeg_frames[0]).shape == (crop_size, crop_size, 3)
    offsets = _eye_centres(video.landmarks) - template_points(crop_size)[:2]
    distances = np.linalg.norm(offsets, axis=-1)
    assert distances.max() < 3.0 * crop_size / 112


def test_detect_every_marks_tracked_frames(carphone_path, carphone_video):
    video = process_video(VideoItem(carphone_path, "c", "x"), FaceOptions(detect_every=4))
    assert video.frames_kept >= 110
    assert 0 < video.detected.sum() <= 40
    # Tracked boxes stay close to the boxes detection finds on every frame.
    reference = dict(zip(np.round(carphone_video.timestamps, 3), carphone_video.boxes))
    for timestamp, box, detected in zip(video.timestamps, video.boxes, video.detected):
        if not detected and round(float(timestamp), 3) in reference:
            centre = (box[:2] + box[2:]) / 2
            other = reference[round(float(timestamp), 3)]
            assert np.linalg.norm(centre - (other[:2] + other[2:]) / 2) < 8


@pytest.mark.slow
def test_bikes_has_no_face(bikes_path):
    with pytest.raises(NoFaceError) as info:
        process_video(VideoItem(bikes_path, "bikes", "x"), FaceOptions())
    assert bikes_path in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "zero", "text", "truncated"])
def test_bad_files_raise_decode_errors_naming_the_file(tmp_path, carphone_path, kind):
    path = tmp_path / f"{kind}.mp4"
    data = open(carphone_path, "rb").read()
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("name,label\nclip.mp4,happy\n")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(VideoDecodeError) as info:
        process_video(VideoItem(str(path), kind, "x"), FaceOptions())
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.fixture
def face_folder(tmp_path, carphone_frames):
    """4 blank frames, then 6 carphone frames, then 2 blank frames, as PNG files."""
    blank = np.zeros_like(carphone_frames[0])
    images = [blank] * 4 + carphone_frames[:6] + [blank] * 2
    for index, image in enumerate(images):
        cv2.imwrite(str(tmp_path / f"{index:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return str(tmp_path)


def test_frame_folder_drops_faceless_frames_and_keeps_their_labels(face_folder):
    labels = np.arange(12, dtype=np.float32) / 10
    item = VideoItem(face_folder, "seq", "x", is_frame_folder=True, frame_labels=labels, fps=25)
    video = process_video(item, FaceOptions())
    assert video.frames_total == 12 and video.frames_kept == 6
    np.testing.assert_allclose(video.frame_labels, labels[4:10])
    np.testing.assert_allclose(video.timestamps, np.arange(4, 10) / 25, atol=1e-6)
    assert video.fps == 25


def test_keep_frames_without_face_uses_the_known_box(face_folder):
    item = VideoItem(face_folder, "seq", "x", is_frame_folder=True, frame_labels=list(range(12)))
    video = process_video(item, FaceOptions(keep_frames_without_face=True))
    assert video.frames_kept == 12
    np.testing.assert_array_equal(video.detected, [False] * 4 + [True] * 6 + [False] * 2)
    np.testing.assert_array_equal(video.boxes[:4], np.repeat(video.boxes[4:5], 4, axis=0))
    np.testing.assert_array_equal(video.boxes[10:], np.repeat(video.boxes[9:10], 2, axis=0))
    np.testing.assert_array_equal(video.frame_labels, np.arange(12))


def test_too_few_frame_labels(face_folder):
    item = VideoItem(face_folder, "seq", "x", is_frame_folder=True, frame_labels=[0.0] * 5)
    with pytest.raises(LabelError, match="5 frame labels"):
        process_video(item, FaceOptions())


def test_no_detect_resizes_whole_frames(face_folder):
    item = VideoItem(face_folder, "seq", "x", is_frame_folder=True)
    video = process_video(item, FaceOptions(detector="none", crop_size=64))
    assert video.frames_kept == video.frames_total == 12
    assert not video.detected.any()
    np.testing.assert_array_equal(video.boxes[0], [0, 0, 175, 143])
    assert _decode_jpeg(video.jpeg_frames[5]).shape == (64, 64, 3)
    # Landmarks are predicted with the whole frame as the box, then scaled to the crop.
    from tfrecords_builder.faces import predict_landmarks

    frame = cv2.cvtColor(cv2.imread(f"{face_folder}/0005.png"), cv2.COLOR_BGR2RGB)
    expected = predict_landmarks(frame, [0, 0, 175, 143]) * [64 / 176, 64 / 144]
    np.testing.assert_allclose(video.landmarks[5], expected, atol=1e-4)


def test_frame_stride_subsamples_frame_labels(face_folder):
    item = VideoItem(face_folder, "seq", "x", is_frame_folder=True, frame_labels=list(range(12)),
                     fps=30)
    video = process_video(item, FaceOptions(frame_stride=3, keep_frames_without_face=True))
    assert video.frames_total == 4 and video.fps == pytest.approx(10)
    np.testing.assert_array_equal(video.frame_labels, [0, 3, 6, 9])
    np.testing.assert_array_equal(video.detected, [False, False, True, True])  # faces: 4..9


def test_built_landmarks_are_left_unchanged_by_lstm_pb_alignment(carphone_video):
    """The LSTM-PB pipeline's per-frame alignment (`align_landmarks`) is the builder's own, so on
    landmarks of a built video (real detector, real clip) it changes nothing."""
    from kerasfer.pipelines.lstm_pb_genuine_fake import align_to_template

    crop = carphone_video.landmarks / 112.0
    np.testing.assert_allclose(align_to_template(crop), crop, atol=1e-4)
