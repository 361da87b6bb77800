"""Fan et al. (2017) late fusion and audio classifiers: average, max, SVM (C = 18.5)."""

import numpy as np
import pytest

from kerasfer.evaluation.audio_classifier import AudioClassifier
from kerasfer.evaluation.fusion import ScoreFusion


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _complementary_scores(n, seed):
    """Model "a" separates classes {0, 1} from 2 but confuses 0/1; model "b" the reverse."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    a_logits = rng.normal(0, 0.6, (n, 3))
    b_logits = rng.normal(0, 0.6, (n, 3))
    a_logits[labels == 2, 2] += 2.0
    a_logits[labels < 2, :2] += 1.0  # 0 and 1 equally likely for model a
    b_logits[labels == 0, 0] += 2.0
    b_logits[labels > 0, 1:] += 1.0  # 1 and 2 equally likely for model b
    return {"a": _softmax(a_logits), "b": _softmax(b_logits)}, labels


def test_average_and_max_match_their_definitions():
    p = {"a": np.array([[0.6, 0.4], [0.2, 0.8], [0.55, 0.45]]),
         "b": np.array([[0.1, 0.9], [0.3, 0.7], [0.9, 0.1]])}
    labels = np.array([1, 1, 0])
    average = ScoreFusion("average", weights={"a": 3.0, "b": 1.0}).fit(p, labels)
    expected = np.argmax(0.75 * p["a"] + 0.25 * p["b"], axis=1)
    np.testing.assert_array_equal(average.predict(p), expected)
    # Highest confidence: the class of the single largest probability (0.9, 0.8, 0.9).
    np.testing.assert_array_equal(ScoreFusion("max").fit(p, labels).predict(p), [1, 1, 0])
    # Default weights: validation accuracies (a: 2/3, b: 3/3).
    fitted = ScoreFusion("average").fit(p, labels)
    assert fitted.fitted_weights == {"a": pytest.approx(2 / 3), "b": 1.0}


def test_svm_fusion_beats_each_complementary_model():
    val, val_labels = _complementary_scores(150, 0)
    test, test_labels = _complementary_scores(150, 1)
    singles = [np.mean(np.argmax(test[m], axis=1) == test_labels) for m in "ab"]
    fusion = ScoreFusion("svm").fit(val, val_labels)
    assert fusion.svm_c == 18.5
    fused = fusion.accuracy(test, test_labels)
    assert max(singles) < 0.75 and fused > max(singles) + 0.1


def test_missing_modality_is_fused_from_the_others():
    val, val_labels = _complementary_scores(150, 0)
    test, test_labels = _complementary_scores(60, 1)
    test["b"][:20] = np.nan  # e.g. no audio track in 20 videos
    for method in ("average", "max", "svm"):
        fusion = ScoreFusion(method).fit(val, val_labels)
        predicted = fusion.predict(test)
        assert (predicted >= 0).all()
        # Without "b", the fusion predicts what model "a" alone (or its SVM) predicts.
        only_a = ScoreFusion(method).fit({"a": val["a"]}, val_labels).predict({"a": test["a"][:20]})
        np.testing.assert_array_equal(predicted[:20], only_a)
    both_missing = {k: np.full((2, 3), np.nan) for k in test}
    np.testing.assert_array_equal(ScoreFusion("svm").fit(val, val_labels).predict(both_missing), [-1, -1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: method='median'"):
        ScoreFusion("median")
    with pytest.raises(ValueError, match="Received: svm_c=0"):
        ScoreFusion("svm", svm_c=0)
    val, labels = _complementary_scores(30, 0)
    fusion = ScoreFusion("average").fit(val, labels)
    with pytest.raises(ValueError, match="expected \\['a', 'b'\\]"):
        fusion.predict({"a": val["a"]})
    with pytest.raises(ValueError, match="Received: kind='knn'"):
        AudioClassifier("knn")


@pytest.mark.slow
def test_audio_classifiers_on_synthetic_speech_of_held_out_speakers():
    pytest.importorskip("opensmile")
    from kerasfer.data.synthetic.audio_track import render_audio_track, speaker_pitch
    from tfrecords_builder.audio import egemaps_functionals

    classes = ("Angry", "Neutral", "Sad", "Surprise")
    features, labels, speakers = [], [], []
    for index in range(64):
        label, speaker = index % 4, index // 4 % 8
        track = render_audio_track(classes[label], duration=1.0, class_names=classes,
                                   speaker_pitch_hz=speaker_pitch(speaker), seed=index)
        features.append(egemaps_functionals(track))
        labels.append(label)
        speakers.append(speaker)
    features, labels, speakers = np.array(features), np.array(labels), np.array(speakers)
    train, test = speakers < 6, speakers >= 6  # held-out speakers
    present = np.ones(len(labels), bool)
    present[test.nonzero()[0][:2]] = False  # two test videos without audio
    for kind in ("random_forest", "svc"):
        model = AudioClassifier(kind).fit(features[train], labels[train], num_classes=5)
        probabilities = model.predict_proba(features[test], present[test])
        assert probabilities.shape == (test.sum(), 5)
        assert np.isnan(probabilities[:2]).all() and np.allclose(probabilities[2:].sum(axis=1), 1)
        assert (probabilities[2:, 4] == 0).all()  # a class never seen in training
        accuracy = np.mean(np.argmax(probabilities[2:], axis=1) == labels[test][2:])
        assert accuracy > 0.5, (kind, accuracy)  # chance 0.25
    forest = AudioClassifier("random_forest").fit(features, labels, 4).estimator
    assert forest.n_estimators == 500 and forest.min_samples_split == 28


def _class_sequences(num_videos, dim, seed):
    """Per-frame features whose direction depends on the class, plus frame noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_videos) % 3
    directions = np.eye(3, dim) * 1.5
    videos = [directions[y] + rng.normal(0, 1.0, (int(rng.integers(5, 12)), dim))
              for y in labels]
    return videos, labels


