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
from tinyq.plan.buffers import Buffer
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


def test_tensor_proof_rejects_views_joining_different_data():
    """x2 is both a slot of PACK's y and a slice of w: w and y share x2's bytes only, so x1 (y's
    other slot) and w hold different data where they overlap; the planner never merges such
    groups (x2 does not span w), and the proof rejects a plan that does."""
    b = GraphBuilder("two_parents")
    w, v = b.input((15,), **Q), b.input((5,), **Q)
    x1, x2, y = b.activation((5,), **Q), b.activation((5,), **Q), b.activation((2, 5), **Q)
    b.op("relu", [v], [x1])
    b.op("slice", [w, b.const(np.array([5], np.int32)), b.const(np.array([5], np.int32))], [x2])
    b.op("pack", [x1, x2], [y], values_count=2, axis=0)
    lowered = lower_graph(b.build([y]))
    bound = bound_reference(lowered)
    plan = plan_memory(bound)
    group = Buffer(name=f"t{y}", size=16, first=0, last=3, tensors=(w, x1, x2, y), places=(0, 0, 5, 0))
    alone = Buffer(name=f"t{v}", size=5, first=0, last=0, tensors=(v,))
    views = (Alias(x2, w, -5, "view", 1), Alias(x1, y, 0, "view", 2), Alias(x2, y, -5, "view", 2))
    broken = dataclasses.replace(plan, buffers=(group, alone), offsets=(0, 16), aliases=views, order=(),
                                 arena_bytes=32)
    with pytest.raises(AssertionError, match="holding different data"):
        verify_tensors(lowered, broken, [b.inplace for b in bound.ops])


def test_tensor_proof_rejects_an_unrecorded_view():
    """Without its view record, a view overlapping its base is an overlap nothing allows."""
    lowered, bound, plan = _plan()
    view = next(a for a in plan.aliases if a.kind == "view" and a.shift)
    dropped = tuple(a for a in plan.aliases if a is not view)
    with pytest.raises(AssertionError, match="no alias allows it|live together"):
        verify_tensors(lowered, dataclasses.replace(plan, aliases=dropped), [b.inplace for b in bound.ops])


