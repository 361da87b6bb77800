"""`augment_and_normalize`: the training augmentation + normalisation as one XLA kernel.

Same result as `augment_clip` followed by `normalize_frames` for the same seed (the
random draws are the same functions; the contrast pivot, each frame's mean grey level,
is estimated on every 4th row and column, within ~0.01 of the full mean on face-like
frames), but several times cheaper on CPU: TensorFlow's
`ImageProjectiveTransformV3` evaluates the projective map per output element and
channel, while here the sampling grid is computed once per clip (it is shared by all
frames, thesis 2.2.3.2), the four bilinear taps are gathered for all frames at once and
the uint8 → float conversion, colour jitter, clipping and normalisation fuse into the
same XLA loop. One compiled kernel per frame size, output size and channel count.
"""

from __future__ import annotations

from kerasfer.data.augmentation import (apply_jitter, jitter_parameters, random_geometry,
                                        warp_pixel_matrix)
from kerasfer.data.normalization import normalization_constants

_KERNELS = {}
# The contrast pivot (mean grey level) is estimated on every 4th row and column: the
# reduction can then be computed from the gathered taps without first materialising
# the whole warped clip.
_MEAN_STRIDE = 4


def _kernel(image_size, channels, use_hue, use_jitter=True):
    import tensorflow as tf

    key = (image_size, channels, use_hue, use_jitter)
    if key in _KERNELS:
        return _KERNELS[key]

    @tf.function(jit_compile=True, reduce_retracing=True)
    def kernel(frames, matrix, gains, delta, mean, std):
        shape = tf.shape(frames)
        num_frames, height, width = shape[0], shape[1], shape[2]
        rows, cols = tf.meshgrid(tf.range(image_size, dtype=tf.float32),
                                 tf.range(image_size, dtype=tf.float32), indexing="ij")
        x = matrix[0, 0] * cols + matrix[0, 1] * rows + matrix[0, 2]
        y = matrix[1, 0] * cols + matrix[1, 1] * rows + matrix[1, 2]
        x_floor, y_floor = tf.floor(x), tf.floor(y)
        weight_x, weight_y = x - x_floor, y - y_floor
        x_floor = tf.cast(x_floor, tf.int32)
        y_floor = tf.cast(y_floor, tf.int32)
        flat = tf.reshape(frames, [num_frames, height * width, channels])
        warped = tf.zeros([num_frames, image_size * image_size, channels])
        taps = ((0, 0, (1.0 - weight_x) * (1.0 - weight_y)), (0, 1, weight_x * (1.0 - weight_y)),
                (1, 0, (1.0 - weight_x) * weight_y), (1, 1, weight_x * weight_y))
        for step_y, step_x, weight in taps:
            tap_x, tap_y = x_floor + step_x, y_floor + step_y
            # Augmentation: taps outside the frame read black (the fill of `apply_warp`).
            if use_jitter:
                inside = (tap_x >= 0) & (tap_x < width) & (tap_y >= 0) & (tap_y < height)
            else:
                # Plain resize: clamp to the edge, as tf.image.resize.
                inside = tf.ones_like(tap_x, tf.bool)
            index = (tf.clip_by_value(tap_y, 0, height - 1) * width
                     + tf.clip_by_value(tap_x, 0, width - 1))
            values = tf.cast(tf.gather(flat, tf.reshape(index, [-1]), axis=1), tf.float32)
            weight = tf.reshape(weight * tf.cast(inside, tf.float32), [1, -1, 1])
            warped += values * weight
        warped = tf.reshape(warped, [num_frames, image_size, image_size, channels]) / 255.0
        if use_jitter:
            warped = apply_jitter(warped, gains, delta if use_hue else None,
                                  mean_stride=_MEAN_STRIDE)
        return (warped - mean) / std

    _KERNELS[key] = kernel
    return kernel


def augment_and_normalize(frames, seed, image_size, normalization="imagenet",
                          flip_probability=0.5, max_rotation_degrees=20.0, crop_fraction=0.5,
                          brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1):
    """Augments (thesis 2.2.3.2, one draw per clip) and normalises a decoded clip.

    Args:
        frames: uint8 tensor `(frames, height, width, channels)`, channels 1 or 3.
        seed: int64 `(2,)`. The clip's stateless seed (`clip_seed`).
        image_size: int. Output side.
        normalization: str or (mean, std). See `normalize_frames`. Defaults to "imagenet".
        Other args: as `augment_clip`.

    Returns:
        float32 `(frames, image_size, image_size, channels)`, equal (up to float rounding,
        the uint8 rounding `apply_warp` does on uint8 input and the strided contrast
        pivot) to `normalize_frames(augment_clip(...)["frames"], normalization)`.

    Example:

    >>> clip = tf.zeros([16, 224, 224, 3], tf.uint8)
    >>> augment_and_normalize(clip, tf.constant([0, 1], tf.int64), 112).shape
    TensorShape([16, 112, 112, 3])
    """
    import tensorflow as tf

    channels = int(frames.shape[-1])
    example = random_geometry({"frames": frames, "seed": seed}, flip_probability,
                              max_rotation_degrees, crop_fraction)
    matrix = warp_pixel_matrix(example, image_size)
    gains, delta = jitter_parameters(seed, brightness, contrast, saturation, hue)
    mean, std = normalization_constants(normalization, channels)
    output = _kernel(int(image_size), channels, bool(hue) and channels == 3)(
        frames, matrix, gains, delta, tf.constant(mean, tf.float32), tf.constant(std, tf.float32))
    return tf.ensure_shape(output, [frames.shape[0], image_size, image_size, channels])


def resize_and_normalize(frames, image_size, normalization="imagenet"):
    """Bilinear resize + normalisation of a decoded clip in one XLA kernel: the clean copy.

    Equal (up to float rounding) to `normalize_frames(resize_frames(frames, image_size),
    normalization)`: bilinear with half-pixel centres, no antialiasing (an exact 2×
    reduction, e.g. 224 → 112, averages 2 × 2 blocks).

    Args:
        frames: uint8 tensor `(frames, height, width, channels)`.
        image_size: int. Output side.
        normalization: str or (mean, std). Defaults to "imagenet".

    Returns:
        float32 `(frames, image_size, image_size, channels)`.
    """
    import tensorflow as tf

    channels = int(frames.shape[-1])
    matrix = warp_pixel_matrix({"frames": frames}, image_size)
    mean, std = normalization_constants(normalization, channels)
    output = _kernel(int(image_size), channels, False, use_jitter=False)(
        frames, matrix, tf.ones([3]), tf.constant(0.0), tf.constant(mean, tf.float32),
        tf.constant(std, tf.float32))
    return tf.ensure_shape(output, [frames.shape[0], image_size, image_size, channels])
