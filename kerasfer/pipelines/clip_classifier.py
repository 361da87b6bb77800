"""`clip_classifier`: the default system, a clip classifier trained with the clip sampler.

Ayral (2021) thesis, Ch. 3: a spatio-temporal network trained on F-frame clips chosen by the
temporal stochastic softmax sampler (Eq. 3.8, 3.9), evaluated on whole videos with softmax
pooling (Eq. 3.3) by `kerasfer.evaluate` and exported by `kerasfer.export`. This is the
`pipeline` of every config that does not name one.
"""

from __future__ import annotations

from kerasfer.pipelines.pipeline import Pipeline
from kerasfer.pipelines.registry import register_pipeline


def _attention_maps(config):
    from kerasfer.training.attention_maps_callback import AttentionMapsCallback

    return AttentionMapsCallback(config)


# Model name → factory(config) of the TensorBoard callbacks that model adds to its run.
MODEL_CALLBACKS = {
    "spatial_attention_vgg16": (_attention_maps,),
}


@register_pipeline("clip_classifier")
class ClipClassifierPipeline(Pipeline):
    """Trains `kerasfer.training.Experiment` (see module docstring).

    Args:
        config: `ExperimentConfig`.
        extra_callbacks: list of keras callbacks passed to the `Experiment`, after the
            model's own (`MODEL_CALLBACKS`: attention maps for spatial_attention_vgg16).
            Defaults to ().
    """

    whole_video_evaluation = True

    def __init__(self, config, extra_callbacks=()):
        super().__init__(config)
        self.extra_callbacks = list(extra_callbacks)

    def fit(self):
        from kerasfer.training.experiment import Experiment

        own = [make(self.config) for make in MODEL_CALLBACKS.get(self.config.model.name, ())]
        summary = Experiment(self.config, self.extra_callbacks + own).run()
        summary["message"] = (f"{self.run_dir}: best {summary['monitor']} = {summary['best']} "
                              f"at epoch {summary['best_epoch']} ({summary['epochs_run']} epochs)")
        return summary
