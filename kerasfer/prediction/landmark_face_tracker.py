"""`LandmarkFaceTracker`: the face box of frame t + 1 from frame t's 68 landmarks.

What OpenFace does between detections (Baltrušaitis et al., "OpenFace 2.0", FG 2018: the
landmark fit of the previous frame initialises the next, the face detector runs again only
when the fit fails), with the builder's dlib models:

* on a **detection** frame the builder's detector (dlib HOG by default, on the copy of at
  most `detection_max_side` px) gives the box, the 68-point shape predictor its landmarks,
  and the tracker records where the box sits relative to the stable landmarks (brows,
  eyes, nose: points 17–47): `rel = (box − centroid) / spread`;
* on the next frames the box is `centroid + spread · rel` of the *previous* frame's
  landmarks, and the shape predictor refits inside it (≈ 1 ms instead of ≈ 10 ms for HOG
  at upsample 1 on 176×144 carphone);
* the fit is checked on the aligned crop the model will see: the normalised
  cross-correlation of its 32×32 grey version with the crop of the last detection frame
  must be at least `min_similarity` (0.6), else the detector runs on this frame at once.
  Measured with `detect_every=5`: tracked carphone frames score a median 0.96 (0.52 at
  the lowest of 360 frames of its 704×576 version, where the detector then re-runs), a
  cut that moves the face by one face width 0.29, a frame without a face 0.13;
* the detector also runs on decoded frames 0, k, 2k, ... (`detect_every` = k, bounds
  slow drift), in a worker thread k frames ahead of the landmark fits (`prefetch`); when
  it misses a face that the track still holds (the check passes), the tracked fit is
  kept once, as a correlation tracker would; a second miss in a row ends the track (so a
  detector false positive on a static background is not followed for ever).

Boxes and landmarks are in full-resolution frame pixels, as `tfrecords_builder.faces.
locate_faces` yields them; the aligned crop is the builder's `align_face` at `crop_size`.

Example:

>>> tracker = LandmarkFaceTracker(face_options, detect_every=5)
>>> for index, timestamp, box, detected, crop in tracker.locate(frames):
...     crop  # uint8 (crop_size, crop_size, 3) or None
"""

from __future__ import annotations

import collections

import numpy as np

STABLE_POINTS = slice(17, 48)  # brows, nose, eyes: they move little with the expression
CHECK_SIDE = 32


def _frame_of(landmarks):
    points = np.asarray(landmarks[STABLE_POINTS], np.float64)
    centroid = points.mean(axis=0)
    spread = float(np.sqrt(((points - centroid) ** 2).sum(axis=1).mean()))
    return np.concatenate([centroid, centroid]), max(spread, 1e-6)


def appearance(crop):
    """Zero-mean, unit-norm 32×32 grey vector of an aligned crop (for the fit check)."""
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (CHECK_SIDE, CHECK_SIDE), interpolation=cv2.INTER_AREA)
    vector = small.astype(np.float64).ravel()
    vector -= vector.mean()
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


