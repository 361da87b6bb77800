"""Which subjects go where: the searches behind the subject-independent splits of `folds`.

Both work on a per-subject class-count table `counts` `(S, C)` (videos of class c held by
subject s) and return where each subject goes; `kerasfer.data.folds` maps that back to
video ids. `holdout_subjects` picks validation subjects whose class counts are within ±1
video of a fraction of every class (the stratified subject-independent 80/20 division of
Ayral (2021) thesis, Sec. 2.2.2); `deal_subjects_to_folds` deals subjects to K folds
(BioVid's 8-fold protocol).

Example:

>>> counts = np.array([[3, 1], [2, 2], [1, 3], [2, 2], [2, 2]])
>>> chosen = holdout_subjects(counts, 0.2, np.random.default_rng(0), restarts=16)
>>> fold_of = deal_subjects_to_folds(counts, 5, np.random.default_rng(0))
"""

from __future__ import annotations

import numpy as np


def _cost(deviation):
    # Lexicographic: first how far any class is beyond ±1 video, then the squared error.
    # `deviation` is `(..., classes)`; returns `(...)`.
    excess = np.maximum(np.abs(deviation) - 1.0, 0.0)
    return (excess ** 2).sum(axis=-1) * 1e6 + (deviation ** 2).sum(axis=-1)


def holdout_subjects(counts, fraction, rng, restarts):
    """Returns the bool mask `(S,)` of validation subjects (see the module docstring).

    Local moves and swaps of whole subjects from a random start descend a cost that first
    counts how far any class is beyond ±1 video of `fraction` × its count, then the squared
    error; restarted until within ±1 (or `restarts` times, keeping the best). Both sides
    keep at least one subject.

    Args:
        counts: array `(S, C)`. Per-subject class counts, S >= 2.
        fraction: float. Share of each class to put in validation, in (0, 1).
        rng: `numpy.random.Generator`. The random starts.
        restarts: int. Most random starts.
    """
    num_subjects = counts.shape[0]
    target = fraction * counts.sum(axis=0)
    best, best_cost = None, np.inf
    for _ in range(restarts):
        chosen = rng.random(num_subjects) < fraction
        chosen[rng.integers(num_subjects)] = True
        if chosen.all():  # Keep at least one training subject in the start, too.
            chosen[rng.integers(num_subjects)] = False
        total = chosen @ counts
        while True:
            deviation = total - target
            current = _cost(deviation)
            # Every single move (a subject changes side) and every swap of two subjects.
            sign = np.where(chosen, -1.0, 1.0)[:, None]
            moves = deviation[None, :] + sign * counts
            move_costs = _cost(moves)
            inside, outside = np.flatnonzero(chosen), np.flatnonzero(~chosen)
            swap_costs = np.full((len(inside), len(outside)), np.inf)
            if len(inside) and len(outside):
                swap_costs = _cost(deviation[None, None, :] - counts[inside][:, None, :]
                                   + counts[outside][None, :, :])
            # Never empty a side.
            if chosen.sum() == 1:
                move_costs[chosen] = np.inf
            if (~chosen).sum() == 1:
                move_costs[~chosen] = np.inf
            best_move = int(np.argmin(move_costs))
            best_swap = np.unravel_index(int(np.argmin(swap_costs)), swap_costs.shape)
            if min(move_costs[best_move], swap_costs[best_swap]) >= current - 1e-9:
                break
            if move_costs[best_move] <= swap_costs[best_swap]:
                chosen[best_move] = ~chosen[best_move]
            else:
                chosen[inside[best_swap[0]]] = False
                chosen[outside[best_swap[1]]] = True
            total = chosen @ counts
        cost = float(_cost(total - target))
        if cost < best_cost - 1e-9:
            best, best_cost = chosen.copy(), cost
        if best_cost < 1e6:
            # Within ±1 video for every class: keep this seed's split rather than searching
            # for the global optimum, so that different seeds give different splits.
            break
    return best


def deal_subjects_to_folds(counts, num_folds, rng):
    """Returns the fold `(S,)` of each subject: largest first, to the best-balanced fold.

    Subjects are dealt largest first (ties in `rng`'s random order), each to the fold whose
    per-class counts stay closest to 1/K of every class; no fold stays empty.

    Args:
        counts: array `(S, C)`. Per-subject class counts.
        num_folds: int. K, in [2, S].
        rng: `numpy.random.Generator`. The tie-breaking order.
    """
    order = rng.permutation(counts.shape[0])
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    target = counts.sum(axis=0) / num_folds
    fold_counts = np.zeros((num_folds, counts.shape[1]))
    fold_of = np.zeros(counts.shape[0], int)
    for position, subject in enumerate(order):
        empty = np.flatnonzero(fold_counts.sum(axis=1) == 0)
        if len(empty) and len(empty) >= len(order) - position:
            # As many empty folds as subjects left: every fold must get one.
            fold = int(empty[0])
        else:
            after = fold_counts + counts[subject]
            costs = (((after - target) ** 2).sum(axis=1)
                     - ((fold_counts - target) ** 2).sum(axis=1))
            fold = int(np.argmin(costs))
        fold_of[subject] = fold
        fold_counts[fold] += counts[subject]
    return fold_of


__all__ = ["deal_subjects_to_folds", "holdout_subjects"]
