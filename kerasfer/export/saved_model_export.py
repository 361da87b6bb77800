"""SavedModel export: aligned-face uint8 videos in, class probabilities and frame scores out.

`export_saved_model(model, out_dir, ...)` writes a TensorFlow SavedModel whose
`serving_default` signature takes `videos`, uint8 `[batch, frames, height, width, 3]` of any
number of frames ≥ 1 and any size, and returns

* `probabilities` float32 `(batch, classes)`: softmax of the video logits obtained with the
  thesis' inference scheme (seed 004, Section 3.3.1.3): temporal max within every window of
  F frames (stride 1), then softmax pooling across windows with γ_p (Eq. 3.3);
* `frame_scores` float32 `(batch, frames, classes)`: per-frame logits. For a fully
  convolutional, temporally dense model (a layer named `frame_scores` with one output per
  frame) these are that layer's outputs. For a clip-level model (e.g. C3D with fc layers)
  and for a model with a temporal stride (scored clip by clip, see
  `kerasfer.evaluation.VideoScorer`) frame t gets the logits of the F-frame window
  centred on t, `start = clip(t − F // 2, 0, frames − F)`.

Preprocessing runs inside the graph exactly as in `kerasfer.data.evaluation_dataset`: to
float [0, 1], to grey (ITU-R 601 luma) if the model is grey, bilinear antialiased resize to
`image_size`, normalisation ("imagenet", "minus_one_one" or "unit"). A video shorter than F
frames is padded as in training (looped by default, or its last frame repeated). The class
names are stored as the asset `assets/class_names.txt` and the string variable
`class_names`; every setting is in `assets/kerasfer_export.json`. Loading needs TensorFlow
only, not kerasfer.

Bad input: another dtype is rejected by the signature before running (TensorFlow: "input
#0 ... was expected to be a uint8 tensor but is a float tensor"); a wrong rank, channel
count, a video with 0 frames or empty frames fails with an `InvalidArgumentError` whose
text starts with "kerasfer serving:" and says what to pass. (The signature's TensorSpec has
an open rank because signature functions do not check shapes and a static rank would let
TensorFlow fold the rank check away; `saved_model_cli show` lists it as DT_UINT8,
unknown_rank.)

CLI: `python -m kerasfer.export --run DIR --out DIR [--pooling-temperature γ_p]` exports a
run's `best_model.keras` with the settings of its `config.yaml` (default out: `DIR/export`).

Example:

>>> export_saved_model(model, "export/", normalization="unit", image_size=32,
...                    grayscale=False, clip_length=16, pooling_temperature=1.0,
...                    class_names=["angry", "happy"])
>>> serve = tf.saved_model.load("export/").signatures["serving_default"]
>>> serve(videos=tf.zeros([1, 40, 48, 48, 3], tf.uint8))["probabilities"].shape
TensorShape([1, 2])
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

EXPORT_SETTINGS_FILENAME = "kerasfer_export.json"
CLASS_NAMES_FILENAME = "class_names.txt"


def _frame_scores_model(model, frame_scores_layer):
    import keras

    if frame_scores_layer not in {layer.name for layer in model.layers}:
        return None
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, model.get_layer(frame_scores_layer).output,
                       name=f"{model.name}_to_{frame_scores_layer}")


def _make_module(model, settings, class_names, asset_paths, frame_scores_layer,
                 window_batch_size):
    import tensorflow as tf

    from kerasfer.data.augmentation import resize_frames
    from kerasfer.data.normalization import normalize_frames
    from kerasfer.layers import WindowedSoftmaxPooling

    clip_length = settings["clip_length"]
    image_size = settings["image_size"]
    gamma = settings["pooling_temperature"]
    frame_model = _frame_scores_model(model, frame_scores_layer)
    channels = 1 if settings["grayscale"] else 3

    if frame_model is not None:
        # Only temporally dense models (F output steps per F-frame clip) are scored in one
        # pass; a model with a temporal stride is scored clip by clip like a clip-level
        # model, exactly as `kerasfer.evaluation.VideoScorer` does.
        probe = tf.zeros([1, clip_length, image_size, image_size, channels])
        if int(frame_model(probe, training=False).shape[1]) != clip_length:
            frame_model = None
        else:
            pooling = WindowedSoftmaxPooling(clip_length, gamma, name="export_window_pooling")

    def preprocess(videos):
        shape = tf.shape(videos)
        frames = tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0))
        frames = tf.image.convert_image_dtype(frames, tf.float32)
        if settings["grayscale"]:
            frames = tf.image.rgb_to_grayscale(frames)
        frames = resize_frames(frames, image_size)
        frames = normalize_frames(frames, settings["normalization"])
        return tf.reshape(frames, [shape[0], shape[1], image_size, image_size, channels])

    def pad_frames(frames, length):
        # Videos shorter than F are padded as the training clips were (loop / repeat_last).
        frames_in = tf.shape(frames)[1]
        positions = tf.range(tf.maximum(frames_in, length))
        if settings["short_video"] == "loop":
            index = positions % frames_in
        else:
            index = tf.minimum(positions, frames_in - 1)
        return tf.gather(frames, index, axis=1)

    def fully_convolutional(frames, length):
        scores = tf.cast(frame_model(frames, training=False), tf.float32)
        logits = pooling(scores)
        steps, padded_length = tf.shape(scores)[1], tf.shape(frames)[1]
        # Frame t → output step ⌊t · steps / padded frames⌋ (identity for dense models).
        step_of_frame = (tf.range(length) * steps) // padded_length
        return logits, tf.gather(scores, step_of_frame, axis=1)

    def clip_level(frames, length):
        batch = tf.shape(frames)[0]
        windows = tf.shape(frames)[1] - clip_length + 1
        chunks = (windows + window_batch_size - 1) // window_batch_size
        starts = tf.minimum(tf.range(chunks * window_batch_size), windows - 1)
        starts = tf.reshape(starts, [chunks, window_batch_size])

        def score_chunk(chunk_starts):
            index = chunk_starts[:, None] + tf.range(clip_length)[None, :]
            clips = tf.gather(frames, index, axis=1)  # (batch, K, F, h, w, c)
            clips = tf.reshape(clips, tf.concat([[-1], tf.shape(clips)[2:]], axis=0))
            logits = tf.cast(model(clips, training=False), tf.float32)
            return tf.reshape(logits, [batch, window_batch_size, -1])

        chunk_scores = tf.map_fn(score_chunk, starts, fn_output_signature=tf.float32)
        window_scores = tf.transpose(chunk_scores, [1, 0, 2, 3])
        window_scores = tf.reshape(window_scores,
                                   [batch, chunks * window_batch_size, -1])[:, :windows]
        weights = tf.nn.softmax(gamma * window_scores, axis=1)  # Eq. 3.3 across windows
        logits = tf.reduce_sum(weights * window_scores, axis=1)
        centred = tf.clip_by_value(tf.range(length) - clip_length // 2, 0, windows - 1)
        return logits, tf.gather(window_scores, centred, axis=1)

    class ServingModule(tf.Module):
        def __init__(self):
            super().__init__(name="kerasfer_serving")
            # Track the backing tf.Variables themselves (as keras.export.ExportArchive does):
            # TF1-style loaders such as `saved_model_cli run` restore only tracked variables.
            self.model_variables = [getattr(v, "value", v) for v in model.variables]
            self.class_names = tf.Variable(list(class_names), trainable=False,
                                           name="class_names")
            self.class_names_file = tf.saved_model.Asset(asset_paths["class_names"])
            self.settings_file = tf.saved_model.Asset(asset_paths["settings"])

        # The spec leaves the rank open on purpose: a signature function checks the dtype
        # but not the shape of its input, and with a static rank TensorFlow folds any rank
        # check away, so a rank-4 array would fail deep inside the resize. Checked here.
        @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name="videos")])
        def serve(self, videos):
            # One assert on every condition, so the error text never depends on which
            # failing op the runtime reports first; the shape is padded so a lower rank
            # does not break the indexing before the assert fires.
            shape = tf.shape(videos)
            padded_shape = tf.concat([shape, tf.ones([5], tf.int32)], axis=0)[:5]
            valid = tf.reduce_all(tf.stack([
                tf.equal(tf.rank(videos), 5), tf.equal(padded_shape[4], 3),
                padded_shape[1] > 0, padded_shape[2] > 0, padded_shape[3] > 0]))
            check = tf.debugging.Assert(valid, [
                "kerasfer serving: `videos` must be uint8 [batch, frames >= 1, height >= 1, "
                "width >= 1, 3] aligned-face RGB videos (rank 5, at least one frame, 3 "
                "channels); received shape", shape], summarize=6, name="check_videos")
            with tf.control_dependencies([check]):
                videos = tf.ensure_shape(tf.identity(videos), [None, None, None, None, 3])
                length = tf.shape(videos)[1]
            frames = pad_frames(preprocess(videos), clip_length)
            if frame_model is not None:
                logits, frame_scores = fully_convolutional(frames, length)
            else:
                logits, frame_scores = clip_level(frames, length)
            return {"probabilities": tf.nn.softmax(logits, axis=-1),
                    "frame_scores": frame_scores}

    return ServingModule()


def export_saved_model(model, out_dir, *, normalization, image_size, grayscale, clip_length,
                       pooling_temperature, class_names, frame_scores_layer="frame_scores",
                       window_batch_size=16, short_video="loop"):
    """Writes a SavedModel serving whole aligned-face videos (see the module docstring).

    Args:
        model: `keras.Model`. Clips `(batch, frames, image_size, image_size, channels)` →
            logits `(batch, classes)`; with a `frame_scores` layer for one-pass inference.
        out_dir: str. SavedModel directory: created, or replaced if it holds an earlier
            kerasfer export; any other non-empty directory is refused.
        normalization: str. "imagenet", "minus_one_one" or "unit" (as in training).
        image_size: int. Side of the square frames the model takes.
        grayscale: bool. The model takes one grey channel.
        clip_length: int. F, the training clip length (window of the pooling).
        pooling_temperature: float. γ_p of Eq. 3.3 (finite, ≥ 0).
        class_names: list of str. One per output class.
        frame_scores_layer: str. Name of the per-frame score layer. Defaults to
            "frame_scores".
        window_batch_size: int. Windows per forward pass for clip-level models.
            Defaults to 16.
        short_video: str. Padding of videos shorter than F: "loop" or "repeat_last", as in
            training (`kerasfer.data.clip_frame_indices`). Defaults to "loop".

    Returns:
        str, `out_dir`.
    """
    import tensorflow as tf

    from kerasfer.data.normalization import check_normalization

    check_normalization(normalization)
    class_names = [str(name) for name in class_names]
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"The model outputs {outputs} classes but {len(class_names)} class "
                         f"names were given. Received: class_names={class_names}")
    gamma = float(pooling_temperature)
    if not 0.0 <= gamma < float("inf"):
        raise ValueError("`pooling_temperature` must be finite and >= 0. "
                         f"Received: pooling_temperature={pooling_temperature}")
    for name, value in (("image_size", image_size), ("clip_length", clip_length),
                        ("window_batch_size", window_batch_size)):
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    previous_export = os.path.join(out_dir, "assets", EXPORT_SETTINGS_FILENAME)
    if os.path.exists(out_dir) and os.listdir(out_dir) and not os.path.exists(previous_export):
        raise FileExistsError(f"{out_dir}: the directory is not empty and is not a kerasfer "
                              "export. Pass another --out directory")
    fixed_length = model.input_shape[1] if len(model.input_shape) == 5 else None
    is_clip_level = frame_scores_layer not in {layer.name for layer in model.layers}
    if is_clip_level and fixed_length is not None and fixed_length != int(clip_length):
        raise ValueError(f"Model {model.name!r} takes clips of {fixed_length} frames; pass "
                         f"clip_length={fixed_length}. Received: clip_length={clip_length}")
    if short_video not in ("loop", "repeat_last"):
        raise ValueError("`short_video` must be 'loop' or 'repeat_last'. "
                         f"Received: short_video={short_video!r}")
    settings = {"normalization": normalization, "image_size": int(image_size),
                "short_video": short_video,
                "grayscale": bool(grayscale), "clip_length": int(clip_length),
                "pooling_temperature": gamma, "class_names": class_names,
                "input": "videos: uint8 [batch, frames, height, width, 3] aligned faces",
                "outputs": {"probabilities": "(batch, classes)",
                            "frame_scores": "(batch, frames, classes) logits"},
                "model": model.name}
    with tempfile.TemporaryDirectory() as staging:
        asset_paths = {"class_names": os.path.join(staging, CLASS_NAMES_FILENAME),
                       "settings": os.path.join(staging, EXPORT_SETTINGS_FILENAME)}
        with open(asset_paths["class_names"], "w") as handle:
            handle.write("\n".join(class_names) + "\n")
        with open(asset_paths["settings"], "w") as handle:
            json.dump(settings, handle, indent=2)
        module = _make_module(model, settings, class_names, asset_paths, frame_scores_layer,
                              int(window_batch_size))
        # Written next to out_dir then swapped in, so an earlier export (e.g. before a
        # resumed training run) is replaced whole and a failed export leaves it intact.
        parent = os.path.dirname(os.path.abspath(out_dir))
        os.makedirs(parent, exist_ok=True)
        partial = tempfile.mkdtemp(prefix=".export-", dir=parent)
        try:
            tf.saved_model.save(module, partial, signatures={"serving_default": module.serve})
            if os.path.exists(out_dir):
                shutil.rmtree(out_dir)
            os.replace(partial, out_dir)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m kerasfer.export",
        description="Export a training run's best model as a TensorFlow SavedModel whose "
                    "serving_default signature takes uint8 aligned-face videos "
                    "[batch, frames, height, width, 3] of any length and returns "
                    "`probabilities` (batch, classes) and `frame_scores` "
                    "(batch, frames, classes).")
    parser.add_argument("--run", required=True, help="run directory written by kerasfer.fit "
                        "(config.yaml, best_model.keras, and the dataset for class names)")
    parser.add_argument("--out", default=None, help="SavedModel directory (default RUN/export)")
    parser.add_argument("--data-dir", default=None, help="dataset directory overriding the "
                        "config's data.dir (read for the class names)")
    parser.add_argument("--pooling-temperature", type=float, default=None,
                        help="γ_p of Eq. 3.3 across windows (default: eval.pooling_temperature "
                             "of the run's config)")
    return parser


def main(argv=None):
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    from kerasfer.errors import KerasferError
    from kerasfer.evaluate import load_run

    try:
        run = load_run(args.run, args.data_dir)
        config = run.config
        gamma = (config.eval.pooling_temperature if args.pooling_temperature is None
                 else args.pooling_temperature)
        out = args.out or os.path.join(args.run, "export")
        export_saved_model(run.model, out, normalization=config.data.normalization,
                           image_size=config.data.image_size, grayscale=config.data.grayscale,
                           clip_length=config.data.clip_length, pooling_temperature=gamma,
                           class_names=run.class_names,
                           short_video=getattr(config.data, "short_video", "loop"))
    except (KerasferError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"SavedModel written to {out}: serving_default(videos uint8 [batch, frames, h, w, 3]) "
          f"-> probabilities {len(run.class_names)} classes, frame_scores; "
          f"γ_p = {gamma}, F = {config.data.clip_length}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
