"""tf.data pipeline, augmentation, clip samplers, folds and synthetic videos."""

from kerasfer.data.read_videos import read_videos
from kerasfer.data.augmentation import augment_clip
from kerasfer.data.clip_dataset import training_dataset
from kerasfer.data.clip_indices import clip_frame_indices
from kerasfer.data.clip_plan import ClipPlan
from kerasfer.data.dataset_index import DatasetIndex
from kerasfer.data.evaluation_dataset import evaluation_dataset
from kerasfer.data.normalization import normalize_frames
from kerasfer.data.sampling import LabelGuidedSampler
from kerasfer.data.sampling import ReinforceSampler
from kerasfer.data.sampling import ScoreTable
from kerasfer.data.sampling import TemporalStochasticSoftmaxSampler
from kerasfer.data.folds import check_subject_independent
from kerasfer.data.folds import class_weights
from kerasfer.data.folds import dataset_split
from kerasfer.data.folds import leave_one_subject_out
from kerasfer.data.folds import load_splits
from kerasfer.data.folds import make_splits
from kerasfer.data.folds import repeated_subject_splits
from kerasfer.data.folds import save_splits
from kerasfer.data.folds import select_records
from kerasfer.data.folds import subject_holdout_split
from kerasfer.data.folds import subject_k_fold
from kerasfer.data.synthetic import render_video
from kerasfer.data.synthetic import write_synthetic_dataset
