"""Offset strategies: buffers (size, first step, last step, alignment) in, offsets out.

Two buffers *conflict* when their lifetimes share a step; conflicting buffers
must not share a byte. The arena is the highest end offset. This is dynamic
storage allocation on an interval graph: NP-hard in general, so tinyq runs
several heuristics and, for small graphs, an exact search, and keeps the
smallest plan that `verify` accepts (memory.py).

Every heuristic is "visit the buffers in some sequence, put each one into a gap
between the conflicting buffers already placed":

* greedy-by-size (TFLM's GreedyMemoryPlanner): largest first, lowest gap that fits.
* best-fit-by-size: largest first, the *smallest* gap that fits (less fragmentation).
* first-fit-by-start / best-fit-by-start: in order of first use (the interval-graph
  order: a left-to-right sweep over time), ties largest first.
* greedy-by-area: by size x lifetime, largest first.
* greedy-by-breadth: buffers live at the busiest step first (the step whose live
  bytes set the lower bound), then the next busiest, and so on.

exact: branch and bound over the sequence of first-fit placements. Any plan can
be pushed down, buffer by buffer in order of offset, without crossing another
one, so some sequence of lowest-fit placements reaches an optimal plan; the
search tries sequences, prunes a branch once its arena reaches the best found
(or when, for some unplaced buffer, its lowest fit already does), skips
sequences that differ only by swapping two adjacent non-conflicting buffers
(they place identically), and stops early at the lower bound. It gives up
after a node budget, and then says so (`proven` False).
"""

from __future__ import annotations

from typing import Callable, Sequence

from tinyq.plan.buffers import Buffer, align_up, aligned_lower_bound


def conflict(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def _busy(buffers: Sequence[Buffer], offsets: Sequence[int | None], b: Buffer) -> list[tuple[int, int]]:
    """Byte ranges taken, during b's lifetime, by the buffers placed so far (offset not None)."""
    return sorted((offsets[j], offsets[j] + c.size) for j, c in enumerate(buffers)
                  if offsets[j] is not None and conflict(b, c))


def _gaps(busy: list[tuple[int, int]], alignment: int):
    """(start, length) of each free gap, the last one unbounded (length None)."""
    cursor = 0
    for start, stop in busy:
        if start > cursor:
            yield cursor, start - cursor
        cursor = max(cursor, align_up(stop, alignment))
    yield cursor, None


def lowest_fit(size: int, busy: list[tuple[int, int]], alignment: int) -> int:
    for start, length in _gaps(busy, alignment):
        if length is None or length >= size:
            return start
    raise AssertionError("unreachable: the last gap is unbounded")


def best_fit(size: int, busy: list[tuple[int, int]], alignment: int) -> int:
    gaps = list(_gaps(busy, alignment))
    fitting = [(length, start) for start, length in gaps[:-1] if length >= size]
    return min(fitting)[1] if fitting else gaps[-1][0]


def place(buffers: Sequence[Buffer], sequence: Sequence[int], fit: Callable = lowest_fit) -> list[int]:
    offsets: list[int | None] = [None] * len(buffers)
    for i in sequence:
        b = buffers[i]
        offsets[i] = fit(b.size, _busy(buffers, offsets, b), b.alignment)
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


# name -> (sequence, fit)
HEURISTICS: dict[str, tuple[Callable[[Sequence[Buffer]], list[int]], Callable]] = {
    "greedy-by-size": (_by(lambda bs, i: (-bs[i].size, i)), lowest_fit),
    "best-fit-by-size": (_by(lambda bs, i: (-bs[i].size, i)), best_fit),
    "first-fit-by-start": (_by(lambda bs, i: (bs[i].first, -bs[i].size, i)), lowest_fit),
    "best-fit-by-start": (_by(lambda bs, i: (bs[i].first, -bs[i].size, i)), best_fit),
    "greedy-by-area": (_by(lambda bs, i: (-bs[i].size * (bs[i].last - bs[i].first + 1), -bs[i].size, i)),
                       lowest_fit),
    "greedy-by-breadth": (_breadth_sequence, lowest_fit),
}


def run_heuristic(name: str, buffers: Sequence[Buffer]) -> list[int]:
    sequence, fit = HEURISTICS[name]
    return place(buffers, sequence(buffers), fit)


def arena_of(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((o + b.size for b, o in zip(buffers, offsets)), default=0)


def exact(buffers: Sequence[Buffer], upper: int, budget: int = 5000) -> tuple[list[int] | None, bool]:
    """(offsets of a plan smaller than `upper` or None, whether the search finished)."""
    n = len(buffers)
    bound = aligned_lower_bound(buffers)
    if upper <= bound or n == 0:
        return None, True
    sizes = [b.size for b in buffers]
    neighbours = [[j for j, c in enumerate(buffers) if j != i and conflict(b, c)] for i, b in enumerate(buffers)]
    conflicts = [set(ns) for ns in neighbours]
    offsets = [-1] * n
    best: dict = {"arena": upper, "offsets": None}
    nodes = [0]

    def fit_of(i: int) -> int:
        busy = sorted((offsets[j], offsets[j] + sizes[j]) for j in neighbours[i] if offsets[j] >= 0)
        return lowest_fit(sizes[i], busy, buffers[i].alignment)

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
            f = fits[i]
            offsets[i] = f
            child = {j: (fit_of(j) if j in conflicts[i] else g) for j, g in fits.items() if j != i}
            keep_going = search(i, max(top, f + sizes[i]), child)
            offsets[i] = -1
            if not keep_going:
                return False
        return True

    finished = search(-1, 0, {i: 0 for i in range(n)})
    return best["offsets"], finished or best["arena"] <= bound


def verify(buffers: Sequence[Buffer], offsets: Sequence[int]) -> None:
    """Raise AssertionError unless every buffer is aligned and no two live buffers share a byte."""
    if len(offsets) != len(buffers):
        raise AssertionError(f"{len(buffers)} buffers but {len(offsets)} offsets")
    for i, a in enumerate(buffers):
        if offsets[i] < 0 or offsets[i] % a.alignment:
            raise AssertionError(f"{a.name} at {offsets[i]} breaks its {a.alignment}-byte alignment")
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if conflict(a, b) and offsets[i] < offsets[j] + b.size and offsets[j] < offsets[i] + a.size:
                raise AssertionError(f"{a.name} [{offsets[i]}, {offsets[i] + a.size}) and {b.name} "
                                     f"[{offsets[j]}, {offsets[j] + b.size}) are live together and overlap")
