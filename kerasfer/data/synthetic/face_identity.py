"""`FaceIdentity`: the fixed appearance of one synthetic subject."""

from __future__ import annotations

import dataclasses

import numpy as np

# Skin tones from light to dark (RGB); a subject's tone is a random mix of two neighbours.
_SKIN_TONES = np.array([
    [241, 206, 182], [224, 178, 148], [198, 144, 110], [160, 110, 78], [118, 80, 56],
    [88, 58, 42],
], np.float32)
_HAIR_COLOURS = np.array([
    [28, 22, 20], [60, 40, 28], [110, 75, 45], [180, 140, 80], [150, 150, 150], [90, 30, 20],
], np.float32)
_IRIS_COLOURS = np.array([[60, 40, 25], [90, 60, 35], [70, 100, 140], [80, 110, 70]],
                         np.float32)


@dataclasses.dataclass
class FaceIdentity:
    """Per-subject face geometry and colours, in face units (half face width ≈ 1).

    The face frame has its origin between the eyes' height and the mouth, x to the image
    right, y down. `FaceRenderer` maps it to pixels.

    Args:
        face_width: float. Half width of the face at the cheekbones.
        face_height: float. Distance from the origin to the chin.
        head_top: float. Distance from the origin to the top of the head.
        jaw_squareness: float. 0 for an oval jaw, 1 for a square one.
        eye_y: float. Height of the eye centres (negative: above the origin).
        eye_spacing: float. Half the distance between the eye centres.
        eye_width: float. Half width of an eye.
        eye_height: float. Half height of an open eye at rest.
        brow_gap: float. Distance from the eye centre up to the brow.
        brow_thickness: float. Thickness of the brows.
        nose_y: float. Height of the nose tip.
        nose_width: float. Half width of the nostrils.
        mouth_y: float. Height of the mouth.
        mouth_width: float. Half width of the mouth.
        lip_thickness: float. Thickness of each lip.
        hairline: float. Height of the hairline (negative, above the brows).
        skin: tuple of 3 floats. Skin RGB.
        hair: tuple of 3 floats. Hair and brow RGB.
        iris: tuple of 3 floats. Iris RGB.
        lips: tuple of 3 floats. Lip RGB.
        resting_actions: tuple of floats. The subject's small habitual expression offsets,
            one per `ACTION_NAMES` entry.

    Example:

    >>> identity = FaceIdentity.sample(np.random.default_rng(0))
    >>> 0.8 < identity.face_width < 1.05
    True
    """

    face_width: float
    face_height: float
    head_top: float
    jaw_squareness: float
    eye_y: float
    eye_spacing: float
    eye_width: float
    eye_height: float
    brow_gap: float
    brow_thickness: float
    nose_y: float
    nose_width: float
    mouth_y: float
    mouth_width: float
    lip_thickness: float
    hairline: float
    skin: tuple
    hair: tuple
    iris: tuple
    lips: tuple
    resting_actions: tuple

    @classmethod
    def sample(cls, rng, num_actions=12):
        """Draws a random identity.

        Args:
            rng: `np.random.Generator`. Source of randomness.
            num_actions: int. Length of `resting_actions`. Defaults to 12.

        Returns:
            `FaceIdentity`.
        """
        tone = rng.uniform(0, len(_SKIN_TONES) - 1)
        low = int(np.floor(tone))
        high = min(low + 1, len(_SKIN_TONES) - 1)
        weight = tone - low
        skin = _SKIN_TONES[low] * (1 - weight) + _SKIN_TONES[high] * weight
        skin = np.clip(skin + rng.normal(0, 6, 3), 0, 255)
        hair = np.clip(_HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] + rng.normal(0, 8, 3),
                       0, 255)
        iris = _IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))]
        lips = np.clip(skin * np.array([0.85, 0.55, 0.55]) + np.array([25, 0, 5]), 0, 255)
        resting = rng.normal(0, 0.04, num_actions).clip(-0.08, 0.08)
        return cls(
            face_width=rng.uniform(0.86, 1.0),
            face_height=rng.uniform(1.12, 1.3),
            head_top=rng.uniform(1.3, 1.45),
            jaw_squareness=rng.uniform(0.0, 1.0),
            eye_y=rng.uniform(-0.38, -0.28),
            eye_spacing=rng.uniform(0.36, 0.44),
            eye_width=rng.uniform(0.15, 0.19),
            eye_height=rng.uniform(0.065, 0.085),
            brow_gap=rng.uniform(0.16, 0.22),
            brow_thickness=rng.uniform(0.045, 0.075),
            nose_y=rng.uniform(0.08, 0.18),
            nose_width=rng.uniform(0.13, 0.18),
            mouth_y=rng.uniform(0.5, 0.6),
            mouth_width=rng.uniform(0.25, 0.32),
            lip_thickness=rng.uniform(0.05, 0.075),
            hairline=rng.uniform(-1.08, -0.95),
            skin=tuple(float(v) for v in skin),
            hair=tuple(float(v) for v in hair),
            iris=tuple(float(v) for v in iris),
            lips=tuple(float(v) for v in lips),
            resting_actions=tuple(float(v) for v in resting),
        )
