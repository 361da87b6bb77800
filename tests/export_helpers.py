"""Tiny models, videos and the export call shared by the SavedModel export tests."""

import os
import subprocess

import keras
import numpy as np
import tensorflow as tf

from kerasfer.data.augmentation import resize_frames
from kerasfer.data.normalization import normalize_frames
from kerasfer.evaluation import VideoScorer
from kerasfer.export import export_saved_model
from kerasfer.export.serving_module import rgb_to_jpeg_luma
from kerasfer.layers import WindowedSoftmaxPooling

SIZE, CLASSES, F, GAMMA = 8, 3, 6, 1.5
NAMES = ["happy", "sad", "neutral"]


def fully_conv_model(channels=3, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, SIZE, SIZE, channels))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv3D(CLASSES, (1, SIZE, SIZE), padding="valid")(x)
    frame_scores = keras.layers.Reshape((-1, CLASSES), name="frame_scores")(x)
    outputs = WindowedSoftmaxPooling(F, 1.0, name="temporal_pooling")(frame_scores)
    return keras.Model(inputs, outputs)


def clip_level_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((F, SIZE, SIZE, 3))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Flatten()(keras.layers.MaxPooling3D((2, 2, 2))(x))
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="fc8")(x))


def uint8_video(frames, seed, side=12):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (1, frames, side, side, 3)).astype("uint8")


def reference_scores(model, video, normalization, grayscale=False, short_video="loop"):
    """Keras model + Eq. 3.3 pooling in-process, with the evaluation pipeline's preprocessing
    (a grey model gets the uint8 luma `decode_jpeg(channels=1)` would give)."""
    frames = (rgb_to_jpeg_luma(video[0]) if grayscale
              else tf.image.convert_image_dtype(video[0], tf.float32))
    frames = normalize_frames(resize_frames(frames, SIZE), normalization).numpy()
    return VideoScorer(model, clip_length=F, pooling_temperature=GAMMA,
                       short_video=short_video).score(frames)


def export(model, path, normalization="imagenet", grayscale=False):
    return export_saved_model(model, str(path), normalization=normalization, image_size=SIZE,
                              grayscale=grayscale, clip_length=F, pooling_temperature=GAMMA,
                              class_names=NAMES)


def start(command, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, **kwargs)
