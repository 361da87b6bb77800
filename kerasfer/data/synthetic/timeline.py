"""`VideoTimeline`: per-frame expression intensity, head pose, lighting and distractors.

A video is mostly neutral; its expression follows onset → apex → offset, and the apex
window covers `apex_fraction` of the frames (default 20 %) at a uniformly random position.
That is the situation the temporal stochastic softmax sampler of the thesis (Ch. 3) is
built for: a clip of F frames only carries the label when it overlaps the apex.

Distractors, drawn independently per video: head jitter (always, random amplitude),
blinks, an illumination change (a step or a ramp in gain and side light), an occluder
(a hand-like ellipse) for a segment, a short low-intensity segment of another expression,
and a few frames without a face.

Genuine versus posed (see `expressions.py` for the spatial differences): posed onsets take
`POSED_ONSET_RANGE` of the video instead of `GENUINE_ONSET_RANGE` (fast, abrupt), and
posed offsets are shorter too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

GENUINE_ONSET_RANGE = (0.1, 0.16)
POSED_ONSET_RANGE = (0.02, 0.045)
GENUINE_OFFSET_RANGE = (0.1, 0.16)
POSED_OFFSET_RANGE = (0.04, 0.08)


def _ramp(length):
    # Raised cosine from 0 to 1 (exclusive of both ends): smooth onset shape.
    t = np.arange(1, length + 1, dtype=np.float64) / (length + 1)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def _smooth_noise(rng, num_frames, amplitude):
    # Two random low-frequency sinusoids plus a little white noise: natural head motion.
    t = np.arange(num_frames, dtype=np.float64)
    signal = np.zeros(num_frames)
    for _ in range(2):
        period = rng.uniform(20, 90)
        signal += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3))
    signal += rng.normal(0, 0.15, num_frames)
    return amplitude * signal / 2.0


@dataclasses.dataclass
class VideoTimeline:
    """Everything that changes over the frames of one synthetic video.

    Args:
        intensity: float32 `(frames,)`. Intensity in [0, 1] of the video's expression; the
            frame labels (like PSPI for UNBC).
        onset_start: int. First frame of the onset.
        apex_start: int. First frame of the apex window.
        apex_end: int. One past the last apex frame.
        offset_end: int. One past the last offset frame.
        distractor_class: int32 `(frames,)`. Index (into the generator's class list) of a
            distractor expression shown at that frame, -1 for none.
        distractor_intensity: float32 `(frames,)`. Its intensity.
        blink: float32 `(frames,)`. Eyelid closure in [0, 1].
        pose: float32 `(frames, 5)`. Head pose `(dx, dy, roll, yaw, scale)`.
        gain: float32 `(frames,)`. Illumination gain.
        light_gradient: float32 `(frames,)`. Left-right illumination slope.
        occluder: int32 `(frames,)`. Index into `occluders`, -1 for none.
        occluders: list of tuples `(x, y, radius_x, radius_y, angle, rgb)`.
        face_present: bool `(frames,)`. False where the face left the frame.
        posed: bool. Posed (fake) rather than genuine.

    Example:

    >>> timeline = VideoTimeline.sample(np.random.default_rng(0), 50)
    >>> timeline.apex_end - timeline.apex_start
    10
    """

    intensity: np.ndarray
    onset_start: int
    apex_start: int
    apex_end: int
    offset_end: int
    distractor_class: np.ndarray
    distractor_intensity: np.ndarray
    blink: np.ndarray
    pose: np.ndarray
    gain: np.ndarray
    light_gradient: np.ndarray
    occluder: np.ndarray
    occluders: list
    face_present: np.ndarray
    posed: bool = False

    @property
    def num_frames(self):
        return int(self.intensity.shape[0])

    @classmethod
    def sample(cls, rng, num_frames, *, apex_fraction=0.2, posed=False,
               distractor_classes=(), distractors=True):
        """Draws a timeline.

        Args:
            rng: `np.random.Generator`.
            num_frames: int. Video length L (≥ 3).
            apex_fraction: float. Fraction of the frames in the apex window, in (0, 1].
                Defaults to 0.2.
            posed: bool. Posed timing (fast onset and offset). Defaults to False.
            distractor_classes: sequence of int. Class indices a distractor expression
                segment may show; empty for none. Defaults to ().
            distractors: bool. Draw distractors (occlusion, lighting change, other
                expression, missing face, blinks); head jitter is always on.
                Defaults to True.

        Returns:
            `VideoTimeline`.
        """
        if int(num_frames) < 3:
            raise ValueError(f"`num_frames` must be at least 3. Received: num_frames={num_frames}")
        if not 0.0 < float(apex_fraction) <= 1.0:
            raise ValueError("`apex_fraction` must be in (0, 1]. "
                             f"Received: apex_fraction={apex_fraction}")
        length = int(num_frames)
        apex = max(1, int(round(apex_fraction * length)))
        onset_range = POSED_ONSET_RANGE if posed else GENUINE_ONSET_RANGE
        offset_range = POSED_OFFSET_RANGE if posed else GENUINE_OFFSET_RANGE
        onset = max(1, int(round(rng.uniform(*onset_range) * length)))
        offset = max(1, int(round(rng.uniform(*offset_range) * length)))
        spare = length - apex
        if onset + offset > spare:
            # Short videos or a large apex fraction: shrink onset and offset proportionally.
            onset = spare * onset // (onset + offset)
            offset = spare - onset
        onset_start = int(rng.integers(0, length - (onset + apex + offset) + 1))
        apex_start = onset_start + onset
        apex_end = apex_start + apex
        offset_end = apex_end + offset

        level = rng.uniform(0.8, 1.0)
        intensity = np.zeros(length)
        # The apex window is the most intense part: ramps stop below its lowest value.
        intensity[onset_start:apex_start] = (level - 0.08) * _ramp(onset)
        intensity[apex_start:apex_end] = np.clip(level + rng.normal(0, 0.03, apex),
                                                 level - 0.05, 1.0)
        intensity[apex_end:offset_end] = (level - 0.08) * _ramp(offset)[::-1]

        amplitude = rng.uniform(0.3, 1.5)
        pose = np.stack([
            _smooth_noise(rng, length, 0.05 * amplitude),
            _smooth_noise(rng, length, 0.04 * amplitude),
            _smooth_noise(rng, length, 0.07 * amplitude),
            _smooth_noise(rng, length, 0.15 * amplitude),
            1.0 + _smooth_noise(rng, length, 0.03 * amplitude),
        ], axis=1)

        distractor_class = np.full(length, -1, np.int32)
        distractor_intensity = np.zeros(length)
        blink = np.zeros(length)
        gain = np.full(length, rng.uniform(0.85, 1.15))
        light_gradient = np.full(length, rng.uniform(-0.1, 0.1))
        occluder = np.full(length, -1, np.int32)
        occluders = []
        face_present = np.ones(length, bool)
        if distractors:
            for start in np.flatnonzero(rng.random(length) < 0.015):
                blink[start:start + 3] = np.maximum(blink[start:start + 3],
                                                    [0.6, 1.0, 0.6][: len(blink[start:start + 3])])
            if rng.random() < 0.5:
                change = int(rng.integers(0, length))
                ramp = int(rng.integers(1, max(2, length // 4)))
                weight = np.clip((np.arange(length) - change) / ramp, 0.0, 1.0)
                gain += weight * (rng.uniform(0.6, 1.3) - gain[0])
                light_gradient += weight * rng.uniform(-0.35, 0.35)
            if rng.random() < 0.4:
                span = max(1, int(rng.uniform(0.05, 0.2) * length))
                start = int(rng.integers(0, length - span + 1))
                occluder[start:start + span] = 0
                colour = rng.uniform(40, 230, 3) if rng.random() < 0.5 else None
                occluders.append((rng.uniform(-0.6, 0.6), rng.uniform(-0.4, 0.8),
                                  rng.uniform(0.25, 0.5), rng.uniform(0.2, 0.4),
                                  rng.uniform(0, 180), colour))
            if len(distractor_classes) and rng.random() < 0.4:
                # Keep the other expression away from the main event.
                free = np.ones(length, bool)
                free[max(0, onset_start - 2):offset_end + 2] = False
                span = int(rng.integers(3, max(4, int(0.08 * length)) + 1))
                window = np.convolve(free, np.ones(span), mode="valid")
                starts = np.flatnonzero(window == span)
                if len(starts):
                    start = int(rng.choice(starts))
                    distractor_class[start:start + span] = int(rng.choice(distractor_classes))
                    distractor_intensity[start:start + span] = rng.uniform(0.3, 0.6) * np.sin(
                        np.pi * (np.arange(span) + 1) / (span + 1))
            if rng.random() < 0.25:
                span = int(rng.integers(1, 4))
                start = int(rng.integers(0, length - span + 1))
                face_present[start:start + span] = False
        return cls(
            intensity=intensity.astype(np.float32),
            onset_start=onset_start, apex_start=apex_start, apex_end=apex_end,
            offset_end=offset_end,
            distractor_class=distractor_class,
            distractor_intensity=distractor_intensity.astype(np.float32),
            blink=blink.astype(np.float32), pose=pose.astype(np.float32),
            gain=gain.astype(np.float32), light_gradient=light_gradient.astype(np.float32),
            occluder=occluder, occluders=occluders, face_present=face_present,
            posed=bool(posed),
        )
