"""`SyntheticVideo` and `render_video`: one procedurally rendered facial-expression video."""

from __future__ import annotations

import dataclasses
from typing import Optional

import cv2
import numpy as np

from kerasfer.data.synthetic.expressions import (AFEW_CLASSES, NUM_ACTIONS,
                                                 POSED_WEAK_SIDE_RANGE, expression_actions)
from kerasfer.data.synthetic.face_identity import FaceIdentity
from kerasfer.data.synthetic.face_renderer import FaceRenderer
from kerasfer.data.synthetic.timeline import VideoTimeline


@dataclasses.dataclass
class SyntheticVideo:
    """A rendered video with its ground truth.

    Args:
        frames: uint8 `(frames, image_size, image_size, 3)`. RGB face crops.
        landmarks: float32 `(frames, 68, 2)`. Landmarks in crop pixels.
        intensity: float32 `(frames,)`. Expression intensity (the frame labels); all 0 for
            Neutral.
        face_present: bool `(frames,)`. False on frames without a face.
        boxes: float32 `(frames, 4)`. Face box `(x0, y0, x1, y1)` of the landmarks in
            source-frame pixels.
        timeline: `VideoTimeline`. Everything that was drawn per frame.
        class_name: str. Expression class.
        posed: bool. Posed (fake) rather than genuine.
        source_frames: uint8 `(frames, canvas, canvas, 3)` or None. The wider source frames
            (crop plus `padding` pixels per side) when rendered with padding.
    """

    frames: np.ndarray
    landmarks: np.ndarray
    intensity: np.ndarray
    face_present: np.ndarray
    boxes: np.ndarray
    timeline: VideoTimeline
    class_name: str
    posed: bool = False
    source_frames: Optional[np.ndarray] = None

    @property
    def apex_frames(self):
        """Indices `(apex_end - apex_start,)` of the apex window."""
        return np.arange(self.timeline.apex_start, self.timeline.apex_end)


def make_background(rng, size):
    """Returns a random uint8 `(size, size, 3)` scene: a gradient wall and a few blurry objects."""
    top, bottom = rng.uniform(30, 220, 3), rng.uniform(30, 220, 3)
    weight = np.linspace(0.0, 1.0, size)[:, None, None]
    image = np.broadcast_to(top * (1 - weight) + bottom * weight, (size, size, 3)).copy()
    for _ in range(int(rng.integers(1, 4))):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 8, size // 2, 2)
        cv2.rectangle(image, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)),
                      tuple(float(v) for v in rng.uniform(20, 235, 3)), -1)
    image = cv2.GaussianBlur(image, (0, 0), max(1.0, size / 80))
    return np.clip(image, 0, 255).astype(np.uint8)