class LandmarkFaceTracker:
    """Landmark-driven face tracking with detection every k frames and on a failed fit.

    Args:
        options: `tfrecords_builder.face_options.FaceOptions`. Detector, detection size,
            upsampling and crop size (as recorded in the export).
        detect_every: int. The detector runs on decoded frames 0, k, 2k, ... (and on any
            frame without a track). 1 means no tracking: the detector on every frame, a
            miss is a frame without a face (exactly `locate_faces` with `detect_every=1`).
            Defaults to 5.
        min_similarity: float. Lowest normalised cross-correlation, in [-1, 1], of a
            tracked frame's aligned crop with the last detection's, accepted as the same
            face. Defaults to 0.6.
        prefetch: bool. Run the scheduled detections in a worker thread, `detect_every`
            frames ahead of the landmark fits (dlib's detector releases the GIL, so the two
            overlap on two cores; the results are identical). Defaults to True.
    """

    def __init__(self, options, detect_every=5, min_similarity=0.6, prefetch=True):
        if isinstance(detect_every, bool) or int(detect_every) != detect_every \
                or detect_every < 1:
            raise ValueError(f"`detect_every` must be an int >= 1. "
                             f"Received: detect_every={detect_every!r}")
        if not -1.0 <= float(min_similarity) <= 1.0:
            raise ValueError(f"`min_similarity` must be in [-1, 1]. "
                             f"Received: min_similarity={min_similarity!r}")
        self.options = options
        self.detect_every = int(detect_every)
        self.min_similarity = float(min_similarity)
        self.prefetch = bool(prefetch)
        self.detections = 0
        self.failed_checks = 0

    def _detect(self, image):
        from tfrecords_builder.detectors import detect_largest_face

        return detect_largest_face(image, self.options.detector,
                                   max_side=self.options.detection_max_side,
                                   upsample=self.options.upsample)

    def _fit(self, image, box):
        from tfrecords_builder.alignment import align_face
        from tfrecords_builder.faces import predict_landmarks

        landmarks = predict_landmarks(image, box)
        crop, _, _ = align_face(image, landmarks, self.options.crop_size)
        return landmarks, crop

    def _track(self, image, landmarks, relative, reference):
        # The box from the previous landmarks, refitted; None when the check fails.
        origin, spread = _frame_of(landmarks)
        box = (origin + spread * relative).astype(np.float32)
        fitted, crop = self._fit(image, box)
        if float(appearance(crop) @ reference) < self.min_similarity:
            self.failed_checks += 1
            return None
        return box, fitted, crop

    def _scheduled(self, frames, submit):
        # (source_index, timestamp, image, detection future or None), detect_every ahead.
        pending = collections.deque()
        for count, (source_index, timestamp, image) in enumerate(frames):
            future = submit(image) if count % self.detect_every == 0 else None
            pending.append((source_index, timestamp, image, future))
            if len(pending) > self.detect_every:
                yield pending.popleft()
        yield from pending

    def locate(self, frames):
        """Finds the face of every frame.

        Args:
            frames: iterable of `(source_index, timestamp, rgb uint8 (h, w, 3))`.

        Yields:
            `(source_index, timestamp, box, detected, crop)`: `box` float32 `(4,)` in frame
            pixels and `crop` uint8 `(crop_size, crop_size, 3)`, both None when no face;
            `detected` is True when the detector found the box on this frame.
        """
        from concurrent.futures import ThreadPoolExecutor

        self.detections = self.failed_checks = 0
        relative = reference = landmarks = None  # the track; None when there is none
        held = False  # the last scheduled detection missed and the track was held
        # dlib's detector object is not thread safe: every detection goes through the one
        # worker thread (an unscheduled one waits for it), or all run here.
        executor = ThreadPoolExecutor(1, "kerasfer-detect") if self.prefetch else None

        def submit(image):
            if executor is None:
                return _Done(self._detect, image)
            return executor.submit(self._detect, image)

        try:
            for source_index, timestamp, image, future in self._scheduled(frames, submit):
                tracked = None
                if future is None and landmarks is not None:
                    tracked = self._track(image, landmarks, relative, reference)
                    if tracked is not None:
                        landmarks = tracked[1]
                        yield source_index, timestamp, tracked[0], False, tracked[2]
                        continue
                self.detections += 1
                box = (future or submit(image)).result()
                if box is None:
                    if (future is not None and landmarks is not None and not held
                            and self.detect_every > 1):
                        # A scheduled detection missed a face the track may still hold;
                        # twice in a row drops it (a false positive on a static
                        # background would pass the check forever).
                        tracked = self._track(image, landmarks, relative, reference)
                    held = tracked is not None
                    if tracked is None:
                        landmarks = None
                        yield source_index, timestamp, None, False, None
                        continue
                    landmarks = tracked[1]
                    yield source_index, timestamp, tracked[0], False, tracked[2]
                    continue
                held = False
                landmarks, crop = self._fit(image, box)
                if self.detect_every > 1:  # the track's anchor (unused without tracking)
                    origin, spread = _frame_of(landmarks)
                    relative = (np.asarray(box, np.float64) - origin) / spread
                    reference = appearance(crop)
                yield source_index, timestamp, box, True, crop
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)


class _Done:
    # A synchronous stand-in for a future (prefetch=False): computed when asked.
    def __init__(self, function, *args):
        self._function, self._args = function, args

    def result(self):
        return self._function(*self._args)
