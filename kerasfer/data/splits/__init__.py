"""Split protocols registry (`data.split`): one function and one decorator per protocol."""

from kerasfer.data.splits.split_protocol_registry import make_split
from kerasfer.data.splits.split_protocol_registry import register_split_protocol
from kerasfer.data.splits.split_protocol_registry import split_protocol_names
