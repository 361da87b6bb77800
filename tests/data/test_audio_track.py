"""Synthetic audio track: class-dependent prosody (pitch, energy, tempo), in the mp4 files."""

import os

import numpy as np
import pytest

from kerasfer.data.synthetic.audio_track import class_prosody, render_audio_track


def _pitch_hz(signal, rate=16000):
    # Autocorrelation pitch of the loudest 40 ms window.
    window = int(0.04 * rate)
    energy = np.convolve(signal ** 2, np.ones(window), "valid")
    start = int(np.argmax(energy))
    frame = signal[start:start + window] - signal[start:start + window].mean()
    corr = np.correlate(frame, frame, "full")[window - 1:]
    low, high = rate // 1000, rate // 50
    return rate / (low + int(np.argmax(corr[low:high])))


def _tempo(signal, rate=16000):
    # Syllables per second: upward crossings of the smoothed envelope's median.
    envelope = np.convolve(np.abs(signal), np.ones(400) / 400, "same")
    above = envelope > 0.5 * envelope.max()
    return np.sum(above[1:] & ~above[:-1]) / (signal.size / rate)


def test_shape_range_determinism():
    track = render_audio_track("Happy", duration=1.5, seed=[0, 4, 1])
    assert track.shape == (24000,) and track.dtype == np.float32
    assert np.abs(track).max() <= 1.0 and np.abs(track).max() > 0.05
    np.testing.assert_array_equal(track, render_audio_track("Happy", duration=1.5, seed=[0, 4, 1]))
    assert not np.array_equal(track, render_audio_track("Happy", duration=1.5, seed=[0, 4, 2]))
    with pytest.raises(ValueError, match="Received: duration=0"):
        render_audio_track("Happy", duration=0)


def test_prosody_follows_class_and_intensity():
    kwargs = dict(duration=3.0, speaker_pitch_hz=150.0)
    pitches = {name: np.median([_pitch_hz(render_audio_track(name, seed=s, **kwargs))
                                for s in range(6)]) for name in ("Sad", "Neutral", "Surprise")}
    assert pitches["Sad"] < pitches["Neutral"] < pitches["Surprise"]
    loud = np.mean([np.std(render_audio_track("Angry", seed=s, **kwargs)) for s in range(6)])
    soft = np.mean([np.std(render_audio_track("Sad", seed=s, **kwargs)) for s in range(6)])
    assert loud > 2 * soft
    fast = np.mean([_tempo(render_audio_track("Fear", seed=s, **kwargs)) for s in range(6)])
    slow = np.mean([_tempo(render_audio_track("Sad", seed=s, **kwargs)) for s in range(6)])
    assert fast > 1.5 * slow
    # Intensity 0 everywhere: the speaker's neutral voice, whatever the class.
    zero = np.zeros(10)
    np.testing.assert_allclose(render_audio_track("Angry", intensity=zero, seed=3, **kwargs),
                               render_audio_track("Sad", intensity=zero, seed=3, **kwargs))
    # Unknown class names get distinct cues from their index.
    names = ["calm", "excited", "bored"]
    assert len({class_prosody(n, names) for n in names}) == 3


def test_mp4_carries_the_track(tmp_path):
    import av

    from kerasfer.data.synthetic import write_synthetic_dataset

    out = write_synthetic_dataset(str(tmp_path / "a"), num_videos=2, num_subjects=1,
                                  image_size=32, min_frames=25, max_frames=25, write_mp4=True)
    path = os.path.join(out, "videos", "syn00000.mp4")
    with av.open(path) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        assert container.streams.audio[0].sample_rate == 16000
        assert container.streams.audio[0].layout.name == "mono"
    again = write_synthetic_dataset(str(tmp_path / "b"), num_videos=2, num_subjects=1,
                                    image_size=32, min_frames=25, max_frames=25, write_mp4=True)
    with open(path, "rb") as first, open(os.path.join(again, "videos", "syn00000.mp4"), "rb") as second:
        assert first.read() == second.read()  # deterministic, audio included
