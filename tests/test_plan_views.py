"""Views with a byte offset (Lowered.placements): SLICE, STRIDED_SLICE, SPLIT, UNPACK outputs inside
their input, PACK inputs written in place into their output. Each plan is smaller than the same
graph planned with copies, still bit-exact layer by layer, and the tensor-level proof rejects a view
the lowering does not offer, one at the wrong offset and a tensor viewing two others."""

import dataclasses
import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, bound_reference
from tinyq.lower import LoweredGraph, lower_graph
from tinyq.plan import plan_memory
from tinyq.plan.aliasing import Alias
from tinyq.plan.verify import verify_tensors
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


Q = dict(scale=0.05, zero_point=-7)


def fc(b, rng, x, width, units, q=None):
    w = b.const(rng.integers(-127, 128, size=(units, width)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, units), **(q or dict(scale=float(rng.uniform(0.05, 0.2)),
                                              zero_point=int(rng.integers(-20, 20)))))
    b.op("fully_connected", [x, w, -1], [y])
    return y


def relu(b, x, shape):
    y = b.activation(shape, **Q)
    b.op("relu", [x], [y])
    return y


def without_placements(lowered: LoweredGraph) -> LoweredGraph:
    return dataclasses.replace(lowered, ops=tuple(dataclasses.replace(k, placements=()) for k in lowered.ops))


def arenas(graph) -> tuple[int, int]:
    """(arena with views, arena with every placement refused: copies)."""
    lowered = lower_graph(graph)
    return (plan_memory(bound_reference(lowered)).arena_bytes,
            plan_memory(bound_reference(without_placements(lowered))).arena_bytes)


def sequence_model():
    """An unrolled recurrence: x [8, 64] unpacked into 8 steps, each step's FC output packed back,
    a strided slice of the stack (every other step) and a split of it feeding two FCs."""
    rng = seeded("sequence")
    b = GraphBuilder("sequence")
    x = b.input((8, 64), **Q)
    steps = [b.activation((64,), **Q) for _ in range(8)]
    b.op("unpack", [x], steps, num=8, axis=0)
    outs = []
    for s in steps:
        r = b.activation((1, 64), **Q)
        b.op("reshape", [s, b.const(np.array([1, 64], np.int32))], [r])
        outs.append(fc(b, rng, r, 64, 48, Q))
    stacked = b.activation((8, 1, 48), **Q)
    b.op("pack", outs, [stacked], values_count=8, axis=0)
    half = b.activation((4, 1, 48), **Q)
    b.op("strided_slice", [stacked] + [b.const(np.array(v, np.int32)) for v in ([4, 0, 0], [8, 1, 48], [1, 1, 1])],
         [half])
    a, c = b.activation((2, 1, 48), **Q), b.activation((2, 1, 48), **Q)
    b.op("split", [b.const(np.array(0, np.int32)), half], [a, c], num_splits=2)
    ra = b.activation((1, 96), **Q)
    b.op("reshape", [a, b.const(np.array([1, 96], np.int32))], [ra])
    rc = b.activation((1, 96), **Q)
    b.op("reshape", [c, b.const(np.array([1, 96], np.int32))], [rc])
    return b.build([fc(b, rng, ra, 96, 16), fc(b, rng, rc, 96, 16)])


def test_views_make_the_arena_smaller_and_stay_bit_exact():
    graph = sequence_model()
    with_views, with_copies = arenas(graph)
    assert with_views < with_copies
    compiled = assert_bit_exact(graph, n_inputs=6, layers=True)
    assert compiled.plan.arena_bytes == with_views
    kinds = {compiled.lowered.ops[a.position].op.op for a in compiled.plan.aliases if a.kind == "view" and a.shift}
    assert {"unpack", "pack", "strided_slice", "split"} <= kinds


def test_split_outputs_are_views_only_when_contiguous():
    b = GraphBuilder("split")
    x = b.input((1, 6, 8), **Q)
    r = relu(b, x, (1, 6, 8))
    rows = [b.activation((1, 3, 8), **Q) for _ in range(2)]
    b.op("split", [b.const(np.array(1, np.int32)), r], rows, num_splits=2)
    cols = [b.activation((1, 6, 4), **Q) for _ in range(2)]
    b.op("split", [b.const(np.array(2, np.int32)), r], cols, num_splits=2)
    graph = b.build([relu(b, t, (1, 3, 8)) for t in rows] + [relu(b, t, (1, 6, 4)) for t in cols])
    compiled = assert_bit_exact(graph, n_inputs=4, layers=True)
    views = {a.tensor: -a.shift for a in compiled.plan.aliases if a.kind == "view"}
    assert views == {rows[0]: 0, rows[1]: 24}
    assert compiled.plan.tensor_offset(rows[1]) == compiled.plan.tensor_offset(r) + 24


