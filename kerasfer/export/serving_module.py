"""`ServingModule`: the SavedModel's `tf.Module`, uint8 videos → `VideoInferenceModel`.

The serving function checks its input, preprocesses it exactly as
`kerasfer.data.evaluation_dataset` does (a grey model's frames to the uint8 luma that
`decode_jpeg(channels=1)` returns, `rgb_to_jpeg_luma`; to float [0, 1], bilinear resize
with half-pixel centres and no antialiasing to `image_size` by
`kerasfer.data.augmentation.resize_frames`, normalisation by `normalize_frames`), then
runs the one whole-video inference model, `kerasfer.evaluation.VideoInferenceModel` (Ayral
(2021) master's thesis, Section 3.3.1.3: window max, then Eq. 3.3 softmax pooling with γ_p).

Example:

>>> inference = VideoInferenceModel(model, clip_length=16, pooling_temperature=1.0)
>>> module = ServingModule(inference, settings, asset_paths)
>>> tf.saved_model.save(module, "served/", signatures={"serving_default": module.serve})
"""

from __future__ import annotations

import tensorflow as tf

from kerasfer.data.augmentation import resize_frames
from kerasfer.data.normalization import normalize_frames

SERVING_ERROR_PREFIX = "kerasfer serving:"
SERVING_ERROR = (f"{SERVING_ERROR_PREFIX} `videos` must be uint8 [batch >= 1, frames >= 1, "
                 "height >= 1, width >= 1, 3] aligned RGB faces; received shape")


def rgb_to_jpeg_luma(frames):
    """uint8 RGB `(..., 3)` → uint8 grey `(..., 1)`: the Y that `decode_jpeg(channels=1)` gives.

    Grey models are trained and evaluated on `tf.io.decode_jpeg(jpeg, channels=1)`, which
    returns the JPEG's stored Y plane: the ITU-R 601 luma of the encoder's RGB, rounded to
    uint8. The export receives decoded RGB instead, so it recomputes that luma
    (`tf.image.rgb_to_grayscale`, weights 0.2989, 0.5870, 0.1140) and rounds it to uint8
    as the encoder did. Only where the decoder clipped a colour to [0, 255] in YCbCr → RGB
    is the Y lost (saturated colours; uniform noise JPEGs are mostly such pixels).

    Measured on the 118 builder crops of the carphone sample video with the FER2013
    mini-Xception at 64 × 64 (`tests/test_export_grayscale.py`): 0.02 % of the pixels differ
    from the decoder's Y (by at most 3 levels), the frame probabilities by at most 1.4e-4
    and the video probabilities by 3.7e-5. The unrounded float luma (the export before)
    differed in every pixel by 0.16 levels on average: frame probabilities by up to 4.1e-3,
    video probabilities by 3.7e-4 (no argmax changed in either). Grey frames sent as
    three equal channels come back exactly. Uniform-noise JPEGs, mostly clipped colours,
    are beyond any RGB-side conversion: video probabilities differ by up to 8.6e-3 with
    either (no argmax changed).

    Example:

    >>> rgb_to_jpeg_luma(tf.constant([[[200, 100, 50]]], tf.uint8)).numpy().tolist()
    [[[124]]]
    """
    luma = tf.image.rgb_to_grayscale(tf.cast(frames, tf.float32))
    return tf.cast(tf.clip_by_value(tf.round(luma), 0.0, 255.0), tf.uint8)


class ServingModule(tf.Module):
    """Tracks the model's variables, the class names and assets; `serve` is the signature.

    Args:
        inference: `kerasfer.evaluation.VideoInferenceModel`. The whole-video scorer.
        settings: dict. The export settings (`image_size`, `grayscale`, `normalization`).
        asset_paths: dict. "class_names" and "settings": files copied into `assets/`.

    Call (`serve`):
        videos: uint8 `[batch, frames, height, width, 3]`.

    Returns:
        dict: "probabilities" `(batch, classes)`, "logits" `(batch, classes)`,
        "frame_scores" `(batch, frames, classes)`, "window_scores" `(batch, windows, classes)`.
    """

    def __init__(self, inference, settings, asset_paths):
        super().__init__(name="kerasfer_serving")
        self._inference = inference
        self._image_size = int(settings["image_size"])
        self._grayscale = bool(settings["grayscale"])
        self._normalization = settings["normalization"]
        # Track the backing tf.Variables themselves (as keras.export.ExportArchive does):
        # TF1-style loaders such as `saved_model_cli run` restore only tracked variables.
        self.model_variables = [getattr(v, "value", v) for v in inference.variables]
        self.class_names = tf.Variable(list(settings["class_names"]), trainable=False,
                                       name="class_names")
        self.class_names_file = tf.saved_model.Asset(asset_paths["class_names"])
        self.settings_file = tf.saved_model.Asset(asset_paths["settings"])

    def preprocess(self, videos):
        """uint8 `[batch, frames, h, w, 3]` → float32 `[batch, frames, size, size, c]`."""
        shape = tf.shape(videos)
        frames = tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0))
        if self._grayscale:  # uint8 grey, as evaluation's decode_jpeg(channels=1)
            frames = rgb_to_jpeg_luma(frames)
        else:
            frames = tf.image.convert_image_dtype(frames, tf.float32)
        frames = resize_frames(frames, self._image_size)
        frames = normalize_frames(frames, self._normalization)
        channels = 1 if self._grayscale else 3
        return tf.reshape(frames, [shape[0], shape[1], self._image_size, self._image_size,
                                   channels])

    # The spec leaves the rank open on purpose: a signature function checks the dtype but
    # not the shape of its input, and with a static rank TensorFlow folds any rank check
    # away, so a rank-4 array would fail deep inside the resize. Checked here.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name="videos")])
    def serve(self, videos):
        # One assert on every condition (batch, frames, height, width ≥ 1, 3 channels), so
        # the error text never depends on which failing op the runtime reports first; the
        # shape is padded so a lower rank does not break the indexing before it fires.
        shape = tf.shape(videos)
        padded_shape = tf.concat([shape, tf.ones([5], tf.int32)], axis=0)[:5]
        valid = tf.reduce_all(tf.stack([
            tf.equal(tf.rank(videos), 5), tf.equal(padded_shape[4], 3),
            padded_shape[0] > 0, padded_shape[1] > 0, padded_shape[2] > 0,
            padded_shape[3] > 0]))
        check = tf.debugging.Assert(valid, [SERVING_ERROR, shape], summarize=6,
                                    name="check_videos")
        with tf.control_dependencies([check]):
            videos = tf.ensure_shape(tf.identity(videos), [None, None, None, None, 3])
        outputs = self._inference(self.preprocess(videos))
        return {"probabilities": outputs["probabilities"], "logits": outputs["logits"],
                "frame_scores": outputs["frame_scores"],
                "window_scores": outputs["window_scores"]}
