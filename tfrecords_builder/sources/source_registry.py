"""The table of source kinds behind `--source <kind>:<path>`."""

from __future__ import annotations

from kerasfer.errors import ConfigError
from tfrecords_builder.sources.biovid import BioVid
from tfrecords_builder.sources.class_folders import ClassFolders
from tfrecords_builder.sources.csv_source import CsvSource
from tfrecords_builder.sources.unbc_mcmaster import UnbcMcMaster

SOURCE_KINDS = {
    "csv": CsvSource,
    "folders": ClassFolders,
    "unbc": UnbcMcMaster,
    "biovid": BioVid,
}


def make_source(spec):
    """Returns the source adapter of a `<kind>:<path>` spec, e.g. `csv:labels.csv`.

    Example:

    >>> make_source("folders:AFEW").kind
    'folders'
    """
    kind, sep, path = str(spec).partition(":")
    if not sep or kind not in SOURCE_KINDS or not path:
        raise ConfigError("--source", f"expected <kind>:<path> with kind in "
                          f"{', '.join(SOURCE_KINDS)}, got {spec!r}",
                          "e.g. --source csv:labels.csv or --source folders:AFEW")
    return SOURCE_KINDS[kind](path)
