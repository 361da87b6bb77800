"""`FaceRenderer`: draws a synthetic face with OpenCV at the target size."""

from __future__ import annotations

import cv2
import numpy as np

from kerasfer.data.synthetic import face_geometry as geo
from kerasfer.data.synthetic.expressions import ACTION_INDEX

# Sub-pixel precision of OpenCV drawing: coordinates are passed as integers times 2**_SHIFT.
_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


def _shade(colour, factor):
    return tuple(float(min(255.0, max(0.0, c * factor))) for c in colour)


def _mix(colour, other, weight):
    return tuple(float((1 - weight) * a + weight * b) for a, b in zip(colour, other))


class FaceRenderer:
    """Renders RGB face images and their 68 landmarks from an identity and facial actions.

    Drawing uses OpenCV primitives with anti-aliasing and sub-pixel coordinates directly at
    the output size (no supersampling), which is what makes the generator fast. The drawn
    features are built from the same points that are returned as landmarks, so landmarks
    follow the rendered brows, eyes, nose, mouth and jaw exactly.

    Args:
        image_size: int. Side of the face crop in pixels. Defaults to 112.
        padding: int. Extra background on every side of the crop, for a wider "source"
            frame (mp4 output); the canvas side is `image_size + 2 * padding`. Defaults to 0.
        face_scale: float. Pixels per face unit as a fraction of `image_size`.
            Defaults to 0.32.
        face_centre: tuple of 2 floats. Face origin inside the crop as fractions of
            `image_size`. Defaults to (0.5, 0.5).

    Example:

    >>> from kerasfer.data.synthetic.face_identity import FaceIdentity
    >>> renderer = FaceRenderer(112)
    >>> identity = FaceIdentity.sample(np.random.default_rng(0))
    >>> image, landmarks = renderer.render(identity, np.zeros((12, 2)))
    >>> image.shape, landmarks.shape
    ((112, 112, 3), (68, 2))
    """

    def __init__(self, image_size=112, padding=0, face_scale=0.32, face_centre=(0.5, 0.5)):
        if int(image_size) < 16:
            raise ValueError(f"`image_size` must be at least 16. Received: image_size={image_size}")
        if int(padding) < 0:
            raise ValueError(f"`padding` must be >= 0. Received: padding={padding}")
        self.image_size = int(image_size)
        self.padding = int(padding)
        self.face_scale = float(face_scale)
        self.face_centre = tuple(float(v) for v in face_centre)
        self.canvas_size = self.image_size + 2 * self.padding
        ramp = np.linspace(-1.0, 1.0, self.canvas_size, dtype=np.float32)
        self._ramp = np.broadcast_to(ramp[None, :, None], (self.canvas_size, self.canvas_size, 1))

    def project(self, points, depth, pose=(0.0, 0.0, 0.0, 0.0, 1.0)):
        """Maps face-unit points to canvas pixels under a head pose.

        Args:
            points: float array `(N, 2)` in face units.
            depth: float array `(N,)`. Depth towards the camera, for yaw.
            pose: sequence of 5 floats `(dx, dy, roll, yaw, scale)`: translation in face
                units, in-plane rotation and yaw in radians, relative scale.
                Defaults to the frontal pose.

        Returns:
            float64 array `(N, 2)` of canvas pixel coordinates.
        """
        dx, dy, roll, yaw, scale = (float(v) for v in pose)
        x = points[:, 0] * np.cos(yaw) + depth * np.sin(yaw)
        y = points[:, 1]
        cos, sin = np.cos(roll), np.sin(roll)
        unit = self.face_scale * self.image_size * scale
        px = self.padding + self.face_centre[0] * self.image_size + unit * (cos * x - sin * y + dx)
        py = self.padding + self.face_centre[1] * self.image_size + unit * (sin * x + cos * y + dy)
        return np.stack([px, py], axis=1)

    def landmarks(self, identity, actions, pose=(0.0, 0.0, 0.0, 0.0, 1.0), blink=0.0):
        """Returns the 68 landmarks `(68, 2)` in canvas pixels without drawing anything."""
        points, depth, _ = geo.face_points(identity, actions, blink)
        return self.project(points[geo.LANDMARKS], depth[geo.LANDMARKS], pose)

    def render(self, identity, actions, *, pose=(0.0, 0.0, 0.0, 0.0, 1.0), blink=0.0,
               gain=1.0, light_gradient=0.0, occluder=None, face_present=True,
               background=None):
        """Draws one frame.

        Args:
            identity: `FaceIdentity`.
            actions: float array `(NUM_ACTIONS, 2)`, per-side action intensities.
            pose: sequence of 5 floats, see `project`. Defaults to frontal.
            blink: float. Eyelid closure in [0, 1]. Defaults to 0.0.
            gain: float. Global illumination gain. Defaults to 1.0.
            light_gradient: float. Left-right illumination slope (side light).
                Defaults to 0.0.
            occluder: None or tuple `(x, y, radius_x, radius_y, angle_degrees, rgb)` with
                the centre and radii in face units. Defaults to None.
            face_present: bool. False draws only the background (the face left the frame).
                Defaults to True.
            background: uint8 array `(canvas, canvas, 3)` or None (mid grey).

        Returns:
            tuple `(image, landmarks)`: uint8 RGB `(canvas, canvas, 3)` and float32
            `(68, 2)` landmarks in canvas pixels (crop pixels when `padding` is 0).
        """
        size = self.canvas_size
        if background is None:
            image = np.full((size, size, 3), 128, np.uint8)
        else:
            image = background.copy()
        points, depth, opening = geo.face_points(identity, actions, blink)
        pixels = self.project(points, depth, pose)
        if face_present:
            unit = self.face_scale * self.image_size * float(pose[4])
            self._draw_face(image, identity, np.asarray(actions) + np.asarray(
                identity.resting_actions)[:, None], pixels, opening, unit)
            if occluder is not None:
                self._draw_occluder(image, occluder, pose)
        if gain != 1.0 or light_gradient != 0.0:
            if light_gradient == 0.0:
                image = cv2.convertScaleAbs(image, alpha=float(gain))
            else:
                factor = np.float32(gain) + np.float32(light_gradient) * self._ramp
                image = np.clip(image * factor, 0, 255).astype(np.uint8)
        return image, pixels[geo.LANDMARKS].astype(np.float32)

    def _draw_occluder(self, image, occluder, pose):
        x, y, radius_x, radius_y, angle, colour = occluder
        centre = self.project(np.array([[x, y]]), np.zeros(1), pose)[0]
        unit = self.face_scale * self.image_size * float(pose[4])
        cv2.ellipse(image, tuple(int(v) for v in np.round(centre * _ONE)),
                    (int(radius_x * unit * _ONE), int(radius_y * unit * _ONE)), float(angle),
                    0, 360, tuple(float(c) for c in colour), -1, _AA, _SHIFT)

    def _draw_face(self, image, identity, actions, pixels, opening, unit):
        fixed = np.round(pixels * _ONE).astype(np.int32)
        lm = fixed[geo.LANDMARKS]
        skin, hair = identity.skin, identity.hair
        dark = (20.0, 12.0, 10.0)

        def poly(points, colour):
            cv2.fillPoly(image, [points], colour, _AA, _SHIFT)

        def line(points, colour, width, closed=False):
            cv2.polylines(image, [points], closed, colour, max(1, int(round(width))), _AA, _SHIFT)

        def act(name):
            row = actions[ACTION_INDEX[name]]
            return 0.5 * float(row[0] + row[1])

        ear_radius = (int(0.13 * unit * _ONE), int(0.22 * unit * _ONE))
        for ear in fixed[geo.EARS]:
            cv2.ellipse(image, tuple(ear), ear_radius, 0, 0, 360, _shade(skin, 0.9), -1, _AA,
                        _SHIFT)
        head = np.concatenate([lm[0:17], fixed[geo.HEAD_TOP]])
        poly(fixed[geo.HAIR_OUTER], hair)
        poly(head, skin)
        # Jaw shadow: the outline darkens towards the neck.
        line(lm[2:15], _shade(skin, 0.78), 0.04 * unit)
        hair_cap = np.concatenate([fixed[geo.HEAD_TOP], fixed[geo.HAIRLINE]])
        poly(hair_cap, hair)

        # Wrinkles whose contrast follows the actions that cause them.
        brow_raise = min(1.0, act("brow_raise") + 0.5 * act("inner_brow_raise"))
        if brow_raise > 0.05:
            forehead = pixels[17:27].mean(axis=0)
            for k, offset in enumerate((0.2, 0.32)):
                y = forehead[1] - offset * unit
                half = (0.35 - 0.05 * k) * unit
                pts = np.array([[forehead[0] - half, y + 0.03 * unit], [forehead[0], y],
                                [forehead[0] + half, y + 0.03 * unit]])
                line(np.round(pts * _ONE).astype(np.int32),
                     _mix(skin, dark, 0.45 * brow_raise), 0.03 * unit)
        furrow = act("brow_lower")
        if furrow > 0.05:
            for inner in (lm[21], lm[22]):
                start = inner + np.array([0, int(0.02 * unit * _ONE)])
                end = start + np.array([0, int(0.12 * unit * _ONE)])
                line(np.stack([start, end]), _mix(skin, dark, 0.5 * furrow), 0.03 * unit)
        fold = max(act("lip_corner_pull"), act("cheek_raise"), act("upper_lip_raise"))
        if fold > 0.05:
            for nostril, corner, sign in ((lm[31], lm[48], -1), (lm[35], lm[54], 1)):
                top = nostril + np.array([sign * int(0.05 * unit * _ONE), 0])
                bottom = corner + np.array([sign * int(0.06 * unit * _ONE),
                                            int(0.02 * unit * _ONE)])
                line(np.stack([top, (top + bottom) // 2 + np.array(
                    [sign * int(0.04 * unit * _ONE), 0]), bottom]),
                    _mix(skin, dark, 0.45 * fold), 0.035 * unit)

        # Brows: filled band between the landmark edge and a lower edge.
        brow_colour = _shade(hair, 0.7)
        lower_edge = fixed[geo.BROW_LOWER_EDGE]
        for side in (0, 1):
            upper = lm[17 + 5 * side: 22 + 5 * side]
            poly(np.concatenate([upper, lower_edge[5 * side: 5 * side + 5][::-1]]), brow_colour)

        # Eyes: sclera, iris, then lids drawn over the iris where the eye is narrow.
        iris_radius = int(0.075 * unit * _ONE)
        lid_colour = _shade(skin, 0.88)
        lid_depth = np.array([0, int(0.09 * unit * _ONE)])
        for side, iris in zip((0, 1), fixed[geo.IRIS_CENTRES]):
            eye = lm[36 + 6 * side: 42 + 6 * side]
            poly(eye, (235.0, 232.0, 225.0))
            cv2.circle(image, tuple(iris), iris_radius, identity.iris, -1, _AA, _SHIFT)
            cv2.circle(image, tuple(iris), iris_radius // 2, dark, -1, _AA, _SHIFT)
            upper_lid = eye[[0, 1, 2, 3]]
            poly(np.concatenate([upper_lid, (upper_lid - lid_depth)[::-1]]), lid_colour)
            lower_lid = eye[[3, 4, 5, 0]]
            poly(np.concatenate([lower_lid, (lower_lid + lid_depth)[::-1]]), skin)
            line(upper_lid, dark, 0.035 * unit)
            cheek = float(actions[ACTION_INDEX["cheek_raise"], side])
            if cheek > 0.05:
                corner = eye[0] if side == 0 else eye[3]
                sign = -1 if side == 0 else 1
                for dy in (-0.05, 0.02, 0.09):
                    start = corner + np.array([sign * int(0.05 * unit * _ONE),
                                               int(dy * unit * _ONE)])
                    end = start + np.array([sign * int(0.1 * unit * _ONE),
                                            int(dy * 0.8 * unit * _ONE)])
                    line(np.stack([start, end]), _mix(skin, dark, 0.5 * cheek), 0.025 * unit)

        # Nose: side shadows, nostrils, nose wrinkles.
        nose_shadow = _shade(skin, 0.8)
        line(np.stack([lm[27] + np.array([-int(0.06 * unit * _ONE), 0]), lm[31]]), nose_shadow,
             0.03 * unit)
        line(np.stack([lm[27] + np.array([int(0.06 * unit * _ONE), 0]), lm[35]]), nose_shadow,
             0.03 * unit)
        line(lm[31:36], _shade(skin, 0.65), 0.035 * unit)
        nostril_radius = (int(0.04 * unit * _ONE), int(0.025 * unit * _ONE))
        for nostril in (lm[32], lm[34]):
            cv2.ellipse(image, tuple(nostril), nostril_radius, 0, 0, 360, _shade(skin, 0.35),
                        -1, _AA, _SHIFT)
        wrinkle = act("nose_wrinkle")
        if wrinkle > 0.05:
            for k in range(3):
                centre = lm[28] + (lm[29] - lm[28]) * k // 2
                half = np.array([int(0.07 * unit * _ONE), 0])
                line(np.stack([centre - half, centre + half]), _mix(skin, dark, 0.5 * wrinkle),
                     0.025 * unit)

        # Mouth: lips, then the dark opening with the upper teeth.
        poly(np.concatenate([lm[48:55], lm[54:60], lm[48:49]]), identity.lips)
        if opening * unit > 0.3:
            inner = np.concatenate([lm[60:65], lm[65:68]])
            poly(inner, (60.0, 20.0, 25.0))
            teeth_depth = np.array([0, int(min(0.06, opening) * unit * _ONE)])
            upper_inner = lm[60:65]
            poly(np.concatenate([upper_inner, (upper_inner + teeth_depth)[::-1]]),
                 (240.0, 238.0, 228.0))
        line(np.concatenate([lm[48:49], lm[60:65], lm[54:55]]), _shade(identity.lips, 0.55),
             0.03 * unit)
