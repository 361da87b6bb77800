"""tfrecords_builder: raw videos → TFRecords of aligned faces (see `python -m tfrecords_builder --help`)."""

from tfrecords_builder.processed_video import ProcessedVideo
from tfrecords_builder.video_item import VideoItem
from tfrecords_builder.process import process_video
