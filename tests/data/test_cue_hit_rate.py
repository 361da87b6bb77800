"""Cue hit rate (Ayral (2021) thesis Ch. 3): hand-made cases with known answers."""

import numpy as np
import pytest

from kerasfer.data.sampling.cue_hit_rate import (clip_hit_masks, cue_frames, expected_hit_rate,
                                                 hit_rate, score_label_correlation,
                                                 uniform_hit_rate)


def test_hand_made_case():
    # Video 0: 40 frames, cue at frames 20-23 (ramp 0.3 below half max is not cue).
    # Video 1: 20 frames, cue at 0-1. Video 2: Neutral (no cue), left out of the rates.
    v0 = np.zeros(40)
    v0[19], v0[20:24] = 0.3, 1.0
    v1 = np.zeros(20)
    v1[:2] = 0.8
    v2 = np.zeros(30)
    np.testing.assert_array_equal(np.flatnonzero(cue_frames(v0)), [20, 21, 22, 23])
    masks = clip_hit_masks([v0, v1, v2], clip_length=8)
    # Clip [t, t+8) hits v0 iff 13 <= t <= 23; v1 iff t <= 1; N = 33, 13, 23.
    np.testing.assert_array_equal(np.flatnonzero(masks[0]), np.arange(13, 24))
    np.testing.assert_array_equal(np.flatnonzero(masks[1]), [0, 1])
    assert not masks[2].any()
    assert uniform_hit_rate(masks) == pytest.approx((11 / 33 + 2 / 13) / 2)
    assert hit_rate(masks, [15, 5, 0]) == 0.5
    assert hit_rate(masks, [23, 1, 3]) == 1.0
    point = [np.eye(33)[18], np.eye(13)[12], np.ones(23) / 23]
    assert expected_hit_rate(masks, point) == 0.5


def test_short_video_is_one_padded_clip():
    masks = clip_hit_masks([np.r_[0.0, 1.0, 0.0]], clip_length=16)
    assert masks[0].tolist() == [True]


def test_score_label_correlation_signs_and_skips():
    labels = np.r_[np.zeros(20), np.ones(10), np.zeros(20)]          # N = 35 for F = 16
    from kerasfer.data.sampling import ScoreTable
    table = ScoreTable([50], 16)
    assert np.isnan(score_label_correlation([table.scores(0)], [labels], 16))   # unexplored
    good = np.convolve(labels, np.ones(16), mode="valid")
    assert score_label_correlation([good], [labels], 16) == pytest.approx(1.0)
    assert score_label_correlation([-good], [labels], 16) == pytest.approx(-1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="threshold"):
        cue_frames([1.0], threshold=0)
    with pytest.raises(ValueError, match="one start per video"):
        hit_rate(clip_hit_masks([np.ones(20)], 8), [0, 1])
