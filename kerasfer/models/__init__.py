"""Spatio-temporal FER models, reachable by name through `get_model`."""

from kerasfer.models.registry import ModelSpec
from kerasfer.models.registry import get_model
from kerasfer.models.registry import list_models
from kerasfer.models.registry import model_spec
from kerasfer.models.registry import register_model
from kerasfer.models.contract import POOLINGS
from kerasfer.models.contract import TEMPORAL_OUTPUTS
from kerasfer.models.clip_classifier import ClipClassifier
from kerasfer.models.c3d import c3d
from kerasfer.models.resnet3d import resnet3d
from kerasfer.models.resnet3d import resnet3d_backbone
from kerasfer.models.fer_mini_xception import fer_mini_xception_2d
from kerasfer.models.fer_mini_xception import fer_mini_xception_3d
from kerasfer.models.i3d_vgg16 import i3d_vgg16
from kerasfer.models.cnn_bilstm import cnn_bilstm
from kerasfer.models.inflation import inflate
from kerasfer.models.grid_lstm import GridLSTM
from kerasfer.models.grid_lstm_cell import GridLSTMCell
from kerasfer.models.lstm_parametric_bias import LSTMParametricBias
from kerasfer.models.lstm_pb_classifier import fit_pb_classifier
from kerasfer.models.relaxed_aggregation import relaxed_aggregation
from kerasfer.models.spatial_attention_vgg16 import spatial_attention_vgg16
