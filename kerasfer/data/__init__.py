"""tf.data pipeline, augmentation, clip samplers, folds and synthetic videos."""

from kerasfer.data.read_videos import read_videos
from kerasfer.data.sampling import LabelGuidedSampler
from kerasfer.data.sampling import ReinforceSampler
from kerasfer.data.sampling import ScoreTable
from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler
