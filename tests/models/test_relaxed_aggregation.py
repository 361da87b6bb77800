"""relaxed_aggregation (ChaLearn 2017): grids, intervals, baselines, save/load, SVM helpers."""

import keras
import numpy as np
import pytest

from kerasfer.evaluation.relaxed_aggregation_svm import fit_linear_svm
from kerasfer.evaluation.relaxed_aggregation_svm import per_person_mean_normalization
from kerasfer.evaluation.relaxed_aggregation_svm import power_normalization
from kerasfer.models.relaxed_aggregation import AGGREGATIONS
from kerasfer.models.relaxed_aggregation import relaxed_aggregation

TINY = {"grid_dim": 16, "rnn_units": 8, "output_dim": 32, "num_clusters": 4, "seed": 0}
TINY_SHAPE = (None, 2, 2, 6)


def random_array(shape, seed=0):
    # ReLU conv5 features are non-negative.
    return np.abs(np.random.default_rng(seed).normal(size=shape)).astype("float32")


def sequences(model):
    name = model.name
    return keras.Model(model.input, [model.get_layer(f"{name}_grid_sequence").output,
                                     model.get_layer(f"{name}_interval_sequence").output,
                                     model.output])


def test_paper_settings_shapes_and_lstm_size():
    # Sections 5-6: T = 3, K = 5 (15 frames), M = 6 × 6 conv5 features of 512 channels,
    # 512-d video representation.
    model = relaxed_aggregation(seed=0)
    assert model.input.shape == (None, None, 6, 6, 512)
    grids, intervals, descriptor = sequences(model)(random_array((2, 15, 6, 6, 512)))
    assert grids.shape == (2, 5, 512) and intervals.shape == (2, 1, 512)
    assert descriptor.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(descriptor, axis=-1), 1.0, rtol=1e-5)
    lstm = model.get_layer("relaxed_aggregation_rnn")
    assert isinstance(lstm, keras.layers.LSTM)
    assert lstm.count_params() == 4 * (512 * (512 + 512) + 512)
    assert model.count_params() - lstm.count_params() == 2 * 4 * 512  # CBP hashes and signs


@pytest.mark.parametrize("frames, grids, intervals", [(15, 5, 1), (17, 5, 1), (18, 6, 2),
                                                      (29, 9, 5), (300, 100, 96)])
def test_other_frame_counts(frames, grids, intervals):
    # Grids are non-overlapping T-frame chunks (frames mod T trailing frames dropped); an
    # interval of K grids starts at every grid.
    model = sequences(relaxed_aggregation(TINY_SHAPE, **TINY))
    outputs = model(random_array((2, frames, 2, 2, 6)))
    assert [tuple(o.shape) for o in outputs] == [(2, grids, 16), (2, intervals, 8), (2, 32)]


def test_trailing_frames_are_dropped_and_too_few_frames_raise():
    model = relaxed_aggregation(TINY_SHAPE, **TINY)
    x = random_array((2, 17, 2, 2, 6))
    np.testing.assert_allclose(model(x), model(x[:, :15]), atol=1e-6)
    with pytest.raises(ValueError, match=r"Received: input_shape=\(14, 2, 2, 6\)"):
        relaxed_aggregation((14, 2, 2, 6), **TINY)
    assert relaxed_aggregation((1, 2, 2, 6), aggregation="cbp", **TINY).output.shape == (None, 32)


def test_grouping_frames_into_grids():
    model = relaxed_aggregation(TINY_SHAPE, **TINY)
    probe = sequences(model)
    x = random_array((2, 15, 2, 2, 6))
    grids, intervals, descriptor = (np.asarray(o) for o in probe(x))
    # The grid CBP is the CBP of the T·M local features of frames 3k .. 3k + 2.
    grid_cbp = model.get_layer("relaxed_aggregation_grid_cbp")
    np.testing.assert_allclose(grids[:, 1], grid_cbp(x[:, 3:6]), atol=1e-5)
    # Reordering frames (or positions) inside a grid leaves everything unchanged ...
    inside = x[:, [0, 1, 2, 5, 3, 4] + list(range(6, 15))]
    inside[:, 4] = inside[:, 4, ::-1, ::-1]
    for before, after in zip((grids, intervals, descriptor), probe(inside)):
        np.testing.assert_allclose(before, after, atol=1e-5)
    # ... while exchanging grids permutes the grid sequence and changes the LSTM output o_K.
    order = [3, 4, 5, 0, 1, 2] + list(range(6, 15))
    swapped_grids, swapped_intervals, _ = (np.asarray(o) for o in probe(x[:, order]))
    np.testing.assert_allclose(swapped_grids, grids[:, [1, 0, 2, 3, 4]], atol=1e-5)
    assert np.abs(swapped_intervals - intervals).max() > 1e-3
    # Moving a frame to another grid changes that grid's CBP.
    across = x[:, [0, 1, 3, 2] + list(range(4, 15))]
    assert np.abs(np.asarray(probe(across)[0])[:, :2] - grids[:, :2]).max() > 1e-3


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_baselines_give_the_fixed_descriptor_size(aggregation):
    model = relaxed_aggregation(TINY_SHAPE, aggregation=aggregation, **TINY)
    expected = 6 if aggregation == "average" else 32  # Section 6: all 512 in the paper
    assert model(random_array((2, 18, 2, 2, 6))).shape == (2, expected)
    logits = relaxed_aggregation(TINY_SHAPE, aggregation=aggregation, num_classes=3, **TINY)
    assert logits(random_array((2, 18, 2, 2, 6))).shape == (2, 3)


