"""`render_static_faces`: a labelled static-face set, the synthetic analogue of FER2013.

Ayral (2021) master's thesis, Section 2.1.3 / 3.3.1: the 3D CNN starts from a 2D CNN
trained on static expression images (FER2013) and inflated (Section 1.2.5). This renders
such a set with the synthetic generator: for each image a short video of a subject is
rendered (`render_video`, distractors on) and one frame is taken where the expression is
visible (intensity ≥ half the video's maximum), labelled with the video's class.

The subjects are drawn from their own random stream (`[seed, 4, subject]`), disjoint from
the subjects of `write_synthetic_dataset` (`[seed, 1, subject]`) and of any target data, so
pretraining on these images never sees a validation or test subject.

Example:

>>> faces = render_static_faces(["Happy", "Sad"], num_subjects=2, images_per_subject=4,
...                             image_size=32)
>>> faces["images"].shape, faces["labels"].tolist()
((8, 32, 32, 3), [0, 1, 0, 1, 0, 1, 0, 1])
"""

from __future__ import annotations

import numpy as np

from kerasfer.data.synthetic.expressions import NUM_ACTIONS
from kerasfer.data.synthetic.face_identity import FaceIdentity
from kerasfer.data.synthetic.face_renderer import FaceRenderer
from kerasfer.data.synthetic.synthetic_video import render_video

STATIC_FACE_STREAM = 4


def render_static_faces(class_names, num_subjects=40, images_per_subject=20, image_size=32,
                        seed=0, num_frames=20):
    """Renders labelled expressive face images of subjects outside any target dataset.

    Args:
        class_names: sequence of str. Classes; image `i` of a subject has label
            `(i + subject) % len(class_names)`.
        num_subjects: int. Number of subjects. Defaults to 40.
        images_per_subject: int. Images per subject. Defaults to 20.
        image_size: int. Side in pixels. Defaults to 32.
        seed: int. Seed. Defaults to 0.
        num_frames: int. Length of the short video each image is taken from. Defaults to 20.

    Returns:
        dict with "images" uint8 `(n, size, size, 3)`, "labels" int32 `(n,)`, "subjects"
        int32 `(n,)` (index in this set) and "intensity" float32 `(n,)`.
    """
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError(f"need at least one class. Received: class_names={class_names!r}")
    if int(num_subjects) < 1 or int(images_per_subject) < 1:
        raise ValueError("num_subjects and images_per_subject must be >= 1. Received: "
                         f"num_subjects={num_subjects}, images_per_subject={images_per_subject}")
    renderer = FaceRenderer(int(image_size))
    images, labels, subjects, intensity = [], [], [], []
    for subject in range(int(num_subjects)):
        identity = FaceIdentity.sample(
            np.random.default_rng([seed, STATIC_FACE_STREAM, subject]), NUM_ACTIONS)
        for index in range(int(images_per_subject)):
            label = (index + subject) % len(names)
            rng_seed = [seed, STATIC_FACE_STREAM, subject, index]
            video = render_video(names[label], num_frames=int(num_frames),
                                 image_size=int(image_size), apex_fraction=0.3, seed=rng_seed,
                                 identity=identity, class_names=names, renderer=renderer)
            visible = np.flatnonzero(video.intensity >= 0.5 * video.intensity.max())
            if not visible.size:  # Neutral: any frame
                visible = np.arange(video.frames.shape[0])
            frame = int(np.random.default_rng(rng_seed + [1]).choice(visible))
            images.append(video.frames[frame])
            labels.append(label)
            subjects.append(subject)
            intensity.append(video.intensity[frame])
    return {"images": np.stack(images), "labels": np.asarray(labels, np.int32),
            "subjects": np.asarray(subjects, np.int32),
            "intensity": np.asarray(intensity, np.float32)}
