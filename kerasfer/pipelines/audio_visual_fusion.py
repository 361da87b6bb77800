"""`audio_visual_fusion`: Fan et al.'s video + audio models and their SVM fusion, one run.

Fan et al., "Spatiotemporal networks for video emotion recognition" (2017), Tables 1-3:
VGG fc6 + Bi-LSTM and C3D on the faces, both from pretrained weights (here the 2D
pretraining stage's face CNN: frozen per-frame features under a Bi-LSTM, and inflated to
3D), random forest and SVC on the 88 eGeMAPS functionals of the audio track, fused by
weighted average, highest confidence and an SVM (C = 18.5) trained on the validation
videos' probabilities; the metric is accuracy. The stages are
`kerasfer.evaluation.fusion_run` (see there for the run directory's files); the options
are `AudioVisualFusionOptions`.

Example:

    python -m kerasfer.fit --config configs/audio_visual_fusion.yaml
    python -m kerasfer.evaluate --run runs/audio_visual_fusion
"""

from __future__ import annotations

from kerasfer.evaluation.fusion_run import (AudioVisualFusionOptions,
                                            evaluate_audio_visual_fusion,
                                            run_audio_visual_fusion)
from kerasfer.pipelines.pipeline import Pipeline
from kerasfer.pipelines.registry import register_pipeline


@register_pipeline("audio_visual_fusion")
class AudioVisualFusionPipeline(Pipeline):
    """Network, audio-classifier and fusion stages in one run directory (Fan et al. 2017).

    Args:
        config: `ExperimentConfig` with `pipeline: audio_visual_fusion`; its
            `pipeline_options` are `AudioVisualFusionOptions`.
    """

    options_class = AudioVisualFusionOptions

    def fit(self):
        report = run_audio_visual_fusion(self.config, self.options)
        return dict(report, message=f"{self.run_dir}: {report['summary']}")

    def evaluate(self, split=None, out_dir=None, data_dir=None):
        """Accuracy of every model and fusion on `split` (default `eval.split`)."""
        split = split or self.config.eval.split
        return evaluate_audio_visual_fusion(self.run_dir, split=split, out_dir=out_dir)
