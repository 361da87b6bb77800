"""Spatio-temporal FER models, reachable by name through `get_model`."""

from kerasfer.models.registry import get_model
from kerasfer.models.registry import list_models
from kerasfer.models.registry import model_spec
from kerasfer.models.registry import register_model