def test_pack_inputs_are_placed_once():
    """PACK(r, r): r can sit in one slot only; the other slot is copied. A SPLIT's outputs packed
    back in another order cannot move inside the stack either (they are the split input's bytes)."""
    rng = seeded("twice")
    b = GraphBuilder("twice")
    x = b.input((1, 32), **Q)
    r = fc(b, rng, x, 32, 32)
    twice = b.activation((2, 1, 32), **Q)
    b.op("pack", [r, r], [twice], values_count=2, axis=0)
    s = relu(b, x, (1, 32))
    halves = [b.activation((1, 16), **Q) for _ in range(2)]
    b.op("split", [b.const(np.array(1, np.int32)), s], halves, num_splits=2)
    swapped = b.activation((2, 1, 16), **Q)
    b.op("pack", halves[::-1], [swapped], values_count=2, axis=0)
    compiled = assert_bit_exact(b.build([twice, swapped]), n_inputs=6, layers=True)
    placed = [a.tensor for a in compiled.plan.aliases if compiled.lowered.ops[a.position].op.op == "pack"]
    assert placed.count(r) == 1 and not set(halves) & set(placed)


def test_a_view_that_would_raise_the_peak_is_refused():
    """A small slice of a big tensor read late: holding the big tensor for it costs more than a copy."""
    rng = seeded("late")
    b = GraphBuilder("late")
    x = b.input((1, 512), **Q)
    big = fc(b, rng, x, 512, 1024, Q)
    small = b.activation((1, 16), **Q)
    b.op("slice", [big, b.const(np.array([0, 0], np.int32)), b.const(np.array([1, 16], np.int32))], [small])
    h = fc(b, rng, fc(b, rng, x, 512, 1024), 1024, 1024, Q)
    out = b.activation((1, 1040), **Q)
    b.op("concatenation", [small, h], [out], axis=1)
    graph = b.build([out])
    compiled = assert_bit_exact(graph, n_inputs=3, layers=True)
    assert not [a for a in compiled.plan.aliases if a.kind == "view"]
    with_views, with_copies = arenas(graph)
    assert with_views == with_copies


def _plan():
    lowered = lower_graph(sequence_model())
    bound = bound_reference(lowered)
    return lowered, bound, plan_memory(bound)


def test_tensor_proof_rejects_a_view_at_the_wrong_offset():
    lowered, bound, plan = _plan()
    view = next(a for a in plan.aliases if a.kind == "view" and a.shift)
    moved = tuple(dataclasses.replace(a, shift=a.shift - 1) if a is view else a for a in plan.aliases)
    with pytest.raises(AssertionError, match="does not offer"):
        verify_tensors(lowered, dataclasses.replace(plan, aliases=moved), [b.inplace for b in bound.ops])


def test_tensor_proof_rejects_a_view_not_where_its_offset_says():
    lowered, bound, plan = _plan()
    view = next(a for a in plan.aliases if a.kind == "view" and a.shift)
    i = next(i for i, b in enumerate(plan.buffers) if view.tensor in b.tensors)
    buf = plan.buffers[i]
    k = buf.tensors.index(view.tensor)
    shifted = dataclasses.replace(buf, places=buf.places[:k] + (buf.places[k] + 16,) + buf.places[k + 1:])
    broken = dataclasses.replace(plan, buffers=plan.buffers[:i] + (shifted,) + plan.buffers[i + 1:])
    with pytest.raises(AssertionError, match="is not"):
        verify_tensors(lowered, broken, [b.inplace for b in bound.ops])


def test_tensor_proof_rejects_a_tensor_viewing_two_others():
    lowered, bound, plan = _plan()
    view = next(a for a in plan.aliases if a.kind == "view" and a.shift)
    twice = plan.aliases + (view,)
    with pytest.raises(AssertionError, match="view of both"):
        verify_tensors(lowered, dataclasses.replace(plan, aliases=twice), [b.inplace for b in bound.ops])


def test_tensor_proof_rejects_an_unrecorded_view():
    """Without its view record, a view overlapping its base is an overlap nothing allows."""
    lowered, bound, plan = _plan()
    view = next(a for a in plan.aliases if a.kind == "view" and a.shift)
    dropped = tuple(a for a in plan.aliases if a is not view)
    with pytest.raises(AssertionError, match="no alias allows it|live together"):
        verify_tensors(lowered, dataclasses.replace(plan, aliases=dropped), [b.inplace for b in bound.ops])
