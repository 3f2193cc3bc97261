"""Planning real lowered graphs: random DAGs (property tests), branch reordering, views,
in-place outputs, scratch, and the tensor-level proof rejecting a bad plan.

The graph builders here are also used by test_plan_bitexact.py, which runs the plans."""

import dataclasses
import zlib

import numpy as np
import pytest

from conftest import bound_reference, shared_file
from tinyq.lower import lower_graph
from tinyq.ops.geometry import output_size
from tinyq.plan import plan_memory
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.memory import layout
from tinyq.plan.order import predecessors
from tinyq.plan.strategies import HEURISTICS, run_heuristic, verify
from tinyq.plan.verify import verify_tensors
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model_file


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def q(rng):
    return dict(scale=float(rng.uniform(0.02, 0.2)), zero_point=int(rng.integers(-20, 20)))


def same_quant(b, x):
    return dict(scale=b._tensors[x].quant.s, zero_point=b._tensors[x].quant.zp)


def fc(b, rng, x, width, units):
    w = b.const(rng.integers(-127, 128, size=(units, width)), "int8", scale=rng.uniform(0.002, 0.02, units),
                zero_point=0, axis=0)
    y = b.activation((1, units), **q(rng))
    b.op("fully_connected", [x, w, -1], [y])
    return y


def random_dag(seed, n_ops=None):
    """A random 2-D graph of fully_connected, relu, add, mul and reshape ops, several outputs."""
    rng = seeded("dag", seed)
    b = GraphBuilder(f"dag{seed}")
    width = int(rng.choice([16, 48, 128]))
    pool = [(b.input((1, width), **q(rng)), width)]
    consumed = set()
    for _ in range(n_ops or int(rng.integers(3, 14))):
        x, wx = pool[int(rng.integers(len(pool)))]
        kind = str(rng.choice(["fc", "fc", "relu", "add", "mul", "reshape"]))
        same = [t for t, w in pool if w == wx and t != x]
        if kind in ("add", "mul") and same:
            other = same[int(rng.integers(len(same)))]
            y = b.activation((1, wx), **q(rng))
            b.op(kind, [x, other], [y])
            consumed |= {x, other}
        elif kind == "relu":
            y = b.activation((1, wx), **q(rng))
            b.op("relu", [x], [y])
            consumed.add(x)
        elif kind == "reshape":
            y = b.activation((1, wx), **same_quant(b, x))
            b.op("reshape", [x, b.const(np.array([1, wx], dtype=np.int32))], [y])
            consumed.add(x)
        else:
            units = int(rng.choice([8, 16, 48, 128, 400]))
            y, wx = fc(b, rng, x, wx, units), units
            consumed.add(x)
        pool.append((y, wx))
    outputs = [t for t, _ in pool if t not in consumed and t not in b._inputs] or [pool[-1][0]]
    return b.build(outputs)


def two_branches():
    """x feeds two FC chains with big middles; running one chain to its end before the other
    starts keeps one big tensor live instead of two."""
    rng = seeded("branches")
    b = GraphBuilder("branches")
    x = b.input((1, 16), **q(rng))
    a1, b1 = fc(b, rng, x, 16, 512), fc(b, rng, x, 16, 512)
    a2, b2 = fc(b, rng, a1, 512, 16), fc(b, rng, b1, 512, 16)
    return b.build([a2, b2])


def hoisted_rnn(steps: int = 6):
    """An unrolled RNN as converters write it: every step's input projection hoisted above the recurrence
    (Keras's unroll=True, ai-edge-torch's LSTM), each held until its step reads it in file order."""
    rng = seeded("hoisted", steps)
    b = GraphBuilder("hoisted")
    xs = [b.input((1, 8), **q(rng)) for _ in range(steps)]
    projections = [fc(b, rng, x, 8, 96) for x in xs]
    h = fc(b, rng, xs[0], 8, 96)
    for p in projections:
        s, y = b.activation((1, 96), **q(rng)), b.activation((1, 96), **q(rng))
        b.op("add", [fc(b, rng, h, 96, 96), p], [s])
        b.op("relu", [s], [y])
        h = y
    return b.build([h])


