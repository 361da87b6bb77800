"""Sampler tests: phases, planned starts, Eq. 3.9 updates, temperatures, state round trips."""

import numpy as np
import pytest

from kerasfer.data.sampling import (
    LabelGuidedSampler,
    ReinforceSampler,
    ScoreTable,
    TemporalStochasticSoftmaxSampler,
    softmax_probabilities,
)


@pytest.mark.parametrize("lengths, clip_length, expected", [
    ([16], 16, [1]),
    ([40, 20], 16, [25, 5]),
    ([5, 1], 16, [1, 1]),          # L < F: padded to one clip (thesis 3.2.3.1)
    ([10], 1, [10]),
])
def test_score_table_num_starts(lengths, clip_length, expected):
    table = ScoreTable(lengths, clip_length)
    assert table.num_starts.tolist() == expected
    assert all(np.all(table.scores(v) == 0) for v in range(len(lengths)))


@pytest.mark.parametrize("n, clip_length, start, score, initial", [
    (30, 4, 10, 2.0, 0.0),
    (30, 4, 0, -1.0, 0.5),         # clipped at the left edge
    (7, 16, 6, 3.0, 1.0),          # neighbourhood wider than the table
    (1, 16, 0, 1.5, 0.0),          # short video
])
def test_eq_3_9_update(n, clip_length, start, score, initial):
    table = ScoreTable([n + clip_length - 1], clip_length)
    table.scores(0)[:] = initial
    table.update(0, start, score)
    expected = np.full(n, initial)
    for i in range(-clip_length + 1, clip_length):
        if 0 <= start + i < n:
            expected[start + i] += (clip_length - abs(i)) / clip_length * (score - initial)
    np.testing.assert_allclose(table.scores(0), expected)
    assert table.scores(0)[start] == pytest.approx(score)   # weight 1 at the centre
    assert table.visit_counts(0)[start] == 1


def test_update_outside_table_fails():
    table = ScoreTable([20], 16)
    with pytest.raises(IndexError, match="start out of range"):
        table.update(0, 5, 1.0)
    with pytest.raises(IndexError, match="video_index"):
        table.update(3, 0, 1.0)


def test_score_table_save_load_round_trip(tmp_path):
    table = ScoreTable([40, 17, 3], 16)
    table.update_many([2, 0, 1], [0, 20, 1], [0.5, 1.25, -2.0])
    path = tmp_path / "table.npz"
    table.save(path)
    loaded = ScoreTable.load(path)
    np.testing.assert_array_equal(loaded.values, table.values)
    np.testing.assert_array_equal(loaded.visits, table.visits)
    other = ScoreTable([41, 17, 3], 16)
    with pytest.raises(Exception, match="other videos"):
        other.set_state(table.get_state())


@pytest.mark.parametrize("epoch, phase", [(0, "warmup"), (2, "warmup"), (3, "exploration"),
                                          (7, "exploration"), (8, "exploitation"), (50, "exploitation")])
def test_phases_default_lengths(epoch, phase):
    assert TemporalStochasticSoftmaxSampler([30]).phase(epoch) == phase


