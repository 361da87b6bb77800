"""Decoding: real timestamps (VFR), resampling, rotation, frame folders, bad files."""

import fractions

import numpy as np
import pytest

from kerasfer.errors import VideoDecodeError
from tfrecords_builder.video import open_video, resample_frames, rotate_frame

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")


def _write_video(path, images, times=None, rate=25, rotation=None, codec="mpeg4"):
    """Writes RGB frames with PyAV; `times` (seconds) gives variable-frame-rate pts."""
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate)
    stream.height, stream.width = images[0].shape[:2]
    stream.pix_fmt = "yuv420p"
    if times is not None:
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
    if rotation is not None:
        stream.set_display_rotation(rotation)
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        if times is not None:
            frame.pts = int(round(times[index] * 1000))
            frame.time_base = fractions.Fraction(1, 1000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def _grey_frames(values, height=48, width=64):
    return [np.full((height, width, 3), v, np.uint8) for v in values]


def test_carphone_decodes_all_frames_with_timestamps(carphone_path):
    fps, frames = open_video(carphone_path)
    frames = list(frames)
    assert fps == pytest.approx(30000 / 1001)
    assert len(frames) == 120
    indices, times, images = zip(*frames)
    assert list(indices) == list(range(120))
    assert images[0].shape == (144, 176, 3) and images[0].dtype == np.uint8
    np.testing.assert_allclose(np.diff(times), 1001 / 30000, atol=1e-4)


def test_variable_frame_rate_keeps_real_timestamps(tmp_path):
    times = [0.0, 0.04, 0.06, 0.2, 0.21, 0.5, 0.9]
    path = tmp_path / "vfr.mp4"
    _write_video(path, _grey_frames(np.linspace(0, 250, len(times)).astype(int)), times=times)
    _, frames = open_video(str(path))
    decoded = [t for _, t, _ in frames]
    np.testing.assert_allclose(decoded, times, atol=1e-3)


def test_target_fps_uses_real_timestamps_on_vfr(tmp_path):
    times = [0.0, 0.04, 0.06, 0.2, 0.21, 0.5, 0.9]
    path = tmp_path / "vfr.mp4"
    _write_video(path, _grey_frames([10] * len(times)), times=times)
    _, frames = open_video(str(path), target_fps=10)
    # 0.1 s slots from t=0: 0.0 | 0.2 (slot 2) | 0.5 (slot 5) | 0.9 (slot 9).
    np.testing.assert_allclose([t for _, t, _ in frames], [0.0, 0.2, 0.5, 0.9], atol=1e-3)


def test_frame_stride_and_target_fps_on_carphone(carphone_path):
    fps, frames = open_video(carphone_path, frame_stride=3)
    indices = [i for i, _, _ in frames]
    assert indices == list(range(0, 120, 3))
    assert fps == pytest.approx(30000 / 1001 / 3)
    fps, frames = open_video(carphone_path, target_fps=10, frame_stride=2)
    times = np.array([t for _, t, _ in frames])
    assert fps == pytest.approx(5.0)
    assert len(times) == 20  # 4.0 s at 10 fps = 40 slots, every 2nd kept.
    np.testing.assert_allclose(np.diff(times), 0.2, atol=1001 / 30000)


def test_resample_never_duplicates_and_strides_after_resampling():
    frames = [(i, i / 5.0, None) for i in range(10)]  # 5 fps source
    assert [f[0] for f in resample_frames(frames, target_fps=30)] == list(range(10))
    assert [f[0] for f in resample_frames(frames, target_fps=2.5)] == [0, 2, 4, 6, 8]
    assert [f[0] for f in resample_frames(frames, target_fps=2.5, frame_stride=2)] == [0, 4, 8]


def test_rotate_frame_follows_counter_clockwise_convention():
    image = np.zeros((2, 3, 1), np.uint8)
    image[0, 2] = 1  # top-right corner
    rotated = rotate_frame(image, 90)  # counter-clockwise: top-right → top-left
    assert rotated.shape == (3, 2, 1) and rotated[0, 0, 0] == 1
    assert rotate_frame(image, -90)[2, 1, 0] == 1  # clockwise: top-right → bottom-right
    assert rotate_frame(image, 180)[1, 0, 0] == 1
    assert rotate_frame(image, 0) is image


def test_rotation_metadata_is_applied(tmp_path):
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :16] = 255  # white band on the left
    path = tmp_path / "rotated.mp4"
    _write_video(path, [image] * 3, rotation=90)
    _, frames = open_video(str(path))
    rotated = next(iter(frames))[2]
    assert rotated.shape == (64, 48, 3)
    # 90° counter-clockwise puts the left band at the bottom.
    assert rotated[-8:].mean() > 200 and rotated[:40].mean() < 30