def random_movement_graph(seed):
    """A random graph of row slices, splits, packs (views when possible), column slices (copies),
    relu/add (in place) and reshapes over (rows, width) tensors; several outputs."""
    rng = seeded("movement", seed)
    width = int(rng.choice([8, 16, 32]))
    b = GraphBuilder(f"movement{seed}")
    pool = [b.input((int(rng.integers(2, 6)), width), **Q)]
    consumed, narrow = set(), []
    for _ in range(int(rng.integers(4, 12))):
        x = pool[int(rng.integers(len(pool)))]
        rows = b._tensors[x].shape[0]
        kind = str(rng.choice(["split", "slice_rows", "slice_cols", "pack", "relu", "add"]))
        if kind == "split" and rows >= 2:
            cut = int(rng.integers(1, rows))
            parts = [b.activation((cut, width), **Q), b.activation((rows - cut, width), **Q)]
            b.op("split_v", [x, b.const(np.array([cut, rows - cut], np.int32)), b.const(np.array(0, np.int32))],
                 parts, num_splits=2)
            new = parts
        elif kind == "slice_rows":
            lo = int(rng.integers(0, rows))
            y = b.activation((rows - lo, width), **Q)
            b.op("slice", [x, b.const(np.array([lo, 0], np.int32)), b.const(np.array([-1, -1], np.int32))], [y])
            new = [y]
        elif kind == "slice_cols":
            y = b.activation((rows, width // 2), **Q)
            b.op("strided_slice", [x] + [b.const(np.array(v, np.int32)) for v in ([0, 0], [rows, width], [1, 2])], [y])
            new = []  # a different width: kept out of the pool, an output
            narrow.append(y)
        elif kind == "pack":
            same = [t for t in pool if b._tensors[t].shape == (rows, width)]
            ins = [same[int(i)] for i in rng.integers(len(same), size=int(rng.integers(2, 4)))]
            stacked = b.activation((len(ins), rows, width), **Q)
            b.op("pack", ins, [stacked], values_count=len(ins), axis=0)
            y = b.activation((len(ins) * rows, width), **Q)
            b.op("reshape", [stacked, b.const(np.array([len(ins) * rows, width], np.int32))], [y])
            consumed |= set(ins)
            new = [y]
        elif kind == "add":
            same = [t for t in pool if b._tensors[t].shape == (rows, width)]
            y = b.activation((rows, width), **Q)
            b.op("add", [x, same[int(rng.integers(len(same)))]], [y])
            new = [y]
        else:
            y = b.activation((rows, width), **Q)
            b.op("relu", [x], [y])
            new = [y]
        consumed.add(x)
        pool += new
    outputs = [t for t in pool if t not in consumed and t not in b._inputs] or [pool[-1]]
    return b.build(outputs + narrow)


@pytest.mark.parametrize("seed", range(40))
def test_random_movement_graphs_plan_and_prove(seed):
    lowered = lower_graph(random_movement_graph(seed))
    bound = bound_reference(lowered)
    plan = plan_memory(bound)  # plan_memory runs both proofs
    copies = plan_memory(bound_reference(without_placements(lowered)))
    assert plan.lower_bound_bytes <= copies.lower_bound_bytes


@pytest.mark.parametrize("seed", range(6))
def test_random_movement_graphs_bit_exact(seed):
    assert_bit_exact(random_movement_graph(seed), n_inputs=4, layers=True, seed=seed)


def test_a_reshape_left_to_run_time_names_the_unknown_batch():
    """An export with an unknown batch size computes a RESHAPE's shape at run time (SHAPE, GATHER, ...):
    the file declares the output [1, 1] with signature [-1, -1]. TFLM cannot allocate it; tinyq says why
    and how to re-export. A plain size mismatch keeps the plain refusal."""
    from dataclasses import replace

    from tinyq.errors import UnsupportedError

    for signature, named in (((-1, -1), True), (None, False)):
        b = GraphBuilder("dynamic")
        x = b.input((1, 9, 5), "float32")
        y = b.activation((1, 1), "float32")
        b.op("reshape", [x, b.const(np.array([-1, 5], np.int32), "int32")], [y])
        graph = b.build([y])
        tensors = list(graph.tensors)
        tensors[y] = replace(tensors[y], shape_signature=signature)
        with pytest.raises(UnsupportedError, match="differ in size") as refused:
            lower_graph(replace(graph, tensors=tuple(tensors)))
        assert ("unknown batch size" in str(refused.value) and "batch_size=1" in str(refused.value)) == named


def test_views_between_differently_quantized_tensors_reinterpret_the_bytes():
    """TFLM's RESHAPE, SQUEEZE and EXPAND_DIMS copy bytes and never compare the two tensors' quantization
    (a converter can leave them different): the output's values are the input's bytes read at the output's
    scale and zero point. tinyq refused such files ('TFLM requires them equal'); now they are views too."""
    b = GraphBuilder("requantized_views")
    outputs = []
    for dtype, (qx, qy) in (("int8", ((0.036, -66), (2.86, -32))), ("int16", ((0.002, 0), (0.5, 0)))):
        x = b.input((1, 3, 4), dtype, scale=qx[0], zero_point=qx[1])
        flat = b.activation((12,), dtype, scale=qy[0], zero_point=qy[1])
        b.op("reshape", [x, b.const(np.array([12], np.int32), "int32")], [flat], new_shape=(12,))
        squeezed = b.activation((3, 4), dtype, scale=qy[0] * 3, zero_point=qy[1] // 2)
        b.op("squeeze", [x], [squeezed], squeeze_dims=(0,))
        expanded = b.activation((1, 3, 1, 4), dtype, scale=qx[0] / 7, zero_point=qx[1] + 1)
        b.op("expand_dims", [x, b.const(np.array(2, np.int32), "int32")], [expanded])
        outputs += [flat, squeezed, expanded]
    assert_bit_exact(b.build(outputs), n_inputs=6)
