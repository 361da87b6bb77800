"""Video-consistent augmentation: one random draw per clip, applied to all its frames.

Thesis 2.2.3.2: "horizontal flip with 0.5 rate, random rotation between -20 and 20
degrees, random crop of the image with half spatial size, color jitter with brightness,
contrast and saturation and hue (0.2, 0.2, 0.2, 0.1) … consistent across all frames
within a video sample. Frames are resized to 112 × 112."

Every op is a function dict → dict on one clip. Keys:

- `frames`: float32 `(frames, height, width, channels)` in [0, 1], channels 1 or 3
  (uint8 also for the geometric ops and `apply_warp`, which keep the dtype).
- `seed`: int64 `(2,)` stateless seed of the clip (`kerasfer.data.clip_indices.clip_seed`);
  each op folds in its own stream id, so the draws do not depend on which ops run.
- `warp`: float32 `(3, 3)` (optional; identity when absent). The geometric ops do not
  resample: they compose a map from output to input coordinates, in centred normalised
  coordinates (x, y ∈ [-1, 1], x to the right, y down), and `apply_warp` resamples once
  (rotation + crop + flip + resize in one bilinear pass, no intermediate blur).

The geometric ops follow the order of the reference pipeline (rotate → crop → flip →
resize): each right-multiplies `warp` by its own output→input map.
"""

from __future__ import annotations

import math

from kerasfer.data.clip_indices import sub_seed

FLIP_STREAM = 11
ROTATION_STREAM = 12
CROP_STREAM = 13
JITTER_STREAM = 14

# ITU-R 601 luma, as torchvision's rgb_to_grayscale.
LUMA = (0.299, 0.587, 0.114)


def _tf():
    import tensorflow as tf

    return tf


def _warp(example):
    tf = _tf()
    if "warp" in example:
        return example["warp"]
    return tf.eye(3, dtype=tf.float32)


def _frame_size(example):
    """int32 `(2,)` (height, width) of the full frames: `frame_size`, else `frames`' shape."""
    tf = _tf()
    if "frame_size" in example:
        return tf.cast(example["frame_size"], tf.int32)
    return tf.shape(example["frames"])[1:3]


def _compose(example, matrix):
    example = dict(example)
    example["warp"] = _tf().linalg.matmul(_warp(example), matrix)
    return example


def random_horizontal_flip(example, probability=0.5):
    """Mirrors the clip left↔right with `probability` (keys: `seed`, `warp`)."""
    tf = _tf()
    draw = tf.random.stateless_uniform([], sub_seed(example["seed"], FLIP_STREAM))
    sign = tf.where(draw < probability, -1.0, 1.0)
    flip = tf.linalg.diag(tf.stack([sign, 1.0, 1.0]))
    return _compose(example, flip)