@pytest.mark.slow
def test_feature_lstm_learns_sequences_and_round_trips(tmp_path):
    """Fan et al. (2017) VGG fc6 + Bi-LSTM on frozen features: loss falls, held-out above chance."""
    from kerasfer.evaluation.fusion_feature_lstm import FusionFeatureLSTM

    train, y_train = _class_sequences(48, 6, seed=0)
    test, y_test = _class_sequences(30, 6, seed=1)
    lstm = FusionFeatureLSTM(3, lstm_units=8, dropout_rate=0.1, timesteps=6, epochs=15,
                             batch_size=8, learning_rate=0.01).fit(train, y_train)
    assert lstm.history["loss"][-1] < 0.7 * lstm.history["loss"][0]
    probabilities = lstm.predict_proba(test)  # whole videos of 5-11 frames, one pass each
    assert probabilities.shape == (30, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == y_test) > 0.6
    lstm.save(str(tmp_path / "lstm.keras"))
    again = FusionFeatureLSTM(3).load(str(tmp_path / "lstm.keras"))
    np.testing.assert_allclose(again.predict_proba(test), probabilities, atol=1e-5)


def test_feature_lstm_arguments_and_extractor():
    from kerasfer.evaluation.fusion_feature_lstm import (FusionFeatureLSTM,
                                                         frame_feature_extractor)
    from kerasfer.models.fer_mini_xception import fer_mini_xception_2d

    with pytest.raises(ValueError, match="timesteps=0"):
        FusionFeatureLSTM(3, timesteps=0)
    with pytest.raises(ValueError, match="call fit"):
        FusionFeatureLSTM(3).predict_proba([np.zeros((4, 2))])
    with pytest.raises(ValueError, match="one label per video"):
        FusionFeatureLSTM(3).fit([np.zeros((4, 2))], [0, 1])
    model_2d = fer_mini_xception_2d(3, input_shape=(32, 32, 1))
    extractor = frame_feature_extractor(model_2d)
    faces = np.random.default_rng(0).uniform(-1, 1, (5, 32, 32, 1)).astype(np.float32)
    features = np.asarray(extractor(faces))
    assert features.shape == (5, 128)  # the classifier's input (last module), averaged
    classifier_input = model_2d.get_layer("classifier").input
    import keras

    maps = np.asarray(keras.Model(model_2d.input, classifier_input)(faces))
    np.testing.assert_allclose(features, maps.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no layer 'classifier'"):
        frame_feature_extractor(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
