"""`AudioVideoProcessor`: the builder's per-video step plus the audio track's features."""

from __future__ import annotations

from tfrecords_builder.audio import AUDIO_FEATURES, extract_audio_features


class AudioVideoProcessor:
    """Faces of a video (`process_video`) plus eGeMAPS of its audio track (Fan et al. 2017).

    A picklable `process_fn` for `BuildJob` (it runs in the worker processes): the faces
    come from `process_fn` (default `tfrecords_builder.process.process_video`), then the
    audio track is decoded with PyAV (16 kHz mono) and its 88 eGeMAPSv02 functionals
    (Fan et al. 2017, Section 4.2.1) are stored in `ProcessedVideo.audio_egemaps`. A video
    without an audio track (or a frame folder) is kept with `audio_missing = True`; the
    writer reports it in one line and stores `audio/present = 0`.

    Args:
        features: str. "egemaps" (or "none": faces only). Defaults to "egemaps".
        process_fn: callable `(VideoItem, FaceOptions) -> ProcessedVideo` or None.
            Defaults to None (`process_video`).

    Example:

    >>> job = BuildJob(source, "out", process_fn=AudioVideoProcessor("egemaps"))
    """

    def __init__(self, features="egemaps", process_fn=None):
        if features not in AUDIO_FEATURES:
            raise ValueError(f"`features` must be one of {AUDIO_FEATURES}. "
                             f"Received: features={features!r}")
        self.features = features
        self.process_fn = process_fn

    def __call__(self, item, options):
        process_fn = self.process_fn
        if process_fn is None:
            from tfrecords_builder.process import process_video as process_fn
        processed = process_fn(item, options)
        if self.features == "none":
            return processed
        features = None if item.is_frame_folder else extract_audio_features(item.path,
                                                                            self.features)
        processed.audio_egemaps = features
        processed.audio_missing = features is None
        return processed
