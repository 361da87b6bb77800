"""`Ravdess`: RAVDESS audio-visual recordings, `Actor_XX/MM-VC-EE-II-SS-RR-AA.mp4`.

The Ryerson Audio-Visual Database of Emotional Speech and Song (Livingstone & Russo 2018,
zenodo.org/record/1188976) names every file by seven two-digit codes:
modality (01 full audio-video, 02 video only, 03 audio only) - vocal channel (01 speech,
02 song) - emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful,
07 disgust, 08 surprised) - intensity (01 normal, 02 strong) - statement (01, 02) -
repetition (01, 02) - actor (01-24, odd male, even female). `parse_ravdess_name` decodes
them; the video id keeps the file stem, so the intensity and the other codes stay
readable from `video/id` (e.g. `Actor_01/01-01-03-02-01-01-01`).

Splits are actor-independent and fixed (an assumption; RAVDESS defines none): actors
01-16 train, 17-20 validation, 21-24 test, two men and two women on each held-out side.
Only the audio-video files (modality 01) are listed by default, since the audio-visual
pipeline (Fan et al. 2017) needs the sound track; audio-only `.wav` files are never listed.

Example:

>>> items = Ravdess("RAVDESS").items()
>>> items[0].label_name, items[0].subject, items[0].split
('neutral', 'Actor_01', 'train')
"""

from __future__ import annotations

import collections
import os
import re

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import report, video_files, visible_entries
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

RAVDESS_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
RAVDESS_INTENSITIES = {1: "normal", 2: "strong"}
RAVDESS_MODALITIES = {1: "audio-video", 2: "video-only", 3: "audio-only"}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_ACTOR_FOLDER = re.compile(r"^Actor_\d\d$")

RavdessName = collections.namedtuple(
    "RavdessName", ["modality", "vocal_channel", "emotion", "intensity", "statement",
                    "repetition", "actor"])
RavdessName.__doc__ = ("The seven codes of a RAVDESS file name: modality, vocal_channel "
                       "('speech'/'song'), emotion (class name), intensity ('normal'/'strong'), "
                       "statement, repetition (int) and actor (int, 1-24).")


def parse_ravdess_name(stem):
    """Decodes `MM-VC-EE-II-SS-RR-AA` into a `RavdessName`, or returns None if malformed.

    Example:

    >>> parse_ravdess_name("01-01-03-02-01-01-12").intensity
    'strong'
    """
    match = _NAME.match(stem)
    if match is None:
        return None
    modality, channel, emotion, intensity, statement, repetition, actor = map(int, match.groups())
    if (modality not in RAVDESS_MODALITIES or channel not in (1, 2)
            or not 1 <= emotion <= len(RAVDESS_CLASSES) or intensity not in RAVDESS_INTENSITIES
            or statement not in (1, 2) or repetition not in (1, 2) or not 1 <= actor <= 24):
        return None
    return RavdessName(RAVDESS_MODALITIES[modality], "speech" if channel == 1 else "song",
                       RAVDESS_CLASSES[emotion - 1], RAVDESS_INTENSITIES[intensity],
                       statement, repetition, actor)


def ravdess_split(actor):
    """Actor-independent split of an actor number: 1-16 train, 17-20 validation, 21-24 test."""
    return "train" if actor <= 16 else "validation" if actor <= 20 else "test"


@register_source("ravdess", usage="ravdess:ROOT",
                 help="RAVDESS: [*/]Actor_XX/MM-VC-EE-II-SS-RR-AA.mp4 (audio-video files), "
                      "8 emotions, actor-independent splits")
class Ravdess:
    """Lists the audio-video recordings of RAVDESS (see module docstring).

    Layout: `<root>/[<any folder>/]Actor_XX/<MM-VC-EE-II-SS-RR-AA>.mp4`, e.g. the archives
    `Video_Speech_Actor_01.zip` unpacked side by side. Files with a malformed name, or
    whose actor code does not match their `Actor_XX` folder, are reported as label errors.

    Args:
        root: str. Folder holding the `Actor_XX` folders (at any depth up to 2).
        modalities: tuple of str. Modalities to list. Defaults to ("audio-video",);
            add "video-only" for the silent copies (written with `audio/present = 0`).
    """

    classes = RAVDESS_CLASSES

    def __init__(self, root, modalities=("audio-video",)):
        self.root = os.path.abspath(str(root))
        if not os.path.isdir(self.root):
            raise LabelError(self.root, "folder not found",
                             "pass --source ravdess:<folder holding the Actor_XX folders>")
        unknown = set(modalities) - {"audio-video", "video-only"}
        if unknown:
            raise ValueError(f"`modalities` must be among ('audio-video', 'video-only'). "
                             f"Received: modalities={modalities!r}")
        self.modalities = tuple(modalities)

    def _actor_folders(self):
        # `root/Actor_XX` or `root/<archive folder>/Actor_XX`.
        parents = [self.root] + [os.path.join(self.root, name) for name in visible_entries(self.root)
                                 if os.path.isdir(os.path.join(self.root, name))]
        return sorted(os.path.join(parent, name) for parent in parents
                      for name in visible_entries(parent)
                      if _ACTOR_FOLDER.match(name) and os.path.isdir(os.path.join(parent, name)))

    def items(self, on_error=None):
        """Returns the `VideoItem`s sorted by path; `on_error(item_id, LabelError)` or raise."""
        items, videos = [], 0
        for folder in self._actor_folders():
            actor_folder = os.path.basename(folder)
            for path, stem in video_files(folder):
                videos += 1
                item_id = os.path.relpath(os.path.join(folder, stem), self.root).replace(os.sep, "/")
                code = parse_ravdess_name(stem)
                if code is None or f"Actor_{code.actor:02d}" != actor_folder:
                    report(on_error, item_id, LabelError(
                        path, f"file name is not MM-VC-EE-II-SS-RR-AA with valid RAVDESS codes "
                        f"and actor {actor_folder[-2:]}", "restore the original file name"))
                    continue
                if code.modality not in self.modalities:
                    continue
                items.append(VideoItem(path=path, video_id=item_id, label_name=code.emotion,
                                       subject=actor_folder, split=ravdess_split(code.actor)))
        if not videos:
            raise LabelError(self.root, "no videos found in Actor_XX/MM-VC-EE-II-SS-RR-AA.mp4",
                             "unpack the RAVDESS Video_Speech_Actor_XX archives into this folder")
        return items
