"""Registers kerasfer's built-in clip samplers (Ayral (2021) master's thesis, Ch. 3).

| kind           | sampler                                   | thesis                     |
| -------------- | ----------------------------------------- | -------------------------- |
| `softmax`      | `TemporalStochasticSoftmaxSampler`        | Eq. 3.8, 3.9, Section 3.2.4 |
| `uniform`      | the same with γ_s = 0, no warm-up / exploration | Eq. 3.7, Table 3.3 "Uniform" |
| `reinforce`    | `ReinforceSampler`                        | Eq. 3.5, Table 3.1          |
| `label_guided` | `LabelGuidedSampler`                      | Section 3.3.2.3, Table 3.2  |

Example:

>>> from kerasfer.data.sampling import build_sampler
>>> build_sampler(SamplerConfig(kind="softmax"), [40], 16).phase(0)
'warmup'
"""

from __future__ import annotations

from kerasfer.data.sampling.label_guided_sampler import LabelGuidedSampler
from kerasfer.data.sampling.reinforce_sampler import ReinforceSampler
from kerasfer.data.sampling.sampler_registry import register_sampler
from kerasfer.data.sampling.temporal_stochastic_softmax import TemporalStochasticSoftmaxSampler
from kerasfer.errors import ConfigError


@register_sampler("softmax")
def build_softmax(options, lengths, clip_length, seed, frame_labels):
    """Temporal stochastic softmax: warm-up, exploration (`options.exploration`), Eq. 3.8."""
    return TemporalStochasticSoftmaxSampler(
        lengths, clip_length, options.sampling_temperature, options.warmup_epochs,
        options.exploration_epochs, seed, exploration=getattr(options, "exploration", "segments"))


@register_sampler("uniform")
def build_uniform(options, lengths, clip_length, seed, frame_labels):
    """The thesis' Uniform baseline: γ_s = 0 from the first epoch, no exploration.

    Scores are still tracked (sampling maps, score–label correlation).
    """
    return TemporalStochasticSoftmaxSampler(lengths, clip_length, 0.0, 0, 0, seed)


@register_sampler("reinforce")
def build_reinforce(options, lengths, clip_length, seed, frame_labels):
    """REINFORCE with a moving-average baseline (Eq. 3.5); uniform warm-up, no exploration."""
    return ReinforceSampler(lengths, clip_length, options.sampling_temperature,
                            options.reinforce_learning_rate, options.reinforce_baseline_decay,
                            options.warmup_epochs, 0, seed)


@register_sampler("label_guided")
def build_label_guided(options, lengths, clip_length, seed, frame_labels):
    """softmax(γ · mean frame label of the clip) from the first epoch (PSPI, Table 3.2)."""
    if frame_labels is None:
        raise ConfigError("sampler.kind", "label_guided needs frame-level labels",
                          "use a dataset built with frame labels, or sampler.kind=softmax")
    return LabelGuidedSampler(frame_labels(), clip_length, options.label_temperature, seed)
