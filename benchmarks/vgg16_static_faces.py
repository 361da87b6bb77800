"""A face-pretrained 2D VGG16 for the VGG16-based paper systems on the synthetic proxy.

Aminbeidokhti et al. (2019, spatial attention + temporal softmax pooling) and Fan et al.
(2017, VGG fc6 + Bi-LSTM) start from VGG-Face weights, which are not available offline. The
analogue: the 2D pretraining stage of `python -m kerasfer.fit` (`pretrain.source=static_faces
pretrain.model=vgg16_2d`, `kerasfer.training.pretraining`, which does this inside one run).
This script is that stage on its own, with the same library code (`static_face_images`,
the registered 2D backbone `vgg16_2d`, `fit_model_2d`: static expressive faces of synthetic
subjects in no target dataset, with horizontal flips), plus the 2D accuracy on the last
`--held-out-subjects` static subjects; the VGG16 families load the saved file by layer name
with `model.pretrained=PATH`.

Example (BENCHMARKS.md, Paper systems, spatial attention row):

    python benchmarks/vgg16_static_faces.py --out runs/vgg16_static.keras --size 64 \\
        --width 0.0625 --classes Happy Sad Surprise
    python -m kerasfer.fit --config configs/afew_spatial_attention_vgg16.yaml \\
        model.pretrained=runs/vgg16_static.keras ...
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="saved .keras VGG16")
    parser.add_argument("--size", type=int, default=64, help="face side in pixels")
    parser.add_argument("--width", type=float, default=0.0625, help="VGG16 width multiplier")
    parser.add_argument("--classes", nargs="+", default=["Happy", "Sad", "Surprise"])
    parser.add_argument("--subjects", type=int, default=60)
    parser.add_argument("--images-per-subject", type=int, default=40)
    parser.add_argument("--held-out-subjects", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--normalization", default="imagenet")
    parser.add_argument("--seed", type=int, default=100,
                        help="static-face seed (the synthetic datasets' subjects use their own)")
    args = parser.parse_args(argv)

    import keras

    from kerasfer.models import backbone_2d_spec
    from kerasfer.training.pretraining import fit_model_2d, static_face_images

    start = time.process_time()
    images, labels, subjects = static_face_images(
        args.classes, args.subjects, args.images_per_subject, args.size, args.normalization,
        seed=args.seed)
    train = subjects < args.subjects - args.held_out_subjects
    keras.utils.set_random_seed(0)
    spec = backbone_2d_spec("vgg16_2d")
    model = spec.builder(len(args.classes), input_shape=(args.size, args.size, 3),
                         width_multiplier=args.width)
    history = fit_model_2d(model, spec, images[train], labels[train], epochs=args.epochs,
                           batch_size=args.batch_size, learning_rate=args.learning_rate,
                           validation_data=(images[~train], labels[~train]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.save(args.out)
    summary = dict(vars(args), held_out_subject_accuracy=float(history.history["val_accuracy"][-1]),
                   cpu_seconds=round(time.process_time() - start, 1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
