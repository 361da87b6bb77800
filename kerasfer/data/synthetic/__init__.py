"""Synthetic facial-expression videos: `python -m kerasfer.data.synthetic --out DIR`."""

from kerasfer.data.synthetic.dataset_writer import dataset_classes
from kerasfer.data.synthetic.dataset_writer import write_synthetic_dataset
from kerasfer.data.synthetic.expressions import ACTION_NAMES
from kerasfer.data.synthetic.expressions import AFEW_CLASSES
from kerasfer.data.synthetic.expressions import expression_actions
from kerasfer.data.synthetic.face_identity import FaceIdentity
from kerasfer.data.synthetic.face_renderer import FaceRenderer
from kerasfer.data.synthetic.synthetic_video import SyntheticVideo
from kerasfer.data.synthetic.synthetic_video import render_video
from kerasfer.data.synthetic.timeline import VideoTimeline
