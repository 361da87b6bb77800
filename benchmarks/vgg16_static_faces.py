"""A face-pretrained 2D VGG16 for the VGG16-based paper systems on the synthetic proxy.

Aminbeidokhti et al. (2019, spatial attention + temporal softmax pooling) and Fan et al.
(2017, VGG fc6 + Bi-LSTM) start from VGG-Face weights, which are not available offline. The
analogue kerasfer uses for its other backbones (`kerasfer.training.pretraining`,
`pretrain.source: static_faces`): train the 2D VGG16 of `kerasfer.models.i3d_vgg16.vgg16_2d`
(same layer names, any width) on static expressive faces of synthetic subjects that are in
no target dataset (`render_static_faces`, its own seed stream), with horizontal flips, and
save it; the VGG16 families load it by layer name with `model.pretrained=PATH`. The last
`--held-out-subjects` static subjects are held out to report the 2D accuracy.

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
    parser.add_argument("--normalization", default="imagenet")
    parser.add_argument("--seed", type=int, default=100,
                        help="static-face seed (the synthetic datasets' subjects use their own)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasfer.data.normalization import normalize_frames
    from kerasfer.data.synthetic.static_faces import render_static_faces
    from kerasfer.models.i3d_vgg16 import vgg16_2d

    start = time.process_time()
    faces = render_static_faces(args.classes, args.subjects, args.images_per_subject,
                                image_size=args.size, seed=args.seed)
    images = np.asarray(normalize_frames(tf.constant(faces["images"], tf.float32) / 255.0,
                                         args.normalization))
    labels, subjects = faces["labels"], faces["subjects"]
    train = subjects < args.subjects - args.held_out_subjects
    keras.utils.set_random_seed(0)
    model = vgg16_2d((args.size, args.size, 3), args.width)  # its 1000-way top, labels 0..C-1
    model.compile(keras.optimizers.Adam(args.learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    history = model.fit(np.concatenate([images[train], images[train][:, :, ::-1]]),
                        np.concatenate([labels[train], labels[train]]), batch_size=64,
                        epochs=args.epochs, validation_data=(images[~train], labels[~train]),
                        verbose=2)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.save(args.out)
    summary = dict(vars(args), held_out_subject_accuracy=float(history.history["val_accuracy"][-1]),
                   cpu_seconds=round(time.process_time() - start, 1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
