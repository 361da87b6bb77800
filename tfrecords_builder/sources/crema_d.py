"""`CremaD`: CREMA-D videos, `VideoFlash/ActorID_Sentence_Emotion_Level.flv` + demographics.

The Crowd-sourced Emotional Multimodal Actors Dataset (Cao et al. 2014,
github.com/CheyneyComputerScience/CREMA-D): 7,442 clips of 91 actors (1001-1091) saying
12 sentences with 6 emotions at up to 4 levels. File names are
`<ActorID>_<Sentence>_<Emotion>_<Level>.flv`, e.g. `1001_DFA_ANG_XX.flv`: sentence codes
(IEO, TIE, IOM, IWW, TAI, MTI, IWL, ITH, DFA, ITS, TSI, WSI), emotion ANG, DIS, FEA, HAP,
NEU, SAD (class names anger, disgust, fear, happy, neutral, sad), level LO, MD, HI or XX
(unspecified). `VideoDemographics.csv` (ActorID, Age, Sex, Race, Ethnicity) lists every
actor; `parse_crema_d_name` decodes a name and `read_demographics` the CSV.

Splits are actor-independent and balanced by sex (an assumption; CREMA-D defines none):
within each sex, actors in ID order are dealt train, train, ..., validation, test in
blocks of 20 (14 train, 3 validation, 3 test). The video id keeps the file stem, so the
sentence and level stay readable from `video/id`.

Example:

>>> items = CremaD("CREMA-D").items()
>>> items[0].video_id, items[0].label_name, items[0].subject
('1001_DFA_ANG_XX', 'anger', '1001')
"""

from __future__ import annotations

import collections
import csv
import os
import re

from kerasfer.errors import LabelError
from tfrecords_builder.sources._paths import report, video_files
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.video_item import VideoItem

CREMA_D_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy",
                    "NEU": "neutral", "SAD": "sad"}
CREMA_D_CLASSES = tuple(CREMA_D_EMOTIONS.values())
CREMA_D_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS",
                     "TSI", "WSI")
CREMA_D_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
DEMOGRAPHICS_FILENAME = "VideoDemographics.csv"
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")

CremaDName = collections.namedtuple("CremaDName", ["actor", "sentence", "emotion", "level"])
CremaDName.__doc__ = ("The codes of a CREMA-D file name: actor id (str), sentence code, "
                      "emotion (class name) and level ('low', 'medium', 'high', 'unspecified').")


def parse_crema_d_name(stem):
    """Decodes `ActorID_Sentence_Emotion_Level` into a `CremaDName`, or None if malformed.

    Example:

    >>> parse_crema_d_name("1001_DFA_ANG_XX").emotion
    'anger'
    """
    match = _NAME.match(stem)
    if match is None:
        return None
    actor, sentence, emotion, level = match.groups()
    if sentence not in CREMA_D_SENTENCES or emotion not in CREMA_D_EMOTIONS \
            or level not in CREMA_D_LEVELS:
        return None
    return CremaDName(actor, sentence, CREMA_D_EMOTIONS[emotion], CREMA_D_LEVELS[level])


def read_demographics(path):
    """Reads `VideoDemographics.csv`; returns {actor id: row dict (Age, Sex, Race, ...)}."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise LabelError(path, f"cannot read the actor demographics ({exc.strerror or exc})",
                         f"put CREMA-D's {DEMOGRAPHICS_FILENAME} next to VideoFlash/") from exc
    if not rows or "ActorID" not in rows[0] or "Sex" not in rows[0]:
        raise LabelError(path, "not CREMA-D's demographics table (needs ActorID and Sex columns)",
                         f"use the {DEMOGRAPHICS_FILENAME} shipped with CREMA-D")
    return {row["ActorID"].strip(): row for row in rows}


def crema_d_splits(demographics):
    """Actor id → "train" / "validation" / "test", actor-independent and balanced by sex."""
    splits = {}
    by_sex = collections.defaultdict(list)
    for actor, row in demographics.items():
        by_sex[row.get("Sex", "").strip().lower()].append(actor)
    for actors in by_sex.values():
        for rank, actor in enumerate(sorted(actors)):
            slot = rank % 20
            splits[actor] = "train" if slot < 14 else "validation" if slot < 17 else "test"
    return splits


@register_source("crema_d", usage="crema_d:ROOT",
                 help="CREMA-D: VideoFlash/<Actor>_<Sentence>_<Emotion>_<Level>.flv + "
                      "VideoDemographics.csv, 6 emotions, actor-independent splits")
class CremaD:
    """Lists the CREMA-D videos with actor demographics (see module docstring).

    Layout: `<root>/VideoFlash/*.flv` (or the videos directly in `root`, any video
    extension) and `<root>/VideoDemographics.csv`. Malformed names and actors missing from
    the demographics file are reported as label errors.

    Args:
        root: str. The CREMA-D folder.
    """

    classes = CREMA_D_CLASSES

    def __init__(self, root):
        self.root = os.path.abspath(str(root))
        if not os.path.isdir(self.root):
            raise LabelError(self.root, "folder not found",
                             "pass --source crema_d:<CREMA-D folder holding VideoFlash/>")
        video_dir = os.path.join(self.root, "VideoFlash")
        self.video_dir = video_dir if os.path.isdir(video_dir) else self.root
        self.demographics = read_demographics(os.path.join(self.root, DEMOGRAPHICS_FILENAME))
        self.splits = crema_d_splits(self.demographics)

    def items(self, on_error=None):
        """Returns the `VideoItem`s sorted by name; `on_error(item_id, LabelError)` or raise."""
        items, videos = [], 0
        for path, stem in video_files(self.video_dir):
            videos += 1
            code = parse_crema_d_name(stem)
            if code is None:
                report(on_error, stem, LabelError(
                    path, "file name is not <ActorID>_<Sentence>_<Emotion>_<Level> with CREMA-D "
                    "codes", "restore the original file name"))
                continue
            if code.actor not in self.demographics:
                report(on_error, stem, LabelError(
                    path, f"actor {code.actor} is not in {DEMOGRAPHICS_FILENAME}",
                    "use the complete demographics file shipped with CREMA-D"))
                continue
            items.append(VideoItem(path=path, video_id=stem, label_name=code.emotion,
                                   subject=code.actor, split=self.splits[code.actor]))
        if not videos:
            raise LabelError(self.video_dir, "no videos found (<Actor>_<Sentence>_<Emotion>_<Level>.flv)",
                             "point --source crema_d: to the CREMA-D folder holding VideoFlash/")
        return items
