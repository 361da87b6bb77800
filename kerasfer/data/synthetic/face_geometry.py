"""Face geometry: 68 iBUG landmarks plus drawing points from an identity and facial actions.

Everything here is in face units (see `FaceIdentity`); `FaceRenderer` maps the points to
pixels and draws them, so the stored landmarks are exactly the points the features are
drawn from. Landmark order is the 68-point iBUG / dlib layout: jaw 0-16, brows 17-26,
nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67; "left" means image-left.
"""

from __future__ import annotations

import numpy as np

from kerasfer.data.synthetic.expressions import ACTION_INDEX

NUM_TOP_POINTS = 15
NUM_HAIRLINE_POINTS = 9
# Slices of the array returned by `face_points`.
LANDMARKS = slice(0, 68)
HEAD_TOP = slice(68, 68 + NUM_TOP_POINTS)
HAIR_OUTER = slice(HEAD_TOP.stop, HEAD_TOP.stop + NUM_TOP_POINTS)
HAIRLINE = slice(HAIR_OUTER.stop, HAIR_OUTER.stop + NUM_HAIRLINE_POINTS)
BROW_LOWER_EDGE = slice(HAIRLINE.stop, HAIRLINE.stop + 10)
IRIS_CENTRES = slice(BROW_LOWER_EDGE.stop, BROW_LOWER_EDGE.stop + 2)
EARS = slice(IRIS_CENTRES.stop, IRIS_CENTRES.stop + 2)
NUM_POINTS = EARS.stop


def _action(actions, name, side):
    return float(actions[ACTION_INDEX[name], side])


_JAW_ANGLES = np.linspace(0.0, np.pi, 17)
_TOP_ANGLES = np.linspace(0.0, np.pi, NUM_TOP_POINTS)
_BROW_T = np.linspace(-1.0, 1.0, 5)
_NOSE_DEPTH = 0.3 * np.linspace(0.3, 1.0, 9)


def _jaw(identity, mouth_open):
    phi = _JAW_ANGLES
    power = 1.0 - 0.45 * identity.jaw_squareness
    cos, sin = np.cos(phi), np.sin(phi)
    ear_y = identity.eye_y + 0.05
    x = -identity.face_width * np.sign(cos) * np.abs(cos) ** power
    y = ear_y + (identity.face_height - ear_y) * np.abs(sin) ** power
    # The chin follows the jaw drop; the jaw hinge near the ears barely moves.
    y = y + 0.22 * mouth_open * sin ** 3
    return np.stack([x, y], axis=1)


def _head_top(identity, scale=1.0):
    phi = _TOP_ANGLES
    ear_y = identity.eye_y + 0.05
    x = identity.face_width * 1.02 * scale * np.cos(phi)
    y = ear_y - (identity.head_top * scale + ear_y) * np.sin(phi)
    return np.stack([x, y], axis=1)


def _hairline(identity):
    x = np.linspace(-identity.face_width * 0.97, identity.face_width * 0.97,
                    NUM_HAIRLINE_POINTS)
    t = x / identity.face_width
    y = identity.hairline + 0.45 * t ** 4 + 0.05 * t ** 2
    return np.stack([x, y], axis=1)


def _brows(identity, actions):
    upper, lower = [], []
    t = _BROW_T
    for side, centre_x in ((0, -identity.eye_spacing), (1, identity.eye_spacing)):
        inner = (t + 1) / 2 if side == 0 else (1 - t) / 2
        raise_ = _action(actions, "brow_raise", side)
        inner_raise = _action(actions, "inner_brow_raise", side)
        lower_ = _action(actions, "brow_lower", side)
        x = centre_x + t * 1.2 * identity.eye_width
        x = x - np.sign(centre_x) * 0.05 * inner * lower_
        y = (identity.eye_y - identity.brow_gap - 0.05 * (1 - t ** 2)
             - 0.13 * raise_ - 0.14 * inner ** 1.5 * inner_raise + (0.1 * inner + 0.03) * lower_)
        thickness = identity.brow_thickness * (0.55 + 0.45 * np.sqrt(1 - 0.9 * t ** 2))
        upper.append(np.stack([x, y], axis=1))
        lower.append(np.stack([x, y + thickness], axis=1))
    return np.concatenate(upper), np.concatenate(lower)


