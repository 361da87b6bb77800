"""tf.data pipeline, augmentation, clip samplers, folds and synthetic videos."""

from kerasfer.data.read_videos import read_videos