def test_frame_folder_sorted_by_name_with_numbers(tmp_path):
    for index in (1, 2, 10, 11):
        cv2.imwrite(str(tmp_path / f"frame{index}.png"), np.full((8, 8, 3), index, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    fps, frames = open_video(str(tmp_path), is_frame_folder=True, folder_fps=25)
    frames = list(frames)
    assert fps == 25
    assert [int(f[2][0, 0, 0]) for f in frames] == [1, 2, 10, 11]
    np.testing.assert_allclose([f[1] for f in frames], [0, 0.04, 0.08, 0.12])


def test_frame_folder_errors(tmp_path):
    with pytest.raises(VideoDecodeError, match="no frame images"):
        open_video(str(tmp_path), is_frame_folder=True)
    (tmp_path / "0001.png").write_bytes(b"\x89PNG broken")
    _, frames = open_video(str(tmp_path), is_frame_folder=True)
    with pytest.raises(VideoDecodeError, match="0001.png: unreadable image"):
        list(frames)


def _decode_all(path):
    _, frames = open_video(str(path))
    return list(frames)


@pytest.mark.parametrize("kind, match", [
    ("missing", "file not found"),
    ("zero", r"empty file \(0 bytes\)"),
    ("text", "text file, not a video"),
    ("binary", "truncated, corrupt or not a video"),
    ("cut", "truncated, corrupt or not a video"),
])
def test_bad_files_raise_one_line_with_the_path(tmp_path, carphone_path, kind, match):
    path = tmp_path / f"{kind}.mp4"
    data = open(carphone_path, "rb").read()
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is a README, not a video\n" * 10)
    elif kind == "binary":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    elif kind == "cut":  # carphone keeps its index (moov) at the end: cut → unopenable
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match=match) as info:
        _decode_all(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_truncated_faststart_file_reports_decoded_count(tmp_path, carphone_path):
    # With the index at the front, ffmpeg decodes a cut file partially without failing to
    # open; the builder must still refuse it.
    source = av.open(carphone_path)
    faststart = tmp_path / "faststart.mp4"
    target = av.open(str(faststart), "w", options={"movflags": "faststart"})
    in_stream = source.streams.video[0]
    out_stream = target.add_stream_from_template(in_stream)
    for packet in source.demux(in_stream):
        if packet.dts is not None:
            packet.stream = out_stream
            target.mux(packet)
    target.close()
    source.close()
    assert len(_decode_all(faststart)) == 120
    data = faststart.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match=r"truncated: decoded \d+ of 120 frames"):
        _decode_all(truncated)


def test_frames_are_contiguous_for_padded_widths(tmp_path):
    # PyAV returns rows padded to 528 bytes for 168-px-wide frames; dlib finds no face in
    # such strided arrays, so open_video must hand back C-contiguous frames.
    path = tmp_path / "w168.mp4"
    _write_video(path, _grey_frames([90, 120], height=112, width=168))
    _, frames = open_video(str(path))
    for _, _, image in frames:
        assert image.shape == (112, 168, 3) and image.flags["C_CONTIGUOUS"]