def _eyes(identity, actions, blink):
    points, irises = [], []
    for side, centre_x in ((0, -identity.eye_spacing), (1, identity.eye_spacing)):
        lid_raise = _action(actions, "upper_lid_raise", side)
        tighten = _action(actions, "lid_tighten", side)
        cheek = _action(actions, "cheek_raise", side)
        height = identity.eye_height
        upper = height * max(0.08, 1 + 0.9 * lid_raise - 0.45 * tighten - 0.25 * cheek)
        lower = height * 0.85 * max(0.08, 1 - 0.6 * cheek - 0.35 * tighten + 0.2 * lid_raise)
        closed_y = identity.eye_y + 0.3 * height
        top = (1 - blink) * (identity.eye_y - upper) + blink * closed_y
        bottom = (1 - blink) * (identity.eye_y + lower) + blink * (closed_y + 0.004)
        width = identity.eye_width
        corner_y = identity.eye_y - 0.06 * cheek * height
        # iBUG order for both eyes: image-left corner, upper lid, image-right corner, lower lid.
        xs = centre_x + width * np.array([-1, -1 / 3, 1 / 3, 1, 1 / 3, -1 / 3])
        ys = np.array([corner_y, top, top, corner_y, bottom, bottom])
        points.append(np.stack([xs, ys], axis=1))
        irises.append([centre_x, identity.eye_y + 0.1 * height])
    return np.concatenate(points), np.array(irises)


def _nose(identity, actions):
    wrinkle = 0.5 * (_action(actions, "nose_wrinkle", 0) + _action(actions, "nose_wrinkle", 1))
    lip_raise = 0.5 * (_action(actions, "upper_lip_raise", 0)
                       + _action(actions, "upper_lip_raise", 1))
    top = identity.eye_y + 0.02
    bridge_y = np.linspace(top, identity.nose_y - 0.03, 4)
    bridge = np.stack([np.zeros(4), bridge_y], axis=1)
    width = identity.nose_width * (1 + 0.2 * wrinkle)
    lift = 0.05 * wrinkle + 0.02 * lip_raise
    xs = width * np.array([-1, -0.5, 0, 0.5, 1])
    ys = identity.nose_y - lift + np.array([0.0, 0.035, 0.05, 0.035, 0.0])
    return np.concatenate([bridge, np.stack([xs, ys], axis=1)])


