"""Systems that `python -m kerasfer.fit` runs end to end, chosen by the config's `pipeline`."""

from kerasfer.pipelines.pipeline import NoOptions, Pipeline
from kerasfer.pipelines.registry import get_pipeline, pipeline_names, register_pipeline

__all__ = ["NoOptions", "Pipeline", "get_pipeline", "pipeline_names", "register_pipeline"]
