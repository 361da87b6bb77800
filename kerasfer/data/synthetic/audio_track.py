"""`render_audio_track`: a voiced sound whose prosody depends on the expression class.

The audio modality of the synthetic videos, so that an audio-visual system (Fan et al.,
"Spatiotemporal networks for video emotion recognition", 2017: eGeMAPS functionals →
random forest / SVC, fused with the video models) can be trained and tested offline. The
track is a train of "syllables" (raised-cosine envelopes at a class-dependent tempo) of a
harmonic source (fundamental f0(t) with 1/k harmonics, a spectral tilt) plus breath noise.
Each class moves four prosodic cues away from the speaker's neutral voice (the direction
found for acted emotional speech, e.g. Banse & Scherer 1996):

| class    | pitch level | pitch contour     | energy | tempo |
| -------- | ----------- | ----------------- | ------ | ----- |
| Angry    | higher      | flat              | loud   | fast  |
| Disgust  | lower       | falling           | softer | slow  |
| Fear     | higher      | trembling (6 Hz)  | soft   | fast  |
| Happy    | higher      | slightly rising   | loud   | fast  |
| Neutral  | speaker's   | flat              | medium | medium|
| Sad      | lower       | falling, narrow   | soft   | slow  |
| Surprise | much higher | strongly rising   | loud   | medium|

Other class names get cues spread deterministically by their index in `class_names`. The
cues scale with the per-frame expression intensity of the video (0 = the speaker's
neutral voice), so the audio peaks with the visual apex. Speakers differ in base pitch
(`speaker_pitch_hz`), and every video draws random prosody jitter and noise, so the
classes overlap: audio alone is informative but not perfect.

Example:

>>> track = render_audio_track("Happy", duration=2.0, seed=[0, 4, 1])
>>> track.shape, track.dtype
((32000,), dtype('float32'))
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
# Bump when the synthesis changes (the synthetic dataset cache keys on it).
AUDIO_TRACK_VERSION = 1

# class → (log2 pitch shift in octaves, contour slope in octaves over a syllable,
#          tremor depth in octaves, loudness gain in dB, syllables per second)
PROSODY = {
    "angry": (0.35, -0.05, 0.00, 5.0, 5.5),
    "disgust": (-0.25, -0.15, 0.00, -3.0, 3.0),
    "fear": (0.45, 0.00, 0.06, -5.0, 6.0),
    "happy": (0.40, 0.10, 0.01, 5.0, 5.0),
    "neutral": (0.0, 0.0, 0.0, 0.0, 4.0),
    "sad": (-0.35, -0.20, 0.00, -7.0, 2.5),
    "surprise": (0.70, 0.50, 0.00, 4.0, 4.0),
}
NEUTRAL = PROSODY["neutral"]


def class_prosody(class_name, class_names=None):
    """Returns the prosody cues of a class (see the module table).

    Args:
        class_name: str. Class name; AFEW names (any case, `_genuine` / `_posed` suffixes
            ignored) use the table.
        class_names: sequence of str or None. The dataset's classes; other names get cues
            spread by their index in it. Defaults to None.

    Returns:
        tuple `(pitch_octaves, slope_octaves, tremor_octaves, gain_db, syllables_per_s)`.
    """
    key = str(class_name).lower().split("_")[0]
    if key in PROSODY:
        return PROSODY[key]
    names = [str(n) for n in (class_names or [class_name])]
    index = names.index(str(class_name)) if str(class_name) in names else 0
    phase = 2 * np.pi * index / max(len(names), 1)
    return (0.4 * np.sin(phase), 0.3 * np.cos(phase), 0.03 * (index % 2), 5.0 * np.cos(2 * phase),
            4.0 + 1.5 * np.sin(2 * phase + 1.0))


def _per_sample(values, num_samples):
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == 0:
        return np.ones(num_samples)
    positions = np.linspace(0, values.size - 1, num_samples)
    return np.interp(positions, np.arange(values.size), values)


def render_audio_track(class_name, *, duration, intensity=None, class_names=None,
                       speaker_pitch_hz=160.0, seed=0, sample_rate=SAMPLE_RATE):
    """Renders the mono audio track of one synthetic video.

    Args:
        class_name: str. Expression class (see `class_prosody`).
        duration: float. Length in seconds (the video's `frames / fps`).
        intensity: array-like `(frames,)` or None. Per-frame expression intensity in
            [0, 1]; the class cues scale with it. Defaults to None (full intensity).
        class_names: sequence of str or None. The dataset's classes. Defaults to None.
        speaker_pitch_hz: float. The speaker's neutral fundamental. Defaults to 160.0.
        seed: int or sequence of int. Seed of the per-video jitter. Defaults to 0.
        sample_rate: int. Rate in Hz. Defaults to 16000.

    Returns:
        float32 `(round(duration * sample_rate),)` in [-1, 1].
    """
    if not duration > 0:
        raise ValueError(f"`duration` must be > 0. Received: duration={duration}")
    if not speaker_pitch_hz > 0:
        raise ValueError(f"`speaker_pitch_hz` must be > 0. Received: speaker_pitch_hz={speaker_pitch_hz}")
    rng = np.random.default_rng(seed)
    num_samples = max(int(round(duration * sample_rate)), 1)
    t = np.arange(num_samples) / sample_rate
    level = np.clip(_per_sample(np.ones(1) if intensity is None else intensity, num_samples), 0, 1)
    cues = np.asarray(class_prosody(class_name, class_names), np.float64)
    # Per-video jitter of every cue: the classes overlap (audio alone is not perfect).
    jitter = rng.normal(0.0, [0.15, 0.15, 0.015, 3.0, 0.8])
    neutral = np.asarray(NEUTRAL, np.float64) + jitter
    pitch, slope, tremor, gain_db, rate = (neutral[:, None] + level[None] * (cues - NEUTRAL)[:, None])
    rate = np.clip(rate, 1.0, 9.0)
    # Syllables: a phase accumulating at the (time-varying) tempo; voiced 70 % of each.
    syllable_phase = np.cumsum(rate) / sample_rate + rng.uniform()
    within = syllable_phase % 1.0
    voiced = within < 0.7
    envelope = np.where(voiced, np.sin(np.pi * np.clip(within / 0.7, 0, 1)) ** 2, 0.0)
    # f0: speaker pitch × class shift, a contour along each syllable, a 6 Hz tremor.
    octaves = (pitch + slope * (within - 0.35) + tremor * np.sin(2 * np.pi * 6.0 * t)
               + 0.02 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t))
    f0 = np.clip(speaker_pitch_hz * 2.0 ** octaves, 50.0, 1000.0)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    source = np.zeros(num_samples)
    for k in range(1, 16):
        audible = (k * f0) < 0.45 * sample_rate
        source += audible * np.sin(k * phase) / k ** 1.2
    amplitude = 0.25 * 10.0 ** (gain_db / 20.0)
    signal = amplitude * envelope * source / 2.0
    signal += 0.01 * rng.standard_normal(num_samples) * (0.3 + envelope)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def speaker_pitch(subject_seed):
    """The neutral fundamental (Hz) of a synthetic speaker, 100-240 Hz, from its seed."""
    return float(np.random.default_rng(subject_seed).uniform(100.0, 240.0))