def _mouth(identity, actions):
    corner_x, corner_y = [], []
    for side, sign in ((0, -1.0), (1, 1.0)):
        pull = _action(actions, "lip_corner_pull", side)
        depress = _action(actions, "lip_corner_depress", side)
        stretch = _action(actions, "lip_stretch", side)
        corner_x.append(sign * identity.mouth_width * (1 + 0.22 * pull + 0.3 * stretch))
        corner_y.append(identity.mouth_y - 0.12 * pull + 0.11 * depress)
    mean = lambda name: 0.5 * (_action(actions, name, 0) + _action(actions, name, 1))  # noqa
    opening = max(0.0, 0.3 * mean("mouth_open") + 0.04 * mean("upper_lip_raise")
                  + 0.03 * max(0.0, mean("lip_stretch")))
    lip = identity.lip_thickness * (1 - 0.45 * max(0.0, -mean("lip_stretch")))
    lip_raise = mean("upper_lip_raise")

    def base(r):
        # Mouth line: the corner heights blend into the centre height with r**2.
        side = (r > 0).astype(int)
        corner = np.asarray(corner_y)[side]
        weight = r ** 2
        x = np.where(r > 0, r * corner_x[1], -r * corner_x[0])
        return x, (1 - weight) * identity.mouth_y + weight * corner

    r_outer_top = np.array([-1, -0.62, -0.25, 0, 0.25, 0.62, 1])  # 48..54
    x, y = base(r_outer_top)
    profile = np.array([0, 0.8, 1.0, 0.85, 1.0, 0.8, 0])
    upper_outer = np.stack([x, y - lip * profile - 0.07 * lip_raise * (1 - r_outer_top ** 2)],
                           axis=1)
    r_outer_bottom = np.array([0.62, 0.25, 0, -0.25, -0.62])  # 55..59
    x, y = base(r_outer_bottom)
    bulge = (1 - r_outer_bottom ** 2) ** 0.7
    lower_outer = np.stack([x, y + opening * bulge + 1.15 * lip * bulge], axis=1)
    inner_scale = 0.92
    r_inner_top = np.array([-1, -0.45, 0, 0.45, 1]) * inner_scale  # 60..64
    x, y = base(r_inner_top)
    upper_inner = np.stack([x, y - 0.07 * lip_raise * (1 - r_inner_top ** 2)
                            - 0.1 * opening * (1 - r_inner_top ** 2)], axis=1)
    r_inner_bottom = np.array([0.45, 0, -0.45]) * inner_scale  # 65..67
    x, y = base(r_inner_bottom)
    lower_inner = np.stack([x, y + opening * (1 - r_inner_bottom ** 2) ** 0.7], axis=1)
    return np.concatenate([upper_outer, lower_outer, upper_inner, lower_inner]), opening


def _ears(identity):
    return np.array([[-identity.face_width * 1.02, identity.eye_y + 0.2],
                     [identity.face_width * 1.02, identity.eye_y + 0.2]])


def _static_points(identity):
    # Head outline, hair and hairline only depend on the identity: computed once per
    # subject and kept on the instance (a video renders the same subject 24-128 times).
    key = (identity.face_width, identity.eye_y, identity.head_top, identity.hairline)
    cached = getattr(identity, "_static_points_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, np.concatenate([_head_top(identity), _head_top(identity, 1.07),
                                       _hairline(identity)]))
        identity._static_points_cache = cached
    return cached[1]


def face_points(identity, actions, blink=0.0):
    """Returns all points of a face in face units, and the mouth opening.

    Args:
        identity: `FaceIdentity`.
        actions: float array `(NUM_ACTIONS, 2)`. Per-side action intensities
            (`expressions.expression_actions`), added to the identity's resting offsets.
        blink: float. Eyelid closure in [0, 1]. Defaults to 0.0.

    Returns:
        tuple `(points, depth, mouth_opening)`: float64 `(NUM_POINTS, 2)` with the 68
        landmarks first (see the slice constants of this module), float64 `(NUM_POINTS,)`
        depth towards the camera used for head yaw, and the mouth opening in face units.
    """
    actions = np.asarray(actions, np.float64) + np.asarray(identity.resting_actions)[:, None]
    mouth_open = 0.5 * (_action(actions, "mouth_open", 0) + _action(actions, "mouth_open", 1))
    jaw = _jaw(identity, max(0.0, mouth_open))
    brows, brow_lower_edge = _brows(identity, actions)
    nose = _nose(identity, actions)
    eyes, irises = _eyes(identity, actions, float(blink))
    mouth, opening = _mouth(identity, actions)
    points = np.concatenate([
        jaw, brows, nose, eyes, mouth, _static_points(identity), brow_lower_edge, irises,
        _ears(identity),
    ])
    ratio = np.clip(points[:, 0] / identity.face_width, -1.0, 1.0)
    depth = 0.55 * np.sqrt(1.0 - ratio ** 2)
    depth[27:36] += _NOSE_DEPTH
    return points, depth, opening