def random_rotation(example, max_degrees=20.0):
    """Rotates the clip about its centre by θ ~ U(−max_degrees, max_degrees).

    Keys: `frames` (for the aspect ratio), `seed`, `warp`. The rotation is in pixel space,
    so non-square frames are rotated, not sheared.
    """
    tf = _tf()
    angle = tf.random.stateless_uniform(
        [], sub_seed(example["seed"], ROTATION_STREAM), -max_degrees, max_degrees)
    angle = angle * (math.pi / 180.0)
    size = _frame_size(example)
    # Normalised → pixel-proportional coordinates: x · W/2, y · H/2 (up to one factor).
    aspect = tf.cast(size[1], tf.float32) / tf.cast(size[0], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    rotation = tf.reshape(tf.stack([
        cos, -sin / aspect, 0.0,
        sin * aspect, cos, 0.0,
        0.0, 0.0, 1.0]), [3, 3])
    return _compose(example, rotation)


def random_crop(example, crop_fraction=0.5):
    """Takes a window of `crop_fraction` × the side at a uniform random position.

    Thesis 2.2.3.2 "random crop of the image with half spatial size": the window's height
    and width are `crop_fraction` of the frame's (0.5 = half the side, as a 224 → 112
    random crop); `apply_warp` then resizes it to the output size. Keys: `seed`, `warp`.
    """
    tf = _tf()
    if not 0.0 < crop_fraction <= 1.0:
        raise ValueError(f"`crop_fraction` must be in (0, 1]. Received: "
                         f"crop_fraction={crop_fraction}")
    centre = tf.random.stateless_uniform(
        [2], sub_seed(example["seed"], CROP_STREAM), -(1.0 - crop_fraction), 1.0 - crop_fraction)
    crop = tf.reshape(tf.stack([
        crop_fraction, 0.0, centre[0],
        0.0, crop_fraction, centre[1],
        0.0, 0.0, 1.0]), [3, 3])
    return _compose(example, crop)


def warp_pixel_matrix(example, image_size):
    """Returns the float32 `(3, 3)` map from output pixel (x, y, 1) to full-frame pixel."""
    tf = _tf()
    frame_size = tf.cast(_frame_size(example), tf.float32)
    height, width = frame_size[0], frame_size[1]
    size = float(image_size)
    # Output pixel index → normalised: u = (2i + 1) / S − 1; normalised → input index:
    # i = ((u + 1) · W − 1) / 2. Integer indices are pixel centres in the kernel.
    to_normalised = tf.constant([[2.0 / size, 0.0, 1.0 / size - 1.0],
                                 [0.0, 2.0 / size, 1.0 / size - 1.0],
                                 [0.0, 0.0, 1.0]], tf.float32)
    to_input = tf.reshape(tf.stack([
        width / 2.0, 0.0, (width - 1.0) / 2.0,
        0.0, height / 2.0, (height - 1.0) / 2.0,
        0.0, 0.0, 1.0]), [3, 3])
    matrix = tf.linalg.matmul(tf.linalg.matmul(to_input, _warp(example)), to_normalised)
    return matrix / matrix[2, 2]


def source_window(example, image_size):
    """Returns int32 `[y0, x0, height, width]`: the frame pixels `apply_warp` will read.

    Keys: `frame_size` (or `frames`), `warp`. A clip can then be decoded with
    `tf.io.decode_and_crop_jpeg` on this window only (a half-size crop reads ~40 % of the
    pixels even rotated by 20°) and warped with `window` set in the dict.
    """
    tf = _tf()
    matrix = warp_pixel_matrix(example, image_size)
    last = float(image_size - 1)
    corners = tf.constant([[0.0, last, 0.0, last], [0.0, 0.0, last, last], [1.0] * 4])
    points = tf.linalg.matmul(matrix, corners)
    frame_size = _frame_size(example)
    # Bilinear reads floor(p) and floor(p) + 1.
    x0 = tf.cast(tf.floor(tf.reduce_min(points[0])), tf.int32)
    y0 = tf.cast(tf.floor(tf.reduce_min(points[1])), tf.int32)
    x1 = tf.cast(tf.floor(tf.reduce_max(points[0])), tf.int32) + 1
    y1 = tf.cast(tf.floor(tf.reduce_max(points[1])), tf.int32) + 1
    x0 = tf.clip_by_value(x0, 0, frame_size[1] - 1)
    y0 = tf.clip_by_value(y0, 0, frame_size[0] - 1)
    x1 = tf.clip_by_value(x1, x0, frame_size[1] - 1)
    y1 = tf.clip_by_value(y1, y0, frame_size[0] - 1)
    return tf.stack([y0, x0, y1 - y0 + 1, x1 - x0 + 1])


def apply_warp(example, image_size, fill_value=0.0):
    """Resamples `frames` through `warp` to `(frames, image_size, image_size, channels)`.

    One bilinear `ImageProjectiveTransformV3` for the whole clip; pixels that come from
    outside the frame (rotation corners) are `fill_value` (black, as PIL's rotate). When
    `window` (`[y0, x0, h, w]` from `source_window`) is set, `frames` hold only that part
    of frames of size `frame_size`. Keeps the dtype (uint8 or float32); removes `warp`.
    """
    tf = _tf()
    frames = example["frames"]
    matrix = warp_pixel_matrix(example, image_size)
    if "window" in example:
        origin = tf.cast(example["window"][:2], tf.float32)
        shift = tf.reshape(tf.stack([1.0, 0.0, -origin[1], 0.0, 1.0, -origin[0],
                                     0.0, 0.0, 1.0]), [3, 3])
        matrix = tf.linalg.matmul(shift, matrix)
    transform = tf.reshape(matrix, [9])[:8][tf.newaxis]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=frames, transforms=transform,
        output_shape=tf.constant([image_size, image_size], tf.int32),
        fill_value=tf.constant(fill_value, tf.float32), interpolation="BILINEAR",
        fill_mode="CONSTANT")
    example = dict(example)
    for key in ("warp", "window"):
        example.pop(key, None)
    example["frames"] = tf.ensure_shape(
        warped, [frames.shape[0], image_size, image_size, frames.shape[-1]])
    return example


