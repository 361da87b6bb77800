"""Dataset layouts: each module lists the `VideoItem`s of one layout (see `source_registry`)."""

from tfrecords_builder.sources.source_registry import SOURCE_KINDS
from tfrecords_builder.sources.source_registry import make_source
from tfrecords_builder.sources.source_registry import register_source
from tfrecords_builder.sources.biovid import BioVid
from tfrecords_builder.sources.class_folders import ClassFolders
from tfrecords_builder.sources.csv_source import CsvSource
from tfrecords_builder.sources.item_list import ItemList
from tfrecords_builder.sources.unbc_mcmaster import UnbcMcMaster
