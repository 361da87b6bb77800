"""Expression classes of the synthetic faces as facial-action configurations.

Every class is a vector of `ACTION_NAMES` intensities (loosely FACS action units) at apex;
a frame at expression intensity `s` in [0, 1] uses `s` times that vector (Neutral is the zero
vector). Each action has a left and a right value so that posed expressions can be
asymmetric. Class names not in `EXPRESSION_ACTIONS` get a configuration drawn from a hash of
the name, so any list of C names gives C distinct, reproducible classes.

Genuine versus posed (ChaLearn 2017 real/fake protocol, Ozkan & Akar 2017; Huynh & Kim 2017): posed
expressions keep the mouth and brow actions but involve the eyes far less (no Duchenne
cheek raise, `POSED_EYE_INVOLVEMENT`), are asymmetric (one side at
`POSED_WEAK_SIDE_RANGE` of the other) and have a faster onset (see `timeline.py`).

Example:

>>> actions = expression_actions("Happy", intensity=0.5)
>>> actions.shape
(12, 2)
"""

from __future__ import annotations

import zlib

import numpy as np

AFEW_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")

ACTION_NAMES = (
    "brow_raise",          # AU1+2: whole brow up (surprise, fear)
    "inner_brow_raise",    # AU1: inner ends up (sadness, fear)
    "brow_lower",          # AU4: inner ends down and together (anger, disgust)
    "upper_lid_raise",     # AU5: eyes wide open (surprise, fear, anger)
    "lid_tighten",         # AU7: narrowed eyes (anger, disgust)
    "cheek_raise",         # AU6: lower lid pushed up, crow's feet (Duchenne smile)
    "nose_wrinkle",        # AU9 (disgust)
    "upper_lip_raise",     # AU10 (disgust)
    "lip_corner_pull",     # AU12 (happiness)
    "lip_corner_depress",  # AU15 (sadness, disgust)
    "lip_stretch",         # AU20: corners pulled sideways (fear)
    "mouth_open",          # AU25-27: lips part and jaw drops
)
NUM_ACTIONS = len(ACTION_NAMES)
ACTION_INDEX = {name: index for index, name in enumerate(ACTION_NAMES)}
# Actions around the eyes, the ones posed expressions lack (Duchenne marker AU6 above all).
EYE_ACTIONS = ("upper_lid_raise", "lid_tighten", "cheek_raise")
POSED_EYE_INVOLVEMENT = 0.2
POSED_WEAK_SIDE_RANGE = (0.45, 0.7)

EXPRESSION_ACTIONS = {
    "angry": {"brow_lower": 1.0, "lid_tighten": 0.7, "upper_lid_raise": 0.3,
              "lip_corner_depress": 0.3, "lip_stretch": -0.35},
    "disgust": {"nose_wrinkle": 1.0, "upper_lip_raise": 1.0, "brow_lower": 0.6,
                "lid_tighten": 0.5, "lip_corner_depress": 0.5},
    "fear": {"inner_brow_raise": 1.0, "brow_raise": 0.6, "upper_lid_raise": 1.0,
             "lip_stretch": 1.0, "mouth_open": 0.45},
    "happy": {"lip_corner_pull": 1.0, "cheek_raise": 1.0, "mouth_open": 0.35},
    "neutral": {},
    "sad": {"inner_brow_raise": 1.0, "brow_lower": 0.35, "lip_corner_depress": 1.0,
            "lid_tighten": 0.3},
    "surprise": {"brow_raise": 1.0, "upper_lid_raise": 1.0, "mouth_open": 1.0},
    "contempt": {"lip_corner_pull": 0.7, "lid_tighten": 0.2},
    "pain": {"brow_lower": 0.8, "lid_tighten": 1.0, "cheek_raise": 0.8, "nose_wrinkle": 0.6,
             "upper_lip_raise": 0.7},
}
# Contempt is one-sided by definition (AU14 on one side).
ONE_SIDED = {"contempt": 0}


def _named_vector(config):
    vector = np.zeros(NUM_ACTIONS, np.float32)
    for name, value in config.items():
        vector[ACTION_INDEX[name]] = value
    return vector


def class_action_vector(class_name):
    """Returns the apex action vector `(NUM_ACTIONS,)` of a class name.

    Known names (case-insensitive: the 7 AFEW classes, Contempt, Pain) use a hand-made
    configuration; other names get 3 actions drawn from a CRC32 hash of the name, so the
    configuration is the same in every run.

    Args:
        class_name: str. Expression class name.

    Returns:
        float32 array `(NUM_ACTIONS,)`.
    """
    key = str(class_name).strip().lower()
    if key in EXPRESSION_ACTIONS:
        return _named_vector(EXPRESSION_ACTIONS[key])
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    vector = np.zeros(NUM_ACTIONS, np.float32)
    chosen = rng.choice(NUM_ACTIONS, size=3, replace=False)
    vector[chosen] = rng.uniform(0.6, 1.0, size=3)
    return vector


def expression_actions(class_name, intensity=1.0, *, posed=False, weak_side=0,
                       weak_side_scale=1.0):
    """Returns the per-side action intensities of one expression at one intensity.

    Args:
        class_name: str. Expression class name (see `class_action_vector`).
        intensity: float. Expression intensity in [0, 1] (0 is neutral, 1 the apex).
            Defaults to 1.0.
        posed: bool. Posed (fake) rendition: eye actions scaled by
            `POSED_EYE_INVOLVEMENT`. Defaults to False (genuine).
        weak_side: int. Side (0 image-left, 1 image-right) scaled by `weak_side_scale`.
            Defaults to 0.
        weak_side_scale: float. Intensity of the weak side relative to the other one; 1.0
            is symmetric. Defaults to 1.0.

    Returns:
        float32 array `(NUM_ACTIONS, 2)`: intensities for the image-left and image-right
        halves of the face.
    """
    vector = class_action_vector(class_name) * np.float32(intensity)
    if posed:
        for name in EYE_ACTIONS:
            vector[ACTION_INDEX[name]] *= POSED_EYE_INVOLVEMENT
    actions = np.stack([vector, vector], axis=1)
    actions[:, weak_side] *= np.float32(weak_side_scale)
    key = str(class_name).strip().lower()
    if key in ONE_SIDED:
        actions[:, 1 - ONE_SIDED[key]] *= 0.1
    return actions