def _grey(frames):
    tf = _tf()
    if frames.shape[-1] == 1:
        return frames
    return tf.reduce_sum(frames * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)


def color_jitter(example, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1):
    """torchvision-style ColorJitter with one draw per clip (keys: `frames`, `seed`).

    Factors b, c, s ~ U(1 − x, 1 + x) and a hue shift h ~ U(−hue, hue) of the colour
    circle, in a fixed order: brightness `x·b`; contrast `(x − m)·c + m` with m the mean
    grey level of each frame; saturation `(x − g)·s + g` with g the grey (luma) image;
    hue rotation in HSV. The first three are affine in RGB, so they are applied as one
    3 × 3 matrix plus a per-frame offset (`x' = c·b·S·x + (1 − c)·b·m`, S the saturation
    matrix; S maps grey to grey) and clipped to [0, 1] once, not after each step (the
    results differ only where an intermediate value saturates). Grey clips (1 channel) get
    brightness and contrast only. `frames` must be float32 in [0, 1].
    """
    gains, delta = jitter_parameters(example["seed"], brightness, contrast, saturation, hue)
    example = dict(example)
    example["frames"] = apply_jitter(example["frames"], gains, delta if hue else None)
    return example


def jitter_parameters(seed, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1):
    """Draws one clip's jitter: float32 gains `(3,)` (b, c, s) and the hue shift."""
    tf = _tf()
    seeds = tf.random.experimental.stateless_split(sub_seed(seed, JITTER_STREAM), num=4)

    def factor(index, amount):
        if not amount:
            return tf.constant(1.0)
        return tf.random.stateless_uniform([], seeds[index], 1.0 - amount, 1.0 + amount)

    gains = tf.stack([factor(0, brightness), factor(1, contrast), factor(2, saturation)])
    delta = tf.random.stateless_uniform([], seeds[3], -hue, hue) if hue else tf.constant(0.0)
    return gains, delta


def apply_jitter(frames, gains, delta=None, mean_stride=1):
    """Applies drawn jitter (`jitter_parameters`) to float32 [0, 1] frames; XLA-safe.

    `mean_stride` > 1 estimates each frame's mean grey level (the contrast pivot) on every
    `mean_stride`-th row and column only, so a fused kernel need not finish the whole
    frame before jittering it."""
    tf = _tf()
    channels = frames.shape[-1]
    gain_b, gain_c, gain_s = gains[0], gains[1], gains[2]
    # Mean grey level of each frame before jitter.
    channel_means = tf.reduce_mean(frames[:, ::mean_stride, ::mean_stride], axis=[1, 2])
    if channels == 3:
        grey_mean = tf.reduce_sum(channel_means * tf.constant(LUMA), axis=-1)
    else:
        grey_mean = channel_means[:, 0]
    offset = ((1.0 - gain_c) * gain_b * grey_mean)[:, None, None, None]
    if channels == 3:
        # Rows: output channel. S = s·I + (1 − s)·1·lumaᵀ.
        matrix = gain_s * tf.eye(3) + (1.0 - gain_s) * tf.ones([3, 1]) * tf.constant([LUMA])
        matrix = gain_c * gain_b * matrix
        frames = tf.tensordot(frames, tf.transpose(matrix), axes=[[3], [0]]) + offset
    else:
        frames = frames * (gain_c * gain_b) + offset
    frames = tf.clip_by_value(frames, 0.0, 1.0)
    if channels == 3 and delta is not None:
        # The HSV round trip of [0, 1] values stays in [0, 1]: no second clip.
        frames = tf.image.adjust_hue(frames, delta)
    return frames


