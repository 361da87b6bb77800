"""Similarity alignment of 68 dlib landmarks onto a canonical 5-point face template.

Five alignment points are taken from the 68-point (iBUG 300-W) layout: the two eye centres
(means of points 36–41 and 42–47), the nose tip (30) and the mouth corners (48, 54). A
similarity transform (rotation, uniform scale, translation; 4 degrees of freedom) is fitted
to them by weighted least squares with Umeyama's closed form (Umeyama 1991, Eq. 40–42;
eyes weighted 4×, see `ALIGNMENT_WEIGHTS`), and the frame is warped into a square crop of
any size.

The template. The ArcFace / insightface 5-point template for 112×112 crops (Deng et al.,
CVPR 2019) is a standard, but tight: on dlib landmarks the chin falls ~11 px *below* a
112 px crop. `TEMPLATE` is that template scaled by 0.85 (horizontally about the crop
centre) and moved so that, measured on the mean dlib landmarks of `carphone_pristine.mp4`,
the top of the brows sits at ~17 px and the chin at ~90 px of a 112 px crop (margins ~15 %
and ~20 %), and the jaw spans ~23–89 px. Coordinates are stored as fractions of the crop
side so any `crop_size` works: at 112 px the eye centres are (40.95, 29.40) and
(70.90, 29.24), the nose tip (56.02, 46.46), the mouth corners (43.71, 63.97) and
(68.52, 63.83).

Example:

>>> crop, crop_landmarks, matrix = align_face(rgb, landmarks, crop_size=112)
>>> crop.shape
(112, 112, 3)
"""

from __future__ import annotations

import numpy as np

_ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]], np.float64)
_TEMPLATE_SCALE = 0.85
# Brow top of carphone's mean aligned landmarks in the ArcFace frame (37.0 px) → 17 px.
_TEMPLATE_112 = np.stack([
    _TEMPLATE_SCALE * (_ARCFACE_112[:, 0] - 56.0) + 56.0,
    _TEMPLATE_SCALE * (_ARCFACE_112[:, 1] - 37.0) + 17.0,
], axis=1)
TEMPLATE = (_TEMPLATE_112 / 112.0).astype(np.float32)
"""float32 `(5, 2)`: left eye centre, right eye centre, nose tip, left and right mouth
corner, as fractions of the crop side (x right, y down; "left" = image left)."""

# Eye centres are the most stable landmarks and define the in-plane rotation, while the
# mouth corners move with the expression being recognised (a smile pulls them up and out).
# Weighting each eye 4× (8/11 of the total weight) keeps the alignment from following the
# mouth; on carphone the aligned eye centres stay within 2.5 px of the template at 112 px
# (within 4.8 px with equal weights).
ALIGNMENT_WEIGHTS = np.array([4.0, 4.0, 1.0, 1.0, 1.0])
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
NOSE_TIP = 30
MOUTH_LEFT = 48
MOUTH_RIGHT = 54


def template_points(crop_size):
    """Returns the template `(5, 2)` in pixels of a `crop_size` crop."""
    return TEMPLATE.astype(np.float64) * float(crop_size)


def alignment_points(landmarks):
    """Returns the 5 alignment points `(5, 2)` of 68 landmarks `(68, 2)`."""
    landmarks = np.asarray(landmarks, np.float64)
    return np.stack([
        landmarks[LEFT_EYE].mean(axis=0),
        landmarks[RIGHT_EYE].mean(axis=0),
        landmarks[NOSE_TIP],
        landmarks[MOUTH_LEFT],
        landmarks[MOUTH_RIGHT],
    ])


def similarity_transform(source, target, weights=None):
    """Least-squares similarity transform mapping `source` points onto `target` points.

    Umeyama (1991), Eq. 40–42, with optional per-point weights; reflections are excluded.

    Args:
        source: array `(points, 2)`.
        target: array `(points, 2)`.
        weights: array `(points,)` or None. Non-negative weights. Defaults to None (equal).

    Returns:
        float64 `(2, 3)` matrix `M` with `target ≈ source @ M[:, :2].T + M[:, 2]`.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    weights = np.ones(len(source)) if weights is None else np.asarray(weights, np.float64)
    weights = weights / weights.sum()
    mean_source = weights @ source
    mean_target = weights @ target
    centred_source = source - mean_source
    centred_target = target - mean_target
    covariance = (centred_target * weights[:, None]).T @ centred_source
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = weights @ (centred_source ** 2).sum(axis=1)
    scale = np.trace(np.diag(singular) @ sign) / variance if variance > 0 else 1.0
    translation = mean_target - scale * rotation @ mean_source
    return np.concatenate([scale * rotation, translation[:, None]], axis=1)


def transform_points(points, matrix):
    """Applies a `(2, 3)` affine matrix to points `(..., 2)`."""
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def align_face(image, landmarks, crop_size=112):
    """Warps a frame so that the face's alignment points land on `TEMPLATE`.

    Args:
        image: uint8 `(height, width, 3)`. The full-resolution frame.
        landmarks: array `(68, 2)`. Landmarks in frame pixels.
        crop_size: int. Side of the square crop. Defaults to 112.

    Returns:
        `(crop, crop_landmarks, matrix)`: uint8 `(crop_size, crop_size, 3)`, float32
        `(68, 2)` landmarks in crop pixels and the float64 `(2, 3)` frame→crop matrix.
    """
    import cv2

    matrix = similarity_transform(alignment_points(landmarks), template_points(crop_size),
                                  ALIGNMENT_WEIGHTS)
    crop = cv2.warpAffine(image, matrix, (crop_size, crop_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, transform_points(landmarks, matrix).astype(np.float32), matrix


def resize_face(image, landmarks, crop_size=112):
    """Resizes a whole (already cropped) frame to the crop, for `detector="none"`.

    Args:
        image: uint8 `(height, width, 3)`.
        landmarks: array `(68, 2)` in frame pixels.
        crop_size: int. Side of the square output. Defaults to 112.

    Returns:
        Same triple as `align_face` (the matrix is a pure axis scaling).
    """
    import cv2

    height, width = image.shape[:2]
    matrix = np.array([[crop_size / width, 0.0, 0.0], [0.0, crop_size / height, 0.0]])
    interpolation = cv2.INTER_AREA if min(height, width) > crop_size else cv2.INTER_LINEAR
    crop = cv2.resize(image, (crop_size, crop_size), interpolation=interpolation)
    return crop, transform_points(landmarks, matrix).astype(np.float32), matrix
