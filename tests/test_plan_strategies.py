"""Offset strategies on random buffer sets: every plan verified, never below the lower bound,
the exact search never worse than the heuristics and optimal on instances small enough to brute-force."""

import itertools

import numpy as np
import pytest

from tinyq.plan.buffers import Buffer, align_up, aligned_lower_bound, lower_bound
from tinyq.plan.memory import place_buffers
from tinyq.plan.strategies import HEURISTICS, arena_of, exact, run_heuristic, verify


def random_buffers(rng, n, steps, max_size=4000, alignment=16):
    result = []
    for i in range(n):
        first = int(rng.integers(0, steps))
        last = min(steps - 1, first + int(rng.integers(0, 4)))
        result.append(Buffer(f"b{i}", int(rng.integers(1, max_size)), first, last, alignment=alignment))
    return result


@pytest.mark.parametrize("seed", range(40))
def test_every_heuristic_is_valid_and_above_the_bound(seed):
    rng = np.random.default_rng(seed)
    buffers = random_buffers(rng, int(rng.integers(1, 30)), int(rng.integers(1, 12)),
                             alignment=int(rng.choice([1, 4, 16])))
    bound = lower_bound(buffers)
    for name in HEURISTICS:
        offsets = run_heuristic(name, buffers)
        verify(buffers, offsets)
        assert arena_of(buffers, offsets) >= bound, name


@pytest.mark.parametrize("seed", range(25))
def test_exact_search_is_valid_and_never_worse(seed):
    rng = np.random.default_rng(1000 + seed)
    buffers = random_buffers(rng, int(rng.integers(2, 11)), int(rng.integers(2, 7)), alignment=16)
    name, offsets, tried, proven = place_buffers(buffers, 16)
    verify(buffers, offsets)
    arena = align_up(arena_of(buffers, offsets), 16)
    assert arena >= aligned_lower_bound(buffers) >= lower_bound(buffers)
    assert arena == min(a for _, a in tried)
    assert arena <= min(a for n, a in tried if n != "exact")


def brute_force_optimum(buffers, unit, limit, overlaps=None):
    """Smallest arena below `limit` over every assignment of offsets on a grid of `unit` (tiny instances)."""
    grid = range(0, limit - min(b.size for b in buffers) + 1, unit)
    best = limit
    for offsets in itertools.product(grid, repeat=len(buffers)):
        top = max(o + b.size for o, b in zip(offsets, buffers))
        if top >= best:
            continue
        try:
            verify(buffers, offsets, overlaps)
        except AssertionError:
            continue
        best = top
    return best