@pytest.mark.parametrize("seed", range(30))
def test_random_dag_plans_are_proven(seed):
    lowered = lower_graph(random_dag(seed))
    plan = plan_memory(bound_reference(lowered))  # runs verify() and verify_tensors() itself
    assert plan.arena_bytes >= plan.lower_bound_bytes
    order = plan.execution_order(len(lowered.ops))
    assert sorted(order) == list(range(len(lowered.ops)))
    step = {p: s for s, p in enumerate(order)}
    assert all(step[q_] < step[p] for p, preds in enumerate(predecessors(lowered)) for q_ in preds)
    for name in HEURISTICS:  # every strategy is valid on the chosen layout, none beats the bound
        offsets = run_heuristic(name, plan.buffers, plan.overlap_map())
        verify(plan.buffers, offsets, plan.overlap_map())
        assert max(o + b.size for o, b in zip(offsets, plan.buffers)) >= plan.lower_bound_bytes
    for t in tensor_lifetimes(lowered, order):
        assert plan.tensor_offset(t) % plan.alignment == 0
    for kwargs in ({"reorder": False}, {"in_place": False}, {"reorder": False, "in_place": False}):
        other = plan_memory(bound_reference(lowered), **kwargs)
        assert other.arena_bytes >= other.lower_bound_bytes


def test_branches_are_reordered_to_lower_the_peak():
    lowered = lower_graph(two_branches())
    plan = plan_memory(bound_reference(lowered))
    assert plan.order == (0, 2, 1, 3)
    assert plan.lower_bound_bytes < plan.baseline_lower_bound_bytes
    assert plan_memory(bound_reference(lowered), reorder=False).arena_bytes > plan.arena_bytes


def test_hoisted_projections_run_when_their_step_needs_them():
    lowered = lower_graph(hoisted_rnn())
    plan = plan_memory(bound_reference(lowered))
    step = {p: s for s, p in enumerate(plan.execution_order(len(lowered.ops)))}
    adds = [p for p, k in enumerate(lowered.ops) if lowered.graph.operators[p].op == "add"]
    projections = [p for p in range(len(lowered.ops)) if lowered.graph.operators[p].op == "fully_connected"
                   and lowered.ops[p].inputs[0] in lowered.graph.inputs][:len(adds)]
    # each projection runs after the previous step's add, so at most one is live at a time
    assert all(step[p] > step[a] for p, a in zip(projections[1:], adds)), plan.order
    assert plan_memory(bound_reference(lowered), reorder=False).arena_bytes > 2 * plan.arena_bytes


def test_view_shares_its_input_bytes():
    graph = random_dag(3)
    lowered = lower_graph(graph)
    plan = plan_memory(bound_reference(lowered))
    for k in lowered.ops:
        if k.alias_of is not None:
            assert plan.tensor_offset(k.outputs[0]) == plan.tensor_offset(k.alias_of)


def in_place_options(graph):
    lowered = lower_graph(graph)
    bound = bound_reference(lowered)
    lay = layout(lowered, tuple(range(len(lowered.ops))), [b.inplace for b in bound.ops],
                 [b.scratch_bytes for b in bound.ops])
    return [(o.tensor, o.base, o.shift) for o in lay.options]


def test_in_place_only_when_the_input_dies():
    rng = seeded("inplace")
    b = GraphBuilder("relu_keep")
    x = b.input((1, 64), **q(rng))
    h = fc(b, rng, x, 64, 64)
    r = b.activation((1, 64), **q(rng))
    b.op("relu", [h], [r])
    graph = b.build([r])
    assert in_place_options(graph) == [(r, h, 0)]
    assert in_place_options(graph.with_outputs((r, h))) == []  # h is also an output: it must survive
    kept = plan_memory(bound_reference(lower_graph(graph.with_outputs((r, h)))))
    assert kept.tensor_offset(r) != kept.tensor_offset(h)


def test_scratch_is_planned_like_a_tensor():
    bound = bound_reference(lower_graph(random_dag(5)))
    with_scratch = dataclasses.replace(bound, ops=tuple(dataclasses.replace(b, scratch_bytes=100 + 10 * i)
                                                        for i, b in enumerate(bound.ops)))
    plan = plan_memory(with_scratch)
    for position in range(len(with_scratch.ops)):
        assert plan.scratch_offset(position) is not None
    assert plan.lower_bound_bytes >= plan_memory(bound).lower_bound_bytes + 100


def test_tensor_proof_rejects_an_overlap():
    bound = bound_reference(lower_graph(two_branches()))
    plan = plan_memory(bound)
    broken = dataclasses.replace(plan, offsets=tuple(0 for _ in plan.offsets))
    with pytest.raises(AssertionError, match="live together"):
        verify_tensors(bound.lowered, broken, [b.inplace for b in bound.ops])