def render_video(class_name="Happy", *, num_frames=48, image_size=112, apex_fraction=0.2,
                 seed=0, identity=None, posed=False, class_names=AFEW_CLASSES,
                 distractors=True, padding=0, renderer=None):
    """Renders one synthetic facial-expression video.

    The expression follows onset → apex → offset with the apex window covering
    `apex_fraction` of the frames (see `VideoTimeline`); the rest is neutral with
    distractors. Deterministic for a seed.

    Args:
        class_name: str. Expression class (see `expressions.class_action_vector`).
            Defaults to "Happy".
        num_frames: int. Video length. Defaults to 48.
        image_size: int. Side of the crops in pixels. Defaults to 112.
        apex_fraction: float. Fraction of frames in the apex window. Defaults to 0.2.
        seed: int or sequence of int. Seed of `np.random.default_rng`. Defaults to 0.
        identity: `FaceIdentity` or None. Subject; drawn from the seed when None.
        posed: bool. Posed rendition (less eye involvement, asymmetric, fast onset).
            Defaults to False.
        class_names: sequence of str. Classes a distractor expression segment may show (the
            video's own class and "Neutral" are skipped). Defaults to the AFEW classes.
        distractors: bool. Occlusion, lighting change, other expression, missing face,
            blinks. Defaults to True.
        padding: int. Also render wider source frames with this many extra pixels per
            side (`source_frames`, and `boxes` in their coordinates). Defaults to 0.
        renderer: `FaceRenderer` or None. Reused across videos when given (must match
            `image_size` and `padding`).

    Returns:
        `SyntheticVideo`.

    Example:

    >>> video = render_video("Surprise", num_frames=30, image_size=64, seed=1)
    >>> video.frames.shape, video.landmarks.shape, video.intensity.shape
    ((30, 64, 64, 3), (30, 68, 2), (30,))
    """
    rng = np.random.default_rng(seed)
    if identity is None:
        identity = FaceIdentity.sample(rng, NUM_ACTIONS)
    if renderer is None:
        renderer = FaceRenderer(image_size, padding=padding)
    elif renderer.image_size != image_size or renderer.padding != padding:
        raise ValueError("`renderer` must match `image_size` and `padding`. Received: "
                         f"renderer.image_size={renderer.image_size}, "
                         f"renderer.padding={renderer.padding}")
    pool = [name for name in class_names
            if name != class_name and name.strip().lower() != "neutral"]
    timeline = VideoTimeline.sample(rng, num_frames, apex_fraction=apex_fraction, posed=posed,
                                    distractor_classes=list(range(len(pool))),
                                    distractors=distractors)
    weak_side = int(rng.integers(0, 2))
    weak_scale = rng.uniform(*POSED_WEAK_SIDE_RANGE) if posed else rng.uniform(0.95, 1.0)
    # Actions are linear in intensity: compute the apex configuration once per class.
    apex_actions = expression_actions(class_name, 1.0, posed=posed, weak_side=weak_side,
                                      weak_side_scale=weak_scale)
    distractor_actions = [expression_actions(name, 1.0) for name in pool]
    background = make_background(rng, renderer.canvas_size)
    hand = tuple(np.asarray(identity.skin) * 0.92)

    length = timeline.num_frames
    size, canvas = renderer.image_size, renderer.canvas_size
    frames = np.empty((length, size, size, 3), np.uint8)
    source = np.empty((length, canvas, canvas, 3), np.uint8) if padding else None
    landmarks = np.empty((length, 68, 2), np.float32)
    for t in range(length):
        actions = timeline.intensity[t] * apex_actions
        if timeline.distractor_class[t] >= 0:
            actions = actions + timeline.distractor_intensity[t] * distractor_actions[
                timeline.distractor_class[t]]
        occluder = None
        if timeline.occluder[t] >= 0:
            occluder = timeline.occluders[timeline.occluder[t]]
            if occluder[-1] is None:
                occluder = occluder[:-1] + (hand,)
        image, points = renderer.render(
            identity, actions, pose=timeline.pose[t], blink=float(timeline.blink[t]),
            gain=float(timeline.gain[t]), light_gradient=float(timeline.light_gradient[t]),
            occluder=occluder, face_present=bool(timeline.face_present[t]),
            background=background)
        if padding:
            source[t] = image
            frames[t] = image[padding:padding + size, padding:padding + size]
        else:
            frames[t] = image
        landmarks[t] = points
    boxes = np.concatenate([landmarks.min(axis=1), landmarks.max(axis=1)], axis=1)
    landmarks -= np.float32(padding)
    # Neutral shows no expression, so its frame labels are 0 whatever the timeline says.
    expressive = bool(np.abs(apex_actions).max() > 0)
    intensity = timeline.intensity * np.float32(expressive)
    return SyntheticVideo(
        frames=frames, landmarks=landmarks, intensity=intensity,
        face_present=timeline.face_present.copy(), boxes=boxes.astype(np.float32),
        timeline=timeline, class_name=str(class_name), posed=bool(posed),
        source_frames=source)