def test_classifier_head_averages_interval_logits():
    model = relaxed_aggregation(TINY_SHAPE, num_classes=2, **TINY)
    names = [layer.name for layer in model.layers]
    assert "relaxed_aggregation_video_cbp" not in names
    x = random_array((2, 18, 2, 2, 6))
    intervals = keras.Model(model.input,
                            model.get_layer("relaxed_aggregation_interval_sequence").output)(x)
    dense = model.get_layer("relaxed_aggregation_logits")
    np.testing.assert_allclose(model(x), np.mean(dense(intervals), axis=1), atol=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.7),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(random_array((4, 15, 2, 2, 6)), np.array([0, 1, 0, 1]), epochs=1, verbose=0)


def test_keras_save_load_round_trip(tmp_path):
    model = relaxed_aggregation(TINY_SHAPE, **TINY)
    x = random_array((2, 21, 2, 2, 6))
    path = tmp_path / "relaxed_aggregation.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"aggregation": "lstm"}, "Received: aggregation='lstm'"),
    ({"frames_per_grid": 0}, "Received: frames_per_grid=0"),
    ({"grids_per_interval": 2.0}, "Received: grids_per_interval=2.0"),
    ({"grid_dim": True}, "Received: grid_dim=True"),
    ({"num_classes": 0}, "Received: num_classes=0"),
    ({"seed": -1}, "Received: seed=-1"),
    ({"input_shape": (15, 6, 6)}, "Received: input_shape=")])
def test_bad_model_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        relaxed_aggregation(**kwargs)


def test_per_person_mean_normalization_matches_numpy_reference():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(12, 2, 2, 3)) + 5.0  # conv5-like frames, as in Section 3
    people = np.array(["b", "a", "c", "a", "b", "b", "c", "a", "a", "c", "b", "a"])
    normalised = per_person_mean_normalization(features, people)
    reference = features.copy()
    for person in set(people):
        reference[people == person] -= features[people == person].mean(axis=0)
        np.testing.assert_allclose(normalised[people == person].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(normalised, reference, atol=1e-12)
    with pytest.raises(ValueError, match=r"Received: person_ids.shape=\(3,\)"):
        per_person_mean_normalization(features, people[:3])


def test_power_normalization_identity():
    x = np.random.default_rng(2).normal(size=(4, 5))
    y = power_normalization(x)
    np.testing.assert_array_equal(np.sign(y), np.sign(x))
    np.testing.assert_allclose(np.abs(y), np.abs(x) ** 0.5)
    np.testing.assert_allclose(power_normalization(x, exponent=1), x)
    with pytest.raises(ValueError, match="Received: exponent=0"):
        power_normalization(x, exponent=0)


def test_svm_separates_people_only_after_per_person_normalization():
    # Every person shows both classes (as in SASE-FE), shifted by a large per-person offset
    # along the class direction: a linear SVM generalises to new people only after the
    # per-person means are removed.
    rng = np.random.default_rng(3)
    people = np.repeat(np.arange(40), 4)
    labels = np.tile([0, 1, 0, 1], 40)
    # The offset is along the class direction only, so no other direction can cancel it.
    offsets = rng.uniform(-4.0, 4.0, size=(40, 1)) * np.array([[1.0, 0.0, 0.0]])
    descriptors = (offsets[people] + 0.5 * (2 * labels[:, None] - 1) * np.array([1.0, 0, 0])
                   + 0.1 * rng.normal(size=(160, 3)))
    train, test = people < 30, people >= 30

    def test_accuracy(x):
        svm = fit_linear_svm(x[train], labels[train], C=1.0)
        assert svm.kernel == "linear" and svm.C == 1.0
        return np.mean(svm.predict(x[test]) == labels[test])

    assert test_accuracy(descriptors) < 0.75
    assert test_accuracy(per_person_mean_normalization(descriptors, people)) == 1.0


def test_bad_svm_arguments_raise():
    with pytest.raises(ValueError, match="Received: C=0"):
        fit_linear_svm([[0.0], [1.0]], [0, 1], C=0)
    with pytest.raises(ValueError, match=r"Received: labels=\[1\]"):
        fit_linear_svm([[0.0], [1.0]], [1, 1])
    with pytest.raises(ValueError, match=r"Received: descriptors.shape=\(2,\)"):
        fit_linear_svm([0.0, 1.0], [0, 1])