def test_tensor_proof_rejects_a_too_small_shift():
    graph = read_model_file(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"))
    bound = bound_reference(lower_graph(graph))
    plan = plan_memory(bound)
    alias = next(a for a in plan.aliases if a.kind == "in-place" and a.shift > 16)
    # move the output 16 bytes up, towards the input it overwrites: the kernel would clobber unread input
    i = next(i for i, b in enumerate(plan.buffers) if alias.tensor in b.tensors)
    broken = dataclasses.replace(plan, offsets=plan.offsets[:i] + (plan.offsets[i] + 16,) + plan.offsets[i + 1:])
    with pytest.raises(AssertionError, match="the kernel needs"):
        verify_tensors(bound.lowered, broken, [b.inplace for b in bound.ops])
    with pytest.raises(AssertionError, match="overlap"):
        verify(broken.buffers, broken.offsets, plan.overlap_map())


@pytest.mark.parametrize("model, most", [("ad_fc_autoencoder_int8", 768), ("kws_dscnn_int8", 10_000),
                                         ("ic_resnet8_int8", 34_000)])
def test_mlperf_arenas(model, most):
    lowered = lower_graph(read_model_file(shared_file("models", "mlperf-tiny", f"{model}.tflite")))
    plan = plan_memory(bound_reference(lowered))
    assert plan.lower_bound_bytes <= plan.arena_bytes <= most
    assert plan.arena_bytes <= plan.baseline_lower_bound_bytes  # at or below the views-only bound


def window_chain(seed):
    """conv_2d -> depthwise_conv_2d -> pool with random geometry: every step can run in place."""
    rng = seeded("window", seed)
    n = 2 if seed % 5 == 4 else 1
    h, w, c = int(rng.integers(4, 14)), int(rng.integers(3, 12)), int(rng.integers(1, 9))
    b = GraphBuilder(f"window{seed}")
    x = b.input((n, h, w, c), **q(rng))
    shape = (n, h, w, c)
    for kind in ("conv_2d", "depthwise_conv_2d", str(rng.choice(["average_pool_2d", "max_pool_2d"]))):
        x, shape = window_op(b, rng, kind, x, shape)
    return b.build([x])


def window_op(b, rng, kind, x, shape):
    n, h, w, c = shape
    padding = str(rng.choice(["SAME", "VALID"]))
    while True:
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        dh, dw = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if kind != "average_pool_2d" and \
            kind != "max_pool_2d" else (1, 1)
        oh, ow = output_size(padding, h, kh, sh, dh), output_size(padding, w, kw, sw, dw)
        if oh > 0 and ow > 0:
            break
    in_scale = b._tensors[x].quant.s
    if kind == "conv_2d":
        cout = int(rng.integers(1, 17))
        scales = rng.uniform(0.002, 0.02, cout)
        wt = b.const(rng.integers(-127, 128, size=(cout, kh, kw, c)), "int8", scale=scales, zero_point=0, axis=0)
        bias = b.const(rng.integers(-3000, 3000, size=cout), "int32", scale=in_scale * scales, zero_point=0)
        y = b.activation((n, oh, ow, cout), **q(rng))
        b.op(kind, [x, wt, bias], [y], padding=padding, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
             dilation_w_factor=dw, fused_activation_function="RELU")
    elif kind == "depthwise_conv_2d":
        mult = int(rng.choice([1, 1, 2]))
        cout = c * mult
        scales = rng.uniform(0.002, 0.02, cout)
        wt = b.const(rng.integers(-127, 128, size=(1, kh, kw, cout)), "int8", scale=scales, zero_point=0, axis=3)
        bias = b.const(rng.integers(-3000, 3000, size=cout), "int32", scale=in_scale * scales, zero_point=0)
        y = b.activation((n, oh, ow, cout), **q(rng))
        b.op(kind, [x, wt, bias], [y], padding=padding, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
             dilation_w_factor=dw, depth_multiplier=mult)
    else:
        cout = c
        y = b.activation((n, oh, ow, c), **same_quant(b, x))
        b.op(kind, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_height=kh, filter_width=kw)
    return y, (n, oh, ow, cout)


@pytest.mark.parametrize("seed", range(20))
def test_window_chains_plan_in_place(seed):
    lowered = lower_graph(window_chain(seed))
    plan = plan_memory(bound_reference(lowered))
    assert plan.arena_bytes >= plan.lower_bound_bytes
    assert any(a.kind == "in-place" for a in plan.aliases)
