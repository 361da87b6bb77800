"""tfrecords_builder: raw videos → TFRecords of aligned faces (see `python -m tfrecords_builder --help`)."""

from tfrecords_builder.processed_video import ProcessedVideo
from tfrecords_builder.video_item import VideoItem
from tfrecords_builder.process import process_video
from tfrecords_builder.build_job import BuildJob
from tfrecords_builder.build_summary import BuildSummary
from tfrecords_builder.writer import DatasetWriter
