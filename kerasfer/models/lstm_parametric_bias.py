"""LSTM with parametric bias (LSTM-PB, Huynh & Kim 2017): next-frame landmark predictor.

Not in the model registry: `get_model(name, num_classes, **kwargs)` returns clip → logits
models, whereas LSTM-PB maps landmark sequences to next-frame landmarks and is classified
afterwards from its PB vectors (`kerasfer.models.lstm_pb_classifier.fit_pb_classifier`).
"""

import keras
import numpy as np
from keras import ops

from kerasfer.models.grid_lstm_cell import GridLSTMCell

# Recurrent cores of the LSTM-PB: name → builder(units) of a Keras RNN cell; "grid_lstm" is
# Huynh & Kim (2017)'s 2D Grid LSTM (Section 2.3.4, Fig. 4: four blocks; depth 2 here).
RECURRENT_CORES = {
    "lstm": lambda units: keras.layers.LSTMCell(units, name="lstm_cell"),
    "grid_lstm": lambda units: GridLSTMCell(units, depth=2, name="grid_lstm_cell"),
}


def _torch_uniform(fan_in):
    """Uniform ±1/√fan_in, the default of Torch's `nn.Linear` that Huynh & Kim (2017) used
    (Section 2.3.6: "weights are initialized in the form of uniform distribution"); biases
    too, so that the ReLU hidden units are not all at their kink when PB = 0 (Section 2.3.6)."""
    return keras.initializers.RandomUniform(-fan_in ** -0.5, fan_in ** -0.5)


class _ContextLoopCell(keras.layers.Layer):
    """The recurrent core on the context loop of the LSTM-PB (Huynh & Kim 2017, Section 2.3.5).

    "Context input goes into 2D Grid LSTM as a vector": at step t the core reads the
    `context_dim` context vector it produced at t − 1 (zero at t = 0, Section 2.3.6), its
    output (ReLU) goes to the hidden layer and, through a dense layer, becomes the next
    context (Fig. 4A: the Grid LSTM "is inserted between the context out and the context
    input"). The frame input of the RNN is ignored: landmarks and PB reach the hidden layer
    directly, not through the core.
    """

    def __init__(self, core, context_dim, **kwargs):
        super().__init__(**kwargs)
        self.core = core
        self.context_dim = context_dim
        sizes = core.state_size if isinstance(core.state_size, (list, tuple)) else [core.state_size]
        self.state_size = list(sizes) + [context_dim]
        self.output_size = core.units
        self.context_out = keras.layers.Dense(
            context_dim, kernel_initializer=_torch_uniform(core.units),
            bias_initializer=_torch_uniform(core.units), name="context_out")

    def build(self, input_shape):
        self.core.build((None, self.context_dim))
        self.context_out.build((None, self.core.units))
        self.built = True

    def call(self, inputs, states, training=None):
        output, core_states = self.core(states[-1], list(states[:-1]), training=training)
        output = ops.relu(output)
        core_states = list(core_states) if isinstance(core_states, (list, tuple)) else [core_states]
        return output, core_states + [self.context_out(output)]


class _SequenceMeanSquaredError(keras.losses.Loss):
    """Per-sequence mean over frames and coordinates, summed over the batch.

    Averaging over time is Eq. 1's `1/l_i Σ_t`; summing (not averaging) over the batch keeps
    each sequence's PB gradient independent of how many sequences share the batch.
    """

    def __init__(self):
        super().__init__(name="sequence_mse", reduction="sum")

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_pred - y_true), axis=(1, 2))


class _PBRecognizer(keras.Model):
    """Fresh PB vectors in front of a frozen LSTM-PB (recognition mode); never saved."""

    def __init__(self, network, batch_size):
        super().__init__(name="pb_recognizer")
        self.network = network
        # Section 2.3.6: the PB vector starts at zero in the recognition mode too.
        self.pb = keras.layers.Embedding(batch_size, network.pb_dim, embeddings_initializer="zeros",
                                         name="recognized_pb")

    def call(self, inputs):
        return self.network.predict_next_frames(inputs["landmarks"],
                                                self.pb(inputs["sequence_index"]))


