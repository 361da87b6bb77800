"""kerasfer: video facial-expression recognition with Keras 3."""

__version__ = "0.1.0"
