"""Video-consistent augmentation ops and normalisation, eagerly and inside Dataset.map."""

import numpy as np
import pytest
import tensorflow as tf

from kerasfer.data import augmentation as aug
from kerasfer.data.normalization import IMAGENET_MEAN, IMAGENET_STD, normalize, normalize_frames

RNG = np.random.RandomState(0)
FRAME_A = RNG.rand(12, 12, 3).astype(np.float32)
FRAME_B = RNG.rand(12, 12, 3).astype(np.float32)


def clip(frames, seed=(0, 1)):
    return {"frames": tf.constant(np.stack(frames)), "seed": tf.constant(seed, tf.int64)}


def in_map(fn, example):
    """Runs a dict→dict op inside Dataset.map."""
    return next(iter(tf.data.Dataset.from_tensors(example).map(fn)))


OPS = {
    "flip": lambda e: aug.apply_warp(aug.random_horizontal_flip(e), 10),
    "rotation": lambda e: aug.apply_warp(aug.random_rotation(e), 10),
    "crop": lambda e: aug.apply_warp(aug.random_crop(e), 10),
    "jitter": aug.color_jitter,
    "augment": lambda e: aug.augment_clip(e, 10),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_eager_equals_map_and_is_per_frame_with_shared_parameters(name):
    op = OPS[name]
    both = op(clip([FRAME_A, FRAME_B]))["frames"].numpy()
    np.testing.assert_allclose(in_map(op, clip([FRAME_A, FRAME_B]))["frames"].numpy(), both,
                               atol=1e-6)
    # Same parameters for every frame: augmenting [A, B] equals augmenting A and B alone.
    only_a = op(clip([FRAME_A, FRAME_A]))["frames"].numpy()
    only_b = op(clip([FRAME_B, FRAME_B]))["frames"].numpy()
    np.testing.assert_allclose(both[0], only_a[0], atol=1e-5)
    np.testing.assert_allclose(both[1], only_b[1], atol=1e-5)
    np.testing.assert_allclose(only_a[0], only_a[1], atol=1e-6)


@pytest.mark.parametrize("name", ["rotation", "crop", "jitter", "augment"])
def test_op_differs_across_clips(name):
    outputs = [OPS[name](clip([FRAME_A], seed=(0, s)))["frames"].numpy() for s in range(4)]
    assert max(np.abs(outputs[0] - other).max() for other in outputs[1:]) > 0.02


def test_flip_probability_and_exact_mirror():
    frames = clip([FRAME_A])
    mirrored = aug.apply_warp(aug.random_horizontal_flip(frames, 1.0), 12)["frames"].numpy()
    np.testing.assert_allclose(mirrored[0], FRAME_A[:, ::-1], atol=1e-6)
    kept = aug.apply_warp(aug.random_horizontal_flip(frames, 0.0), 12)["frames"].numpy()
    np.testing.assert_allclose(kept[0], FRAME_A, atol=1e-6)
    flips = [float(aug.random_horizontal_flip(clip([FRAME_A], (1, s)))["warp"][0, 0])
             for s in range(200)]
    assert 70 < flips.count(-1.0) < 130


def test_crop_takes_a_window_of_the_given_fraction():
    frames = tf.constant(np.arange(16 * 16, dtype=np.float32).reshape(1, 16, 16, 1))
    # A crop window of half the side whose centre falls on pixel boundaries: (4..11, 2..9).
    warp = tf.constant([[0.5, 0.0, 0.0], [0.0, 0.5, -0.25], [0.0, 0.0, 1.0]])
    window = aug.apply_warp({"frames": frames, "warp": warp}, 8)["frames"].numpy()[0, ..., 0]
    np.testing.assert_allclose(window, frames.numpy()[0, 2:10, 4:12, 0], atol=1e-4)
    warps = [aug.random_crop(clip([FRAME_A], (2, s)), 0.5)["warp"].numpy() for s in range(50)]
    assert all(w[0, 0] == 0.5 and abs(w[0, 2]) <= 0.5 and abs(w[1, 2]) <= 0.5 for w in warps)
    with pytest.raises(ValueError, match="crop_fraction"):
        aug.random_crop(clip([FRAME_A]), 1.5)


def test_rotation_angle_range_and_quarter_turn():
    angles = []
    for s in range(100):
        warp = aug.random_rotation(clip([FRAME_A], (3, s)), 20.0)["warp"].numpy()
        angles.append(np.degrees(np.arctan2(warp[1, 0], warp[0, 0])))
    assert max(np.abs(angles)) <= 20.0 and max(angles) > 12 and min(angles) < -12
    square = tf.constant(FRAME_A[None])
    turn = tf.constant([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    turned = aug.apply_warp({"frames": square, "warp": turn}, 12)["frames"].numpy()[0]
    np.testing.assert_allclose(turned, np.rot90(FRAME_A, k=1), atol=1e-5)


def test_jitter_ranges_and_grey_clips():
    grey = {"frames": tf.constant(FRAME_A[None, ..., :1]), "seed": tf.constant([0, 1], tf.int64)}
    out = aug.color_jitter(grey)["frames"]
    assert out.shape == (1, 12, 12, 1)
    flat = clip([np.full((4, 4, 3), 0.5, np.float32)])
    values = [float(aug.color_jitter(dict(flat, seed=tf.constant([4, s], tf.int64)),
                                     contrast=0, saturation=0, hue=0)["frames"][0, 0, 0, 0])
              for s in range(100)]
    assert 0.4 <= min(values) < 0.43 and 0.57 < max(values) <= 0.6


def test_augment_clip_output():
    out = aug.augment_clip(clip([FRAME_A, FRAME_B]), 20)["frames"]
    assert out.shape == (2, 20, 20, 3) and out.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
    assert "warp" not in aug.augment_clip(clip([FRAME_A]), 8)


def test_normalization_modes():
    frames = tf.constant(np.stack([FRAME_A, FRAME_B]))
    np.testing.assert_allclose(normalize_frames(frames, "unit"), frames)
    np.testing.assert_allclose(normalize_frames(frames, "minus_one_one"), frames * 2 - 1, atol=1e-6)
    imagenet = normalize_frames(frames, "imagenet").numpy()
    np.testing.assert_allclose(imagenet * IMAGENET_STD + IMAGENET_MEAN, frames, atol=1e-5)
    assert normalize_frames(frames[..., :1], "imagenet").shape == (2, 12, 12, 1)
    mapped = in_map(lambda e: normalize(e, "minus_one_one", keys=("clip",)),
                    {"clip": frames, "label": tf.constant(1)})
    np.testing.assert_allclose(mapped["clip"], frames * 2 - 1, atol=1e-6)
    assert int(mapped["label"]) == 1
    with pytest.raises(ValueError, match="normalization"):
        normalize_frames(frames, "zscore")


def test_windowed_jpeg_decode_matches_whole_frame_augmentation():
    rng = np.random.RandomState(1)
    base = (rng.rand(6, 6, 3) * 255).astype(np.uint8)
    frames = [np.kron(base, np.ones((8, 8, 1), np.uint8)) // (k + 1) for k in range(3)]
    jpeg = tf.constant([tf.io.encode_jpeg(f, quality=95).numpy() for f in frames])
    for seed in range(3):
        key = tf.constant([seed, 7], tf.int64)
        windowed = aug.augment_jpeg_clip(jpeg, key, 16)
        decoded = tf.stack([tf.io.decode_jpeg(j) for j in jpeg])
        whole = aug.augment_clip({"frames": decoded, "seed": key}, 16)["frames"]
        np.testing.assert_allclose(windowed.numpy(), whole.numpy(), atol=2 / 255)
        window = aug.source_window(aug.random_geometry({"frame_size": [48, 48], "seed": key}), 16)
        assert 0 < int(window[2]) * int(window[3]) < 48 * 48


@pytest.mark.slow
@pytest.mark.parametrize("normalization,channels", [("unit", 3), ("imagenet", 3),
                                                    ("minus_one_one", 1)])
def test_fused_xla_augmentation_equals_the_ops(normalization, channels):
    from kerasfer.data.fused_augmentation import augment_and_normalize

    frames = tf.constant((np.stack([FRAME_A, FRAME_B])[..., :channels] * 255).astype(np.uint8))
    scale = {"unit": 1.0, "imagenet": 1 / 0.224, "minus_one_one": 2.0}[normalization]
    for seed in range(3):
        key = tf.constant([seed, 5], tf.int64)
        fused = augment_and_normalize(frames, key, 10, normalization)
        # augment_clip, with the fused kernel's contrast pivot (mean on every 4th pixel).
        warped = aug.apply_warp(aug.random_geometry({"frames": frames, "seed": key}), 10)
        gains, delta = aug.jitter_parameters(key)
        jittered = aug.apply_jitter(tf.image.convert_image_dtype(warped["frames"], tf.float32),
                                    gains, delta, mean_stride=4)
        reference = normalize_frames(jittered, normalization)
        assert fused.shape == (2, 10, 10, channels)
        # The op path rounds the warped frames to uint8; the fused path does not.
        np.testing.assert_allclose(fused.numpy(), reference.numpy(), atol=2.5 / 255 * scale)
    mapped = next(iter(tf.data.Dataset.from_tensors(frames).map(
        lambda f: augment_and_normalize(f, tf.constant([0, 5], tf.int64), 10, normalization))))
    np.testing.assert_allclose(mapped.numpy(),
                               augment_and_normalize(frames, tf.constant([0, 5], tf.int64), 10,
                                                     normalization).numpy(), atol=1e-5)


def test_fused_resize_equals_resize_frames_then_normalize():
    from kerasfer.data.fused_augmentation import resize_and_normalize

    frames = tf.constant((np.stack([FRAME_A, FRAME_B]) * 255).astype(np.uint8))
    for size in (6, 12, 20):
        fused = resize_and_normalize(frames, size, "imagenet").numpy()
        reference = normalize_frames(aug.resize_frames(frames, size), "imagenet").numpy()
        np.testing.assert_allclose(fused, reference, atol=1e-4)


def test_jitter_contrast_pivot_estimate_on_smooth_frames():
    ramp = np.linspace(0, 1, 64, dtype=np.float32)
    frames = tf.constant(np.stack([np.outer(ramp, ramp)[..., None] * [1.0, 0.8, 0.5]] * 2,
                                  ).astype(np.float32))
    gains = tf.constant([1.1, 0.8, 1.2])
    full = aug.apply_jitter(frames, gains, mean_stride=1).numpy()
    strided = aug.apply_jitter(frames, gains, mean_stride=4).numpy()
    assert np.abs(full - strided).max() < 0.01
