"""kerasfer.training: the fit loop around the temporal stochastic softmax sampler."""

from kerasfer.training.clip_scoring_model import ClipScoringModel
from kerasfer.training.clip_scoring_model import pad_batch
from kerasfer.training.confusion_matrix_callback import ConfusionMatrixCallback
from kerasfer.training.experiment import Experiment
from kerasfer.training.optimizers import build_optimizer
from kerasfer.training.best_model_checkpoint import BestModelCheckpoint
from kerasfer.training.nan_stop import NaNStop
from kerasfer.training.resumable_early_stopping import ResumableEarlyStopping
from kerasfer.training.training_backup import TrainingBackup
from kerasfer.training.sampler_callback import ClipSamplerCallback
from kerasfer.training.sampling_maps_callback import SamplingMapsCallback
from kerasfer.training.strategy import make_strategy
