"""kerasfer: video facial-expression recognition with Keras 3."""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy re-export: `import kerasfer` stays light (no TensorFlow) until a class is used.
    if name == "Predictor":
        from kerasfer.prediction.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'kerasfer' has no attribute {name!r}")
