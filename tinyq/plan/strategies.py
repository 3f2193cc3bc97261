"""Offset strategies: buffers (size, first step, last step, alignment) in, offsets out.

Two buffers *conflict* when their lifetimes share a step; conflicting buffers
must not share a byte, except an in-place pair (`overlaps`, buffers.py): its
output may start as little as `gap` bytes below its input. So placing buffer b
next to a placed buffer a forbids b's start in the open range
(start(a) - separation(b below a), start(a) + separation(a below b)), with
separation(x below y) = size(x) unless the pair may overlap. The arena is the
highest end offset. This is dynamic storage allocation on an interval graph:
NP-hard in general, so tinyq runs several heuristics and, for small graphs, an
exact search, and keeps the smallest plan that `verify` accepts (memory.py).

Every heuristic is "visit the buffers in some sequence, start each one at a
feasible offset given the buffers already placed":

* greedy-by-size (TFLM's GreedyMemoryPlanner): largest first, lowest feasible offset.
* best-fit-by-size: largest first, the feasible range with the least slack.
* first-fit-by-start / best-fit-by-start: in order of first use (the interval-graph
  order: a left-to-right sweep over time), ties largest first.
* first-fit-by-end-reversed / best-fit-by-end-reversed: a right-to-left sweep. An
  in-place output must lie below its input, so placing outputs first lets each
  input settle just above the output that overwrites it.
* greedy-by-area: by size x lifetime, largest first.
* greedy-by-breadth: buffers live at the busiest step first (the step whose live
  bytes set the lower bound), then the next busiest, and so on.

With in-place pairs, the best two heuristic sequences are then refined by
`pair_moves` (an output moved ahead of its input in the sequence, kept when the
arena shrinks): strategy names "<heuristic>+pair-moves".

exact: branch and bound over the sequence of lowest-offset placements. Any plan
can be pushed down, buffer by buffer in order of offset, without breaking a
constraint, so some sequence of lowest-offset placements reaches an optimal
plan; the search tries sequences, prunes a branch once its arena reaches the
best found (or when, for some unplaced buffer, its lowest offset already does),
skips sequences that differ only by swapping two adjacent non-conflicting
buffers (they place identically), and stops at the alignment-aware lower
bound. It gives up after a node budget, and then says so (`proven` False).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

from tinyq.plan.buffers import Buffer, Overlaps, align_up, aligned_lower_bound, separation


def conflict(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def _forbidden(buffers: Sequence[Buffer], overlaps: Overlaps, offsets: Sequence[int | None], i: int,
               neighbours: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """Open ranges where buffer i may not start, from the conflicting buffers placed so far."""
    b = buffers[i]
    others = neighbours if neighbours is not None else range(len(buffers))
    return sorted((offsets[j] - separation(buffers, overlaps, i, j), offsets[j] + separation(buffers, overlaps, j, i))
                  for j in others if j != i and offsets[j] is not None and offsets[j] >= 0
                  and conflict(b, buffers[j]))


def feasible_ranges(forbidden: list[tuple[int, int]], alignment: int) -> Iterator[tuple[int, int | None]]:
    """(first aligned start, slack) of each range of allowed starts, bottom up; the last is
    unbounded (slack None). `forbidden` is sorted by its low ends."""
    cursor = 0
    for lo, hi in forbidden:
        if hi <= cursor:
            continue
        if cursor <= lo:
            yield cursor, lo - cursor
        cursor = max(cursor, align_up(hi, alignment))
    yield cursor, None


def lowest_fit(forbidden: list[tuple[int, int]], alignment: int) -> int:
    return next(feasible_ranges(forbidden, alignment))[0]


def best_fit(forbidden: list[tuple[int, int]], alignment: int) -> int:
    ranges = list(feasible_ranges(forbidden, alignment))
    bounded = [(slack, start) for start, slack in ranges if slack is not None]
    return min(bounded)[1] if bounded else ranges[-1][0]


def neighbours_of(buffers: Sequence[Buffer]) -> list[list[int]]:
    """For each buffer, the buffers it conflicts with (computed once per placement run)."""
    by_first = sorted(range(len(buffers)), key=lambda i: buffers[i].first)
    result: list[list[int]] = [[] for _ in buffers]
    for x, i in enumerate(by_first):
        for j in by_first[x + 1:]:
            if buffers[j].first > buffers[i].last:
                break
            result[i].append(j)
            result[j].append(i)
    return result


def place(buffers: Sequence[Buffer], sequence: Sequence[int], fit: Callable = lowest_fit,
          overlaps: Overlaps | None = None, neighbours: list[list[int]] | None = None) -> list[int]:
    overlaps = overlaps or {}
    neighbours = neighbours if neighbours is not None else neighbours_of(buffers)
    offsets: list[int | None] = [None] * len(buffers)
    for i in sequence:
        offsets[i] = fit(_forbidden(buffers, overlaps, offsets, i, neighbours[i]), buffers[i].alignment)
    return offsets  # type: ignore[return-value]


def _breadth(buffers: Sequence[Buffer]) -> list[int]:
    steps = max((b.last for b in buffers), default=-1) + 1
    live = [0] * steps
    for b in buffers:
        for s in range(b.first, b.last + 1):
            live[s] += b.size
    return [max(live[b.first:b.last + 1]) for b in buffers]


def _by(key: Callable[[Sequence[Buffer], int], tuple]) -> Callable[[Sequence[Buffer]], list[int]]:
    return lambda buffers: sorted(range(len(buffers)), key=lambda i: key(buffers, i))


def _breadth_sequence(buffers: Sequence[Buffer]) -> list[int]:
    breadth = _breadth(buffers)
    return sorted(range(len(buffers)), key=lambda i: (-breadth[i], -buffers[i].size, buffers[i].first, i))


_SIZE = _by(lambda bs, i: (-bs[i].size, i))
_START = _by(lambda bs, i: (bs[i].first, -bs[i].size, i))
_END_REVERSED = _by(lambda bs, i: (-bs[i].last, -bs[i].first, -bs[i].size, i))


def _scratch_last(sequence: Callable[[Sequence[Buffer]], list[int]]) -> Callable[[Sequence[Buffer]], list[int]]:
    """`sequence` with the ops' scratch buffers placed after every tensor: a chain of in-place ops
    descends the arena, and a scratch placed among its tensors pushes the next one up, where placed
    last it takes the room the chain left above (a few bytes at most at the peak)."""
    def ordered(buffers: Sequence[Buffer]) -> list[int]:
        order = sequence(buffers)
        return sorted(order, key=lambda i: buffers[i].name.endswith(".scratch"))  # stable: tensors, then scratch
    return ordered

# name -> (sequence, fit)
HEURISTICS: dict[str, tuple[Callable[[Sequence[Buffer]], list[int]], Callable]] = {
    "greedy-by-size": (_SIZE, lowest_fit),
    "best-fit-by-size": (_SIZE, best_fit),
    "first-fit-by-start": (_START, lowest_fit),
    "best-fit-by-start": (_START, best_fit),
    "first-fit-by-end-reversed": (_END_REVERSED, lowest_fit),
    "best-fit-by-end-reversed": (_END_REVERSED, best_fit),
    "greedy-by-area": (_by(lambda bs, i: (-bs[i].size * (bs[i].last - bs[i].first + 1), -bs[i].size, i)),
                       lowest_fit),
    "greedy-by-breadth": (_breadth_sequence, lowest_fit),
    "first-fit-by-end-reversed-scratch-last": (_scratch_last(_END_REVERSED), lowest_fit),
}


def run_heuristic(name: str, buffers: Sequence[Buffer], overlaps: Overlaps | None = None) -> list[int]:
    sequence, fit = HEURISTICS[name]
    return place(buffers, sequence(buffers), fit, overlaps)


def arena_of(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((o + b.size for b, o in zip(buffers, offsets)), default=0)


def _score(buffers: Sequence[Buffer], offsets: Sequence[int]) -> tuple[int, int]:
    """Arena first; then the sum of buffer ends, so a move that lowers one region of the
    arena counts even while another region still sets the maximum."""
    return arena_of(buffers, offsets), sum(o + b.size for b, o in zip(buffers, offsets))


def pair_moves(buffers: Sequence[Buffer], overlaps: Overlaps, sequence: Sequence[int], fit: Callable,
               budget: int | None = None) -> tuple[list[int], list[int]]:
    """Improve a heuristic's sequence for in-place pairs: an input placed before its output
    pushes the output above it (no overlap possible below offset 0), so try moving each such
    output to just before its input; keep every move that improves the score. Returns
    (sequence, offsets)."""
    budget = budget if budget is not None else 20 + 4 * len(overlaps)
    neighbours = neighbours_of(buffers)
    best_seq = list(sequence)
    best_offsets = place(buffers, best_seq, fit, overlaps, neighbours)
    best = _score(buffers, best_offsets)
    improved, evaluations = True, 0
    while improved and evaluations < budget:
        improved = False
        for below, above in overlaps:
            if evaluations >= budget:
                break
            if best_seq.index(below) < best_seq.index(above):
                continue
            candidate = [i for i in best_seq if i != below]
            candidate.insert(candidate.index(above), below)
            offsets = place(buffers, candidate, fit, overlaps, neighbours)
            evaluations += 1
            if _score(buffers, offsets) < best:
                best_seq, best_offsets, best = candidate, offsets, _score(buffers, offsets)
                improved = True
    return best_seq, best_offsets


def exact(buffers: Sequence[Buffer], upper: int, budget: int = 5000,
          overlaps: Overlaps | None = None) -> tuple[list[int] | None, bool]:
    """(offsets of a plan smaller than `upper` or None, whether the search finished)."""
    overlaps = overlaps or {}
    n = len(buffers)
    bound = aligned_lower_bound(buffers, overlaps)
    if upper <= bound or n == 0:
        return None, True
    sizes = [b.size for b in buffers]
    neighbours = [[j for j, c in enumerate(buffers) if j != i and conflict(b, c)] for i, b in enumerate(buffers)]
    conflicts = [set(ns) for ns in neighbours]
    offsets: list[int | None] = [None] * n
    best: dict = {"arena": upper, "offsets": None}
    nodes = [0]

    def fit_of(i: int) -> int:
        return lowest_fit(_forbidden(buffers, overlaps, offsets, i, neighbours[i]), buffers[i].alignment)

    def search(previous: int, top: int, fits: dict[int, int]) -> bool:
        """False when the budget ran out or the bound was reached (stop everything)."""
        nodes[0] += 1
        if nodes[0] > budget:
            return False
        if not fits:
            best["arena"], best["offsets"] = top, list(offsets)
            return top > bound
        if max(max(f + sizes[i] for i, f in fits.items()), top) >= best["arena"]:
            return True  # some buffer already ends too high wherever the others go
        for i in sorted(fits, key=lambda i: (-sizes[i], i)):
            if previous >= 0 and i < previous and i not in conflicts[previous]:
                continue  # same placements as the swapped sequence, which is searched
            offsets[i] = fits[i]
            child = {j: (fit_of(j) if j in conflicts[i] else g) for j, g in fits.items() if j != i}
            keep_going = search(i, max(top, fits[i] + sizes[i]), child)
            offsets[i] = None
            if not keep_going:
                return False
        return True

    finished = search(-1, 0, {i: 0 for i in range(n)})
    return best["offsets"], finished or best["arena"] <= bound


def verify(buffers: Sequence[Buffer], offsets: Sequence[int], overlaps: Overlaps | None = None) -> None:
    """Raise AssertionError unless every buffer is aligned and no two live buffers share a byte,
    except an in-place pair whose output starts at least its gap below its input."""
    overlaps = overlaps or {}
    if len(offsets) != len(buffers):
        raise AssertionError(f"{len(buffers)} buffers but {len(offsets)} offsets")
    for i, a in enumerate(buffers):
        if offsets[i] < 0 or offsets[i] % a.alignment:
            raise AssertionError(f"{a.name} at {offsets[i]} breaks its {a.alignment}-byte alignment")
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if not conflict(a, b) or offsets[i] >= offsets[j] + b.size or offsets[j] >= offsets[i] + a.size:
                continue
            if (i, j) in overlaps and offsets[j] - offsets[i] >= overlaps[(i, j)]:
                continue
            if (j, i) in overlaps and offsets[i] - offsets[j] >= overlaps[(j, i)]:
                continue
            raise AssertionError(f"{a.name} [{offsets[i]}, {offsets[i] + a.size}) and {b.name} "
                                 f"[{offsets[j]}, {offsets[j] + b.size}) are live together and overlap")
