"""SavedModel export of a trained clip model: uint8 aligned-face videos → emotion scores."""

from kerasfer.export.cli import main
from kerasfer.export.export_directory import EXPORT_MARKER_FILENAME
from kerasfer.export.export_directory import ExportDirectory
from kerasfer.export.export_error import ExportError
from kerasfer.export.face_pipeline import FACE_OPTIONS_FILENAME
from kerasfer.export.face_pipeline import face_pipeline_settings
from kerasfer.export.run_export import export_run
from kerasfer.export.saved_model_export import CLASS_NAMES_FILENAME
from kerasfer.export.saved_model_export import EXPORT_SETTINGS_FILENAME
from kerasfer.export.saved_model_export import export_saved_model
from kerasfer.export.saved_model_export import read_export_settings