def resize_frames(frames, image_size, antialias=False):
    """Resizes `(frames, height, width, channels)` uint8 or [0, 1] float frames to float32
    [0, 1] `(frames, image_size, image_size, channels)`, no augmentation: the clean clip
    and the evaluation videos. Bilinear with half-pixel centres, the same sampling as
    `apply_warp` and the clean copy of `training_dataset`; not antialiased by default (an
    exact 2× reduction averages 2 × 2 blocks)."""
    tf = _tf()
    scale = 1.0 / 255.0 if frames.dtype == tf.uint8 else 1.0
    shape = tf.shape(frames)
    resized = tf.cond(
        tf.logical_and(tf.equal(shape[1], image_size), tf.equal(shape[2], image_size)),
        lambda: tf.cast(frames, tf.float32),
        lambda: tf.image.resize(frames, [image_size, image_size], method="bilinear",
                                antialias=antialias))
    resized = tf.clip_by_value(resized * scale, 0.0, 1.0)
    return tf.ensure_shape(resized, [frames.shape[0], image_size, image_size, frames.shape[-1]])


def random_geometry(example, flip_probability=0.5, max_rotation_degrees=20.0,
                    crop_fraction=0.5):
    """Rotation, crop and flip of 2.2.3.2 composed into `warp` (keys: `seed`, `warp`,
    `frames` or `frame_size`); nothing is resampled until `apply_warp`."""
    if max_rotation_degrees:
        example = random_rotation(example, max_rotation_degrees)
    if crop_fraction != 1.0:
        example = random_crop(example, crop_fraction)
    if flip_probability:
        example = random_horizontal_flip(example, flip_probability)
    return example


def augment_jpeg_clip(jpeg, seed, image_size, channels=3, flip_probability=0.5,
                      max_rotation_degrees=20.0, crop_fraction=0.5, brightness=0.2,
                      contrast=0.2, saturation=0.2, hue=0.1):
    """`augment_clip` straight from the JPEGs, decoding only the window the warp reads.

    Same result as decoding whole frames then `augment_clip` (same `seed` → same draws),
    cheaper: with a half-size crop, ~40 % of each frame is decoded. For clips whose clean
    copy is not needed (the clean copy needs the whole frames).

    Args:
        jpeg: string tensor `(frames,)`. The clip's JPEGs, all of one size.
        seed: int64 `(2,)`. The clip's stateless seed.
        image_size: int. Output side.
        channels: int. 1 or 3. Defaults to 3.
        Other args: as `augment_clip`.

    Returns:
        float32 `(frames, image_size, image_size, channels)` in [0, 1].
    """
    tf = _tf()
    example = {"frame_size": tf.io.extract_jpeg_shape(jpeg[0])[:2], "seed": seed}
    example = random_geometry(example, flip_probability, max_rotation_degrees, crop_fraction)
    window = source_window(example, image_size)
    frames = [tf.io.decode_and_crop_jpeg(jpeg[k], window, channels=channels)
              for k in range(jpeg.shape[0])]
    example.update(frames=tf.stack(frames), window=window)
    example = apply_warp(example, image_size)
    example["frames"] = tf.image.convert_image_dtype(example["frames"], tf.float32)
    return color_jitter(example, brightness, contrast, saturation, hue)["frames"]


def augment_clip(example, image_size, flip_probability=0.5, max_rotation_degrees=20.0,
                 crop_fraction=0.5, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1):
    """The thesis augmentation (2.2.3.2) of one clip, the same for all its frames.

    Args:
        example: dict with `frames` uint8 or float32 [0, 1] `(frames, height, width,
            channels)` and `seed` int64 `(2,)`. uint8 is faster: the warp then reads the
            decoded bytes and only the small output is converted to float.
        image_size: int. Output side, e.g. 112.
        flip_probability: float. Defaults to 0.5.
        max_rotation_degrees: float. Defaults to 20.0.
        crop_fraction: float. Crop side / frame side. Defaults to 0.5.
        brightness, contrast, saturation, hue: float. ColorJitter amounts. Default to
            0.2, 0.2, 0.2, 0.1.

    Returns:
        the dict with `frames` float32 `(frames, image_size, image_size, channels)` in [0, 1].

    Example:

    >>> clip = {"frames": tf.random.uniform([16, 128, 128, 3]),
    ...         "seed": tf.constant([0, 1], tf.int64)}
    >>> augment_clip(clip, 112)["frames"].shape
    TensorShape([16, 112, 112, 3])
    """
    example = random_geometry(example, flip_probability, max_rotation_degrees, crop_fraction)
    example = apply_warp(example, image_size)
    example["frames"] = _tf().image.convert_image_dtype(example["frames"], "float32")
    return color_jitter(example, brightness, contrast, saturation, hue)