def test_exploration_visits_evenly_spaced_different_fractions():
    lengths = [115, 40, 16, 18]   # N = 100, 25, 1, 3
    sampler = TemporalStochasticSoftmaxSampler(lengths, 16, warmup_epochs=1, exploration_epochs=5)
    sampler.plan(0)
    plans = np.stack([sampler.plan(e) for e in range(1, 6)])
    np.testing.assert_array_equal(plans[:, 0], [10, 30, 50, 70, 90])
    np.testing.assert_array_equal(plans[:, 1], [2, 7, 12, 17, 22])
    np.testing.assert_array_equal(plans[:, 2], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(plans[:, 3], [0, 0, 1, 2, 2])
    assert plans.dtype == np.int32


def test_warmup_is_uniform_and_does_not_update():
    sampler = TemporalStochasticSoftmaxSampler([25] * 2000, 16, warmup_epochs=2, seed=1)
    starts = sampler.plan(0)
    counts = np.bincount(starts, minlength=10)
    assert counts.min() > 150 and counts.max() < 250      # 10 starts, 200 expected each
    sampler.update(np.arange(2000), starts, np.ones(2000), epoch=0)
    assert np.all(sampler.table.values == 0)
    sampler.update(np.arange(2000), starts, np.ones(2000), epoch=2)
    assert np.all(sampler.table.values > 0)


def test_zero_temperature_is_uniform_and_infinite_is_argmax():
    w = np.array([0.0, 3.0, -1.0, 3.0])
    np.testing.assert_allclose(softmax_probabilities(w, 0.0), 0.25)
    np.testing.assert_allclose(softmax_probabilities(w, np.inf), [0, 0.5, 0, 0.5])
    np.testing.assert_allclose(softmax_probabilities(w, 1e6), [0, 0.5, 0, 0.5])
    p = softmax_probabilities(w, 1.0)
    np.testing.assert_allclose(p, np.exp(w) / np.exp(w).sum())    # Eq. 3.8


@pytest.mark.parametrize("temperature", [0.0, 1.0, np.inf])
def test_exploitation_frequencies_follow_eq_3_8(temperature):
    videos = 4000
    sampler = TemporalStochasticSoftmaxSampler([20] * videos, 16, sampling_temperature=temperature,
                                               warmup_epochs=0, exploration_epochs=0, seed=3)
    w = np.array([0.0, 1.0, 2.0, 0.5, 2.0])
    for v in range(videos):
        sampler.table.scores(v)[:] = w
    freq = np.bincount(sampler.plan(0), minlength=5) / videos
    np.testing.assert_allclose(freq, softmax_probabilities(w, temperature), atol=0.03)


def test_update_during_exploitation_changes_distribution():
    sampler = TemporalStochasticSoftmaxSampler([60], 16, sampling_temperature=10.0,
                                               warmup_epochs=0, exploration_epochs=0)
    sampler.update([0], [30], [2.0], epoch=0)
    assert int(np.argmax(sampler.distribution(0))) == 30
    assert np.all(sampler.plan(1) >= 15) and np.all(sampler.plan(2) <= 45)


def test_state_round_trip_continues_the_same_plan():
    a = TemporalStochasticSoftmaxSampler([50, 33, 12], 16, warmup_epochs=1, exploration_epochs=1, seed=7)
    for epoch in range(4):
        starts = a.plan(epoch)
        a.update([0, 1, 2], starts, [0.1 * epoch, 1.0, -1.0], epoch)
    b = TemporalStochasticSoftmaxSampler([50, 33, 12], 16, warmup_epochs=1, exploration_epochs=1, seed=99)
    b.set_state({k: np.array(v) for k, v in a.get_state().items()})
    np.testing.assert_array_equal(a.plan(4), b.plan(4))
    np.testing.assert_array_equal(b.history[2], a.history[2])


@pytest.mark.parametrize("kwargs, match", [
    ({"sampling_temperature": -1.0}, "sampling_temperature"),
    ({"warmup_epochs": -1}, "warmup_epochs"),
    ({"clip_length": 0}, "clip_length"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TemporalStochasticSoftmaxSampler([20], **kwargs)


def test_reinforce_zero_temperature_stays_uniform_and_positive_moves_towards_reward():
    flat = ReinforceSampler([20], 16, sampling_temperature=0.0, warmup_epochs=0)
    flat.update([0], [2], [5.0], epoch=0)
    flat.update([0], [2], [9.0], epoch=1)
    np.testing.assert_allclose(flat.distribution(0), 0.2)
    sampler = ReinforceSampler([20], 16, sampling_temperature=1.0, learning_rate=0.5, warmup_epochs=0)
    sampler.update([0], [1], [0.0], epoch=0)          # first reward sets the baseline
    sampler.update([0], [3], [4.0], epoch=1)          # above baseline: start 3 reinforced
    q = sampler.distribution(0)
    assert int(np.argmax(q)) == 3 and q.sum() == pytest.approx(1.0)
    state = sampler.get_state()
    other = ReinforceSampler([20], 16)
    other.set_state(state)
    np.testing.assert_allclose(other.distribution(0), q)


def test_label_guided_sampler_follows_frame_labels():
    labels = [np.r_[np.zeros(20), np.full(8, 10.0), np.zeros(20)], np.full(5, np.nan)]
    sampler = LabelGuidedSampler(labels, clip_length=8, sampling_temperature=0.8)
    assert sampler.phase(0) == "exploitation"
    assert sampler.num_starts.tolist() == [41, 1]
    assert int(np.argmax(sampler.distribution(0))) == 20
    starts = np.stack([sampler.plan(e) for e in range(50)])
    assert np.mean(np.abs(starts[:, 0] - 20) < 8) > 0.9
    assert np.all(starts[:, 1] == 0)


def test_author_exploration_visits_both_ends_in_a_per_video_random_order():
    # Ayral's public code: starts int((N − 1) · k / (E − 1)), k permuted per video.
    lengths = [115, 115, 115, 40]          # N = 100, 100, 100, 25
    sampler = TemporalStochasticSoftmaxSampler(lengths, 16, warmup_epochs=1,
                                               exploration_epochs=5, seed=3,
                                               exploration="author")
    sampler.plan(0)
    plans = np.stack([sampler.plan(e) for e in range(1, 6)])
    for video, n in enumerate([100, 100, 100, 25]):
        expected = sorted(int((n - 1) * k / 4) for k in range(5))
        assert sorted(plans[:, video].tolist()) == expected      # ends 0 and N − 1 included
    # Different videos visit the positions in different orders (not the same k per epoch).
    assert len({tuple(plans[:, v]) for v in range(3)}) > 1


def test_author_exploration_overwrites_a_piecewise_constant_table():
    sampler = TemporalStochasticSoftmaxSampler([115], 16, warmup_epochs=0, exploration_epochs=5,
                                               exploration="author")
    radius = int(np.ceil((100 - 5) / 4 / 2))                     # 12
    sampler.table.scores(0)[:] = 7.0
    sampler.update([0], [50], [2.0], epoch=0)                    # exploration: overwrite
    w = sampler.table.scores(0)
    np.testing.assert_array_equal(w[50 - radius:50 + radius + 1], 2.0)
    assert w[50 - radius - 1] == 7.0 and w[50 + radius + 1] == 7.0
    sampler.update([0], [50], [4.0], epoch=5)                    # exploitation: Eq. 3.9
    assert w[50] == 4.0 and w[51] == pytest.approx(2.0 + 15 / 16 * 2.0)


def test_segments_exploration_blends_with_eq_3_9_from_zero():
    sampler = TemporalStochasticSoftmaxSampler([115], 16, warmup_epochs=0, exploration_epochs=5)
    sampler.update([0], [50], [2.0], epoch=0)
    w = sampler.table.scores(0)
    assert w[50] == 2.0 and w[58] == pytest.approx(2.0 * 8 / 16) and w[70] == 0.0


def test_unknown_exploration_fails():
    with pytest.raises(ValueError, match="exploration"):
        TemporalStochasticSoftmaxSampler([30], exploration="centres")