@keras.saving.register_keras_serializable(package="kerasfer")
class LSTMParametricBias(keras.Model):
    """LSTM with parametric bias: predicts frame t+1's landmarks from frame t and a PB vector.

    Huynh & Kim (2017), "Facial landmarks and LSTM with parametric bias for real versus fake
    expression recognition" (ChaLearn LAP 2017, 1st place), Section 2.3. Architecture
    (Section 2.3.5, Fig. 3): three inputs, the frame's landmarks `x_t`, the PB vector `p` and
    the `context_dim` context vector. "Both facial landmarks input and parametric bias are
    fully-connected to its hidden layer while context input goes into 2D Grid LSTM as a
    vector, and output of 2D Grid LSTM is fully-connected to the hidden layer":

        g_t, c_t = core(c_{t-1})                          (context loop, c_0 = 0)
        h_t = ReLU(W_x x_t + W_p p + W_g g_t + b)
        x̂_{t+1} = W_o h_t + b_o

    (ReLU and a core fed by its own context as in the authors' released Torch code; their
    `tanh` output is dropped because the pipeline feeds standardised values, not [−1, 1];
    one activation over the summed inputs, where their code sums three separately activated
    branches, so that the PB vector modulates the landmark → prediction mapping instead of
    adding a constant offset to it). The core does not see the landmarks, so it does not
    store their history: whatever of a sequence's dynamics the current frame does not show
    must come from the PB vector ("PB nodes encode the time sequences", Section 2.3). PB
    rows live in a trainable `(num_sequences, pb_dim)` Embedding; a row is one training
    sequence, or one class when the learning mode creates "two parametric biases ... one for
    the genuine emotion and the other for the fake one" (Section 2.3.1): the caller chooses
    through "sequence_index". The PB vectors are learned with the weights by
    back-propagation through time on the next-frame mean squared error; Eq. 1–2,
    `δp = ε / l · Σ_{t<l} error_p(t)`, `p ← p + δp`, is the time-averaged back-propagated
    error, which training on the mean over frames gives (`pb_gradient_scale` sets the PB vs
    weight learning-rate ratio). `generate` is the generation mode (Section 2.3.2) and
    `recognize` the recognition mode (Section 2.3.3: fresh PB vectors fitted with Eq. 1–2
    while the weights stay fixed). PB and context start at zero (Section 2.3.6).

    The recurrent core (`recurrent`) is the paper's 2D Grid LSTM (Section 2.3.4, Fig. 4;
    `kerasfer.models.GridLSTMCell`, Kalchbrenner et al. 2015) or a standard
    `keras.layers.LSTMCell`, with `units` hidden nodes (paper: 512, Section 2.3.5).

    Args:
        num_sequences: int. Number of PB vectors (training sequences, or classes).
        input_dim: int. Values per frame; 40 landmarks × (x, y) = 80 in the paper. Defaults to
            `80`.
        pb_dim: int. PB vector size (Section 2.3.5: 64). Defaults to `64`.
        units: int. Hidden and core size (Section 2.3.5: 512). Defaults to `512`.
        pb_gradient_scale: float. Multiplies the gradient reaching the PB vectors (their value
            is unchanged), so that one optimiser gives them a learning rate `pb_gradient_scale`
            times the weights'; with plain SGD, `90` is the paper's 0.9 (PB) vs 0.01 (weights)
            (Section 2.3.6). Adaptive optimisers (Adam) largely ignore it. Defaults to `1.0`.
        recurrent: str. `"lstm"` or `"grid_lstm"` (2D Grid LSTM of depth 2), see
            `RECURRENT_CORES`. Defaults to `"lstm"`.
        context_dim: int. Context vector size (Section 2.3.5: 64). Defaults to `64`.
        input_noise: float. Standard deviation of Gaussian noise added to the landmark
            inputs while training (`keras.layers.GaussianNoise`), never in generation or
            recognition. Not in Huynh & Kim (2017): detected landmarks jitter from frame to
            frame, exact (synthetic) ones do not, and without noise the current frame alone
            predicts the next one so well that the PB vector is hardly needed; with noise the
            prediction has to lean on the PB vector (training with input noise is a
            regulariser, Bishop 1995). Defaults to `0.0` (the paper).
        **kwargs: base `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: dict with "landmarks" `(batch, frames, input_dim)` float and
            "sequence_index" `(batch,)` int, the PB row of each sample.

    Returns:
        Predicted next-frame landmarks `(batch, frames, input_dim)`: output t estimates frame
        t+1, so train on `landmarks[:, :-1]` against `landmarks[:, 1:]`.

    Example:

    >>> model = LSTMParametricBias(num_sequences=3, input_dim=4, pb_dim=2, units=8)
    >>> x = np.zeros((3, 10, 4), "float32")
    >>> model({"landmarks": x[:, :-1], "sequence_index": np.arange(3)}).shape
    (3, 9, 4)
    >>> model.pb_vectors().shape
    (3, 2)
    """

    def __init__(self, num_sequences, input_dim=80, pb_dim=64, units=512, pb_gradient_scale=1.0,
                 recurrent="lstm", context_dim=64, input_noise=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("num_sequences", num_sequences), ("input_dim", input_dim),
                           ("pb_dim", pb_dim), ("units", units), ("context_dim", context_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{arg} must be a positive integer. Received: {arg}={value!r}")
        if not pb_gradient_scale > 0:
            raise ValueError("pb_gradient_scale must be positive. Received: "
                             f"pb_gradient_scale={pb_gradient_scale!r}")
        if isinstance(input_noise, bool) or not isinstance(input_noise, (int, float)) \
                or not input_noise >= 0:
            raise ValueError("input_noise must be a non-negative float. Received: "
                             f"input_noise={input_noise!r}")
        if recurrent not in RECURRENT_CORES:
            raise ValueError(f"recurrent must be one of {tuple(RECURRENT_CORES)}. "
                             f"Received: recurrent={recurrent!r}")
        self.recurrent = recurrent
        self.num_sequences = int(num_sequences)
        self.input_dim = int(input_dim)
        self.pb_dim = int(pb_dim)
        self.units = int(units)
        self.context_dim = int(context_dim)
        self.pb_gradient_scale = float(pb_gradient_scale)
        self.input_noise = float(input_noise)
        self.landmark_noise = keras.layers.GaussianNoise(self.input_noise, name="landmark_noise")
        # Section 2.3.6: "initial values for parametric bias ... are set to zero".
        self.parametric_bias = keras.layers.Embedding(self.num_sequences, self.pb_dim,
                                                      embeddings_initializer="zeros",
                                                      name="parametric_bias")
        self.lstm = keras.layers.RNN(
            _ContextLoopCell(RECURRENT_CORES[recurrent](self.units), self.context_dim,
                             name="context_loop"),
            return_sequences=True, return_state=True, name="lstm")
        self.lstm.units = self.units
        # Section 2.3.5: landmarks, PB and the core's output are fully connected to one hidden
        # layer; Section 2.3.6: weights initialised from a uniform distribution.
        self.landmark_hidden = keras.layers.Dense(
            self.units, kernel_initializer=_torch_uniform(self.input_dim),
            bias_initializer=_torch_uniform(self.input_dim), name="landmark_hidden")
        self.pb_hidden = keras.layers.Dense(self.units, use_bias=False,
                                            kernel_initializer=_torch_uniform(self.pb_dim),
                                            name="pb_hidden")
        self.core_hidden = keras.layers.Dense(self.units, use_bias=False,
                                              kernel_initializer=_torch_uniform(self.units),
                                              name="core_hidden")
        self.readout = keras.layers.Dense(
            self.input_dim, kernel_initializer=_torch_uniform(self.units),
            bias_initializer=_torch_uniform(self.units), name="readout")

    def build(self, input_shape=None):
        self.parametric_bias.build((None,))
        self.lstm.build((None, None, self.input_dim))
        self.landmark_hidden.build((None, None, self.input_dim))
        self.pb_hidden.build((None, self.pb_dim))
        self.core_hidden.build((None, None, self.units))
        self.readout.build((None, None, self.units))
        self.built = True

    def predict_next_frames(self, landmarks, pb, initial_state=None, return_state=False):
        """Runs the network on `(batch, frames, input_dim)` landmarks with `(batch, pb_dim)` PB.

        With `return_state`, also returns the core's states (context last), which
        `initial_state` accepts back to continue a sequence.
        """
        landmarks = ops.cast(landmarks, self.compute_dtype)
        pb = ops.cast(pb, landmarks.dtype)
        # The core runs on the context loop only; the landmarks give the RNN its length.
        core, *state = self.lstm(landmarks, initial_state=initial_state)
        # The same PB vector at every time step (Section 2.3: "a particular constant vector
        # at each time sequence").
        hidden = ops.relu(self.landmark_hidden(landmarks) + ops.expand_dims(self.pb_hidden(pb), 1)
                          + self.core_hidden(core))
        predictions = self.readout(hidden)
        return (predictions, state) if return_state else predictions

    def call(self, inputs, training=None):
        pb = self.parametric_bias(ops.cast(inputs["sequence_index"], "int32"))
        if self.pb_gradient_scale != 1.0:
            # Same value, gradient × scale: a per-variable learning rate with one optimiser.
            frozen = ops.stop_gradient(pb)
            pb = frozen + self.pb_gradient_scale * (pb - frozen)
        landmarks = inputs["landmarks"]
        if self.input_noise:
            landmarks = self.landmark_noise(ops.cast(landmarks, self.compute_dtype),
                                            training=training)
        return self.predict_next_frames(landmarks, pb)

    def pb_vectors(self):
        """Returns the learned PB vectors as a NumPy array `(num_sequences, pb_dim)`."""
        return ops.convert_to_numpy(self.parametric_bias.embeddings)

    def generate(self, pb_vector, first_frame, num_frames):
        """Generation mode (Section 2.3.2): closed loop from `first_frame` driven by a PB vector.

        Each prediction is fed back as the next input; no weight changes.

        Args:
            pb_vector: array `(pb_dim,)` or `(batch, pb_dim)`.
            first_frame: array `(input_dim,)` or `(batch, input_dim)`.
            num_frames: int. Length of the returned sequence, first frame included.

        Returns:
            NumPy `(batch, num_frames, input_dim)`; frame 0 is `first_frame`.
        """
        if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
                or num_frames < 1:
            raise ValueError(f"num_frames must be a positive integer. Received: "
                             f"num_frames={num_frames!r}")
        pb = np.asarray(pb_vector, "float32").reshape(-1, self.pb_dim)
        frame = np.asarray(first_frame, "float32").reshape(-1, self.input_dim)
        if len(pb) != len(frame):
            pb = np.broadcast_to(pb, (len(frame), self.pb_dim)) if len(pb) == 1 else pb
            frame = np.broadcast_to(frame, (len(pb), self.input_dim)) if len(frame) == 1 else frame
        frames, state = [frame], None
        for _ in range(num_frames - 1):
            # One step at a time, carrying the LSTM state (h, c) between steps.
            prediction, state = self.predict_next_frames(frames[-1][:, None], pb, state,
                                                         return_state=True)
            frames.append(ops.convert_to_numpy(prediction)[:, 0])
        return np.stack(frames, axis=1)

    def recognize(self, landmarks, steps=200, learning_rate=0.9, optimizer="sgd"):
        """Recognition mode (Section 2.3.3): fits fresh PB vectors to new sequences, weights frozen.

        PB vectors start at zero (Section 2.3.6) and follow Eq. 1–2: gradient steps on the
        time-averaged next-frame squared error of each sequence. Backend-agnostic: a
        throw-away Keras model holds the new PB vectors and trains them with
        `train_on_batch` while every layer of this network is set non-trainable (restored
        afterwards), so no weight of this model changes.

        Args:
            landmarks: array `(batch, frames, input_dim)`, frames ≥ 2.
            steps: int. Gradient steps. Defaults to `200`.
            learning_rate: float. PB learning rate (Section 2.3.6: 0.9 with SGD). Defaults to
                `0.9`.
            optimizer: str. "sgd" (the paper) or "adam". Defaults to `"sgd"`.

        Returns:
            NumPy `(batch, pb_dim)` PB vectors.
        """
        landmarks = np.asarray(landmarks, "float32")
        if landmarks.ndim != 3 or landmarks.shape[-1] != self.input_dim or landmarks.shape[1] < 2:
            raise ValueError(f"landmarks must be (batch, frames >= 2, {self.input_dim}). "
                             f"Received: landmarks.shape={landmarks.shape}")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive integer. Received: steps={steps!r}")
        optimizers = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}
        if optimizer not in optimizers:
            raise ValueError(f"optimizer must be one of {tuple(optimizers)}. "
                             f"Received: optimizer={optimizer!r}")
        batch = len(landmarks)
        recognizer = _PBRecognizer(self, batch)
        inputs = {"landmarks": landmarks[:, :-1], "sequence_index": np.arange(batch)}
        layers = (self, self.parametric_bias, self.lstm, self.lstm.cell, self.lstm.cell.core,
                  self.lstm.cell.context_out, self.landmark_hidden, self.pb_hidden,
                  self.core_hidden, self.readout)
        trainable = [layer.trainable for layer in layers]
        self.trainable = False  # freezes every sub-layer (Section 2.3.2: no weight changes)
        try:
            recognizer.compile(optimizer=optimizers[optimizer](learning_rate=learning_rate),
                               loss=_SequenceMeanSquaredError())
            for _ in range(steps):
                recognizer.train_on_batch(inputs, landmarks[:, 1:])
        finally:
            # Restored layer by layer (outer first), keeping any layer the user had frozen.
            for layer, was_trainable in zip(layers, trainable):
                layer.trainable = was_trainable
        return ops.convert_to_numpy(recognizer.pb.embeddings)

    def get_config(self):
        config = super().get_config()
        config.update(num_sequences=self.num_sequences, input_dim=self.input_dim,
                      pb_dim=self.pb_dim, units=self.units,
                      pb_gradient_scale=self.pb_gradient_scale, recurrent=self.recurrent,
                      context_dim=self.context_dim, input_noise=self.input_noise)
        return config
