"""Training-clip samplers, score tables and the sampler registry (Ayral (2021) thesis Ch. 3)."""

from kerasfer.data.sampling.label_guided_sampler import LabelGuidedSampler
from kerasfer.data.sampling.reinforce_sampler import ReinforceSampler
from kerasfer.data.sampling.sampler_registry import build_sampler
from kerasfer.data.sampling.sampler_registry import list_samplers
from kerasfer.data.sampling.sampler_registry import register_sampler
from kerasfer.data.sampling.score_table import ScoreTable
from kerasfer.data.sampling.temporal_stochastic_softmax import EXPLORATIONS
from kerasfer.data.sampling.temporal_stochastic_softmax import TemporalStochasticSoftmaxSampler
from kerasfer.data.sampling.temporal_stochastic_softmax import softmax_probabilities
