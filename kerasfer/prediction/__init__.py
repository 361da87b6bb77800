"""Raw video → emotion timeline with a kerasfer export (`python -m kerasfer.predict`)."""

from kerasfer.prediction.chunked_frame_scorer import ChunkedFrameScorer
from kerasfer.prediction.export_settings import ExportError
from kerasfer.prediction.export_settings import face_options
from kerasfer.prediction.export_settings import load_export_settings
from kerasfer.prediction.export_settings import resolve_export_dir
from kerasfer.prediction.predictor import Predictor
from kerasfer.prediction.video_prediction import VideoPrediction
from kerasfer.prediction.landmark_face_tracker import LandmarkFaceTracker
from kerasfer.prediction.tracking_mode import TRACKING
from kerasfer.prediction.tracking_mode import TrackingMode
