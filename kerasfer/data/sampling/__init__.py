"""Training-clip samplers and score tables (thesis Ch. 3)."""

from kerasfer.data.sampling.label_guided_sampler import LabelGuidedSampler
from kerasfer.data.sampling.reinforce_sampler import ReinforceSampler
from kerasfer.data.sampling.score_table import ScoreTable
from kerasfer.data.sampling.temporal_stochastic_softmax import TemporalStochasticSoftmaxSampler
from kerasfer.data.sampling.temporal_stochastic_softmax import softmax_probabilities
