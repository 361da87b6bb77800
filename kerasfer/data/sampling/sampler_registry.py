"""The clip-sampler registry: `build_sampler(sampler_config, lengths, ...)` by `kind`.

Adding a sampler is one file with one decorated builder:

    @register_sampler("my_sampler")
    def build_my_sampler(options, lengths, clip_length, seed, frame_labels):
        return MySampler(lengths, clip_length, seed=seed)

`options` is the `sampler` section of the experiment config (`kerasfer.config.SamplerConfig`
or any object with the same attributes), `lengths` the frames of each training video in
`video_index` order, and `frame_labels` a zero-argument callable returning one frame-label
array per training video (read only by samplers that need them, e.g. `label_guided`).
`list_samplers()` gives the valid `sampler.kind` values.

Ayral (2021) master's thesis, Ch. 3: "softmax" is temporal stochastic softmax (Eq. 3.8, 3.9,
Section 3.2.4), "uniform" the thesis' Uniform baseline (Eq. 3.7: γ_s = 0 from the first
epoch, no warm-up, no exploration), "reinforce" the REINFORCE estimator (Eq. 3.5, Table 3.1)
and "label_guided" sampling from frame labels (Section 3.3.2.3, Table 3.2).

Example:

>>> sorted(list_samplers())
['label_guided', 'reinforce', 'softmax', 'uniform']
>>> sampler = build_sampler(SamplerConfig(kind="uniform"), [40, 30], clip_length=16)
"""

from __future__ import annotations

from kerasfer.errors import ConfigError

_SAMPLERS = {}


def register_sampler(kind):
    """Decorator registering `builder(options, lengths, clip_length, seed, frame_labels)`."""

    def decorator(builder):
        if kind in _SAMPLERS and _SAMPLERS[kind] is not builder:
            raise ValueError(f"Sampler kind already registered. Received: kind={kind!r}")
        _SAMPLERS[kind] = builder
        return builder

    return decorator


def list_samplers():
    """Returns the registered `sampler.kind` names, sorted."""
    _load_builtin()
    return sorted(_SAMPLERS)


def build_sampler(options, lengths, clip_length=16, seed=0, frame_labels=None):
    """Builds the sampler named by `options.kind`.

    Args:
        options: the config's `sampler` section (`kind`, `sampling_temperature`, ...).
        lengths: sequence of int. Frames of each training video.
        clip_length: int. F. Defaults to 16.
        seed: int. Seed of the sampler's generator. Defaults to 0.
        frame_labels: callable or None. Returns the frame labels of the training videos;
            None when the data has none. Defaults to None.

    Returns:
        A `TemporalStochasticSoftmaxSampler` (or subclass).
    """
    _load_builtin()
    if options.kind not in _SAMPLERS:
        raise ConfigError("sampler.kind", f"unknown sampler {options.kind!r}",
                          f"use one of {', '.join(sorted(_SAMPLERS))}")
    return _SAMPLERS[options.kind](options, list(lengths), int(clip_length), int(seed),
                                   frame_labels)


def _load_builtin():
    # The built-in samplers register themselves on import.
    from kerasfer.data.sampling import builtin_samplers  # noqa: F401