def random_overlaps(rng, buffers):
    """In-place-like pairs: a buffer ending at the step another starts may have it start
    `gap` bytes below it (gap < the lower one's size)."""
    pairs = {}
    for i, a in enumerate(buffers):
        for j, b in enumerate(buffers):
            if i != j and a.first == b.last and rng.random() < 0.6 and (j, i) not in pairs:
                pairs[(i, j)] = 16 * int(rng.integers(0, max(1, a.size // 16)))
    return pairs


@pytest.mark.parametrize("seed", range(30))
def test_strategies_with_overlaps(seed):
    rng = np.random.default_rng(3000 + seed)
    buffers = random_buffers(rng, int(rng.integers(2, 16)), int(rng.integers(2, 8)), alignment=16)
    overlaps = random_overlaps(rng, buffers)
    bound = lower_bound(buffers, overlaps)
    assert bound <= lower_bound(buffers)
    for name in HEURISTICS:
        offsets = run_heuristic(name, buffers, overlaps)
        verify(buffers, offsets, overlaps)
        assert arena_of(buffers, offsets) >= bound
    name, offsets, tried, proven = place_buffers(buffers, 16, overlaps=overlaps)
    verify(buffers, offsets, overlaps)
    assert align_up(arena_of(buffers, offsets), 16) >= aligned_lower_bound(buffers, overlaps) >= bound


@pytest.mark.parametrize("seed", range(12))
def test_exact_search_finds_the_optimum_with_overlaps(seed):
    rng = np.random.default_rng(4000 + seed)
    buffers = [Buffer(f"b{i}", 16 * int(rng.integers(1, 4)), int(f), int(f) + int(rng.integers(0, 2)))
               for i, f in enumerate(rng.integers(0, 3, size=5))]
    overlaps = random_overlaps(rng, buffers)
    heuristic = min(arena_of(buffers, run_heuristic(n, buffers, overlaps)) for n in HEURISTICS)
    found, proven = exact(buffers, heuristic, budget=10**6, overlaps=overlaps)
    assert proven
    best = arena_of(buffers, found) if found is not None else heuristic
    if found is not None:
        verify(buffers, found, overlaps)
    optimum = brute_force_optimum(buffers, 16, heuristic, overlaps)
    assert best == optimum
    assert aligned_lower_bound(buffers, overlaps) <= optimum


@pytest.mark.parametrize("seed", range(12))
def test_exact_search_finds_the_optimum(seed):
    rng = np.random.default_rng(2000 + seed)
    buffers = [Buffer(f"b{i}", 16 * int(rng.integers(1, 4)), int(f), int(f) + int(rng.integers(0, 3)))
               for i, f in enumerate(rng.integers(0, 4, size=5))]
    heuristic = min(arena_of(buffers, run_heuristic(n, buffers)) for n in HEURISTICS)
    found, proven = exact(buffers, heuristic, budget=10**6)
    assert proven
    best = arena_of(buffers, found) if found is not None else heuristic
    if found is not None:
        verify(buffers, found)
    optimum = brute_force_optimum(buffers, 16, heuristic)
    assert best == optimum
    assert aligned_lower_bound(buffers) <= optimum


def test_heuristics_can_miss_the_bound_and_exact_recovers():
    # Three buffers where largest-first leaves a hole: b0 (steps 0-1) and b2 (steps 1-2) conflict,
    # b1 (step 0) and b3 (step 2) fit around them only in the right arrangement.
    buffers = [Buffer("b0", 32, 0, 1), Buffer("b1", 48, 0, 0), Buffer("b2", 48, 1, 2), Buffer("b3", 32, 2, 2)]
    name, offsets, tried, proven = place_buffers(buffers, 16)
    verify(buffers, offsets)
    assert proven
    assert arena_of(buffers, offsets) == lower_bound(buffers) == 80


def test_verify_allows_an_in_place_pair_only_from_its_gap():
    out, inp = Buffer("out", 64, 1, 2), Buffer("in", 64, 0, 1)
    verify([out, inp], [0, 32], {(0, 1): 32})  # output starts 32 B below its input
    verify([out, inp], [0, 48], {(0, 1): 32})
    with pytest.raises(AssertionError, match="overlap"):
        verify([out, inp], [0, 16], {(0, 1): 32})
    with pytest.raises(AssertionError, match="overlap"):
        verify([out, inp], [32, 0], {(0, 1): 32})  # the input may not sit below its output


def test_verify_rejects_overlap_and_misalignment():
    a, b = Buffer("a", 32, 0, 1), Buffer("b", 32, 1, 2)
    verify([a, b], [0, 32])
    verify([a, Buffer("c", 32, 2, 3)], [0, 0])  # never live together: may share bytes
    with pytest.raises(AssertionError, match="overlap"):
        verify([a, b], [0, 16])
    with pytest.raises(AssertionError, match="alignment"):
        verify([a, b], [0, 40])


def test_lower_bound_is_the_busiest_step():
    buffers = [Buffer("a", 100, 0, 2), Buffer("b", 50, 1, 1), Buffer("c", 70, 2, 3), Buffer("d", 10, 3, 3)]
    assert lower_bound(buffers) == 170  # step 2: a + c
