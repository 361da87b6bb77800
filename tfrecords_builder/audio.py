"""Audio track of a video: PyAV decoding to 16 kHz mono and eGeMAPS functionals (openSMILE).

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Section 4.2.1:
one 88-dimensional eGeMAPS (Eyben et al. 2016, the extended Geneva Minimalistic Acoustic
Parameter Set, version 02) functional vector per video, extracted with openSMILE. Here the
`opensmile` Python package (an optional dependency: `pip install "kerasfer[audio]"`) runs
the toolkit on the track decoded with PyAV, downmixed and resampled to 16 kHz mono float.

A container without an audio stream (or a frame folder) has no track: `decode_audio`
returns None and the builder writes the video with `audio/present = 0` (never drops it).

Example:

>>> signal = decode_audio("clip.mp4")          # float32 (samples,), 16 kHz, or None
>>> egemaps_functionals(signal).shape
(88,)
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

from kerasfer.errors import ConfigError, VideoDecodeError
from kerasfer.schema import NUM_EGEMAPS

SAMPLE_RATE = 16000
AUDIO_FEATURES = ("none", "egemaps")
# openSMILE's eGeMAPS needs a few pitch periods; shorter tracks are zero-padded to this.
MIN_SECONDS = 0.5


def decode_audio(path, sample_rate=SAMPLE_RATE):
    """Decodes the first audio stream of a video file to mono float32 at `sample_rate`.

    Args:
        path: str. A video (or audio) file any ffmpeg build reads.
        sample_rate: int. Output rate in Hz. Defaults to 16000.

    Returns:
        float32 array `(samples,)` in [-1, 1], or None when the container has no audio
        stream (or it decodes to no samples).

    Raises:
        VideoDecodeError: the file cannot be opened or its audio stream is corrupt.
    """
    import av

    path = os.fspath(path)
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(path, f"cannot be opened to read its audio ({type(exc).__name__})",
                               "check the file plays in ffplay/VLC") from exc
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=int(sample_rate))
        chunks = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoDecodeError(path, f"its audio stream fails to decode ({type(exc).__name__})",
                                   "re-encode the file (e.g. ffmpeg -i in -c:a aac out.mp4)") from exc
    finally:
        container.close()
    if not chunks:
        return None
    signal = np.concatenate(chunks).astype(np.float32)
    return signal if signal.size else None


@functools.lru_cache(maxsize=1)
def _egemaps_extractor():
    try:
        import opensmile
    except ImportError as exc:
        raise ConfigError("--audio-features egemaps", "the opensmile package is not installed",
                          'pip install "kerasfer[audio]" (or pip install opensmile)') from exc
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def _functionals_in_process(signal, sample_rate):
    return np.asarray(_egemaps_extractor().process_signal(signal, int(sample_rate)).to_numpy(),
                      np.float32).reshape(-1)


class _IsolatedSmile:
    """openSMILE in a helper process that never imports TensorFlow.

    openSMILE's native library corrupts the heap of a process that has loaded TensorFlow
    ("malloc(): invalid size" after a few dozen calls, measured with TensorFlow 2.21 and
    opensmile 2.6.0), so next to TensorFlow the functionals are computed in a plain
    `python -c` child (not multiprocessing, whose spawn re-imports the parent's `__main__`
    and with it TensorFlow); signals and results cross its pipes as `.npy` arrays.
    """

    def __init__(self):
        import atexit
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tfrecords_builder.audio import _serve; _serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        atexit.register(self.close)

    def __call__(self, signal, sample_rate):
        request = np.append(np.asarray(signal, np.float32), np.float32(sample_rate))
        try:
            _write_frame(self.process.stdin, request)
            return _read_frame(self.process.stdout)
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"the openSMILE helper process ended (exit code "
                               f"{self.process.poll()}); see its error above") from exc

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


@functools.lru_cache(maxsize=1)
def _isolated_smile():
    return _IsolatedSmile()


def _write_frame(stream, values):
    data = np.ascontiguousarray(values, np.float32).tobytes()
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _read_frame(stream):
    def exactly(size):
        data = b""
        while len(data) < size:
            chunk = stream.read(size - len(data))
            if not chunk:
                raise EOFError("pipe closed")
            data += chunk
        return data

    size = int.from_bytes(exactly(8), "little")
    return np.frombuffer(exactly(size), np.float32).copy()


def _serve():
    """The helper process of `_IsolatedSmile`: float32 frames on stdin, answers on stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by the libraries goes to stderr, not into the protocol
    while True:
        try:
            request = _read_frame(sys.stdin.buffer)
        except EOFError:
            return
        _write_frame(out, _functionals_in_process(request[:-1], int(request[-1])))


def egemaps_feature_names():
    """Returns the 88 eGeMAPSv02 functional names in storage order (openSMILE's order)."""
    return list(_egemaps_extractor().feature_names)


def egemaps_functionals(signal, sample_rate=SAMPLE_RATE):
    """The 88 eGeMAPSv02 functionals of one mono signal (Fan et al. 2017, Section 4.2.1).

    Args:
        signal: float array `(samples,)`, mono, in [-1, 1].
        sample_rate: int. Its rate in Hz. Defaults to 16000.

    Returns:
        float32 array `(88,)`, finite (openSMILE's rare NaN, e.g. on silence, become 0).

    Example:

    >>> t = np.arange(16000) / 16000
    >>> egemaps_functionals(0.3 * np.sin(2 * np.pi * 220 * t)).shape
    (88,)
    """
    signal = np.asarray(signal, np.float32).reshape(-1)
    minimum = int(MIN_SECONDS * sample_rate)
    if signal.size < minimum:
        signal = np.pad(signal, (0, minimum - signal.size))
    _egemaps_extractor()  # a missing opensmile package fails here, with its fix
    if "tensorflow" in sys.modules:
        values = _isolated_smile()(signal, sample_rate)
    else:
        values = _functionals_in_process(signal, sample_rate)
    if values.size != NUM_EGEMAPS:  # Only with another openSMILE feature set.
        raise RuntimeError(f"openSMILE returned {values.size} eGeMAPS values, expected {NUM_EGEMAPS}")
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def extract_audio_features(path, features="egemaps"):
    """Audio features of one video file; None when it has no audio track.

    Args:
        path: str. The video file.
        features: str. One of `AUDIO_FEATURES`; "none" returns None. Defaults to "egemaps".

    Returns:
        float32 array `(88,)` or None.
    """
    if features not in AUDIO_FEATURES:
        raise ValueError(f"`features` must be one of {AUDIO_FEATURES}. Received: features={features!r}")
    if features == "none":
        return None
    signal = decode_audio(path)
    if signal is None:
        return None
    return egemaps_functionals(signal)
