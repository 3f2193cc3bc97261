"""WHILE, IF and CALL_ONCE (tinyq/ops/control_flow.py): models with several subgraphs read, written,
planned in one arena (tinyq/plan/subgraphs.py) and generated as C functions
(tinyq/codegen/subgraphs.py), bit-exact with TFLM on the host and under QEMU; and the converter's GRUs
exported without unrolling (a WHILE loop, its state in a resource variable; float32 and int8) over a stream."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_bit_exact, assert_bit_exact_on_targets, bound_reference
from control_flow_models import Q, add_counting_loop, branch_graph, counting_loop_graph, nested_graph
from test_state import _run_with_resets, _tflm_with_resets
from test_variables import assert_stream_in_qemu
from tinyq.boards import get_board
from tinyq.codegen.subgraphs import subgraph_functions
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.plan import plan_memory
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.state import persistent_tensors
from tinyq.plan.subgraphs import planning_view
from tinyq.plan.verify import verify_calls
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model
from tinyq.verify import verify_host, verify_qemu
from tinyq.verify.compare import compare_outputs
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner

MODELS = Path(__file__).parent / "data" / "models"
KEYWORDS = Path(__file__).parent / "data" / "streaming" / "keywords.npy"


# --- reading and writing ---------------------------------------------------------------------------

def test_subgraphs_read_and_written_as_graphs_of_their_own():
    graph = nested_graph()
    again = read_model(write_model(graph))
    assert [s.index for s in again.subgraphs] == list(range(1, len(graph.subgraphs) + 1))
    for ours, read in zip((graph, *graph.subgraphs), (again, *again.subgraphs)):
        assert [op.op for op in read.operators] == [op.op for op in ours.operators]
        assert (read.inputs, read.outputs) == (ours.inputs, ours.outputs)
        assert [t.shape for t in read.tensors] == [t.shape for t in ours.tensors]
    while_op = next(op for op in again.operators if op.op == "while")
    assert (while_op.options.cond_subgraph_index, while_op.options.body_subgraph_index) == (1, 2)
    assert again.subgraph(2).name == "outer_body" and again.subgraph(0) is again


def _edit_loop(graph, edit):
    return replace(graph, operators=tuple(edit(op) if op.op == "while" else op for op in graph.operators))


def _edit_subgraph(graph, k, edit):
    return replace(graph, subgraphs=tuple(edit(s) if s.index == k else s for s in graph.subgraphs))


@pytest.mark.parametrize("edit, message", [
    (lambda g: _edit_loop(g, lambda op: replace(op, options=replace(op.options, body_subgraph_index=9))),
     "op 0 \\(while\\) option body_subgraph_index is 9, but the model has 3 subgraphs"),
    (lambda g: _edit_loop(g, lambda op: replace(op, options=replace(op.options, cond_subgraph_index=-1))),
     "option cond_subgraph_index is -1"),
    (lambda g: _edit_subgraph(g, 1, lambda s: replace(s, inputs=s.inputs[:2])),
     "runs cond subgraph 1, whose inputs number 2, not 3"),
    (lambda g: _edit_subgraph(g, 2, lambda s: replace(s, outputs=s.outputs[:2])),
     "runs body subgraph 2, whose outputs number 2, not 3"),
    (lambda g: _edit_subgraph(g, 1, lambda s: replace(s, outputs=())), "runs cond subgraph 1, which has no output"),
])
def test_malformed_calls_are_refused_when_read(edit, message):
    with pytest.raises(TinyqError, match=message):
        read_model(write_model(edit(counting_loop_graph())))


@pytest.mark.parametrize("dtype", ["string", "variant", "int2", "uint4"])
@pytest.mark.parametrize("k", [0, 2])
def test_an_unused_tensor_tflm_cannot_allocate_is_refused_in_any_subgraph(dtype, k):
    """TFLM's AllocateTensors sizes every tensor of every subgraph, used or not, and refuses these types (a
    fuzzed converter GRU with a dangling output turned variant: tinyq accepted it, TFLM did not load it)."""
    graph = counting_loop_graph()

    def extra(g):
        return replace(g, tensors=g.tensors + (replace(g.tensors[0], index=len(g.tensors), name="extra", dtype=dtype,
                                                       data=None, quant=None),))
    model = write_model(extra(graph) if k == 0 else _edit_subgraph(graph, k, extra))
    with pytest.raises(TinyqError, match=f"(subgraph {k}: )?tensor .* \\(extra\\) has type {dtype}, which TFLM cannot "
                                         "allocate \\(no op uses it\\)"):
        read_model(model)
    with pytest.raises(TinyqError, match="TFLM failed to allocate tensors"):
        tflm_run(model, make_inputs(graph, 1))


# --- bit-exact: host ---------------------------------------------------------------------------------

def test_while_runs_as_many_iterations_as_its_input_says():
    """n from 0 (no iteration: the outputs are the inputs, copied) to 3."""
    compiled = assert_bit_exact(counting_loop_graph(), n_inputs=40)
    source = compiled.source.files["loop_model.c"]
    assert "static int tq_sg1(void)" in source and "static int tq_sg2(void)" in source
    assert compiled.graph.subgraphs and len(compiled.plan.subgraphs) == 2


def test_if_takes_either_branch_with_pass_through_and_constant_outputs():
    assert_bit_exact(branch_graph(), n_inputs=40)  # records 0 and 1: all false, all true; then random


def test_nested_control_flow_bit_exact():
    """A WHILE body running an IF and another WHILE whose trip count grows with the outer counter."""
    assert_bit_exact(nested_graph(), n_inputs=40)


def test_loop_variables_of_every_type_and_origin():
    """float32, int16, bool loop variables; a constant initial value; one the body passes through, one it
    replaces by a constant; the cond's answer one of its own inputs (a bool the body computes)."""
    b = GraphBuilder("kinds")
    f = b.input((2, 3), dtype="float32", name="f")
    h = b.input((4,), dtype="int16", scale=1 / 256, zero_point=0, name="h")
    n = b.input((), dtype="int32", name="n")
    kinds = [((), "bool"), ((2, 3), "float32"), ((4,), "int16"), ((5,), "int32"), ((), "int32")]

    def tensors(g, make):
        return [make(shape, dtype=dtype, **({"scale": 1 / 256, "zero_point": 0} if dtype == "int16" else {}))
                for shape, dtype in kinds]

    outs = tensors(b, b.activation)
    cond = b.subgraph("cond")
    go = tensors(cond, cond.input)[0]
    cond.set_outputs([go])  # the answer is a loop variable itself
    body = b.subgraph("body")
    _, bf, bh, _, count = tensors(body, body.input)
    doubled = body.activation((2, 3), dtype="float32")
    body.op("add", [bf, bf], [doubled])
    counted = body.activation((), dtype="int32")
    body.op("add", [count, body.const(np.array(1, np.int32))], [counted])
    again = body.activation((), dtype="bool")
    body.op("less", [counted, body.const(np.array(3, np.int32))], [again])  # n + 1 .. 3 iterations
    body.set_outputs([again, doubled, bh, body.const(np.full(5, 7, np.int32)), counted])
    start = [b.const(np.array(True)), f, h, b.const(np.arange(5, dtype=np.int32)), n]
    b.op("while", start, outs, cond_subgraph_index=cond.index, body_subgraph_index=body.index)
    assert_bit_exact(b.build(outputs=outs[1:]), n_inputs=30)


def test_one_subgraph_run_by_two_ops():
    """Both loops share cond and body subgraphs: each call site gets the code at its region."""
    b = GraphBuilder("twice")
    n = b.input((), dtype="int32", name="n")
    x = b.input((1, 8), **Q, name="x")
    _, y = add_counting_loop(b, n, x)
    loop = next(op for op in b._ops if op.op == "while")
    relu = b.activation((1, 8), **Q)
    b.op("relu", [y], [relu])
    outs = [b.activation((), dtype="int32"), b.activation((), dtype="int32"), b.activation((1, 8), **Q)]
    b.op("while", [b.const(np.array(1, np.int32)), n, relu], outs, options=loop.options)
    compiled = assert_bit_exact(b.build(outputs=[outs[2], y]), n_inputs=30)
    functions = subgraph_functions(compiled.bound, compiled.plan)
    assert sorted(i.subgraph for i in functions.instances) in ([1, 2], [1, 1, 2, 2])


# --- the memory plan -----------------------------------------------------------------------------------

def _spans(plan, graph, tensors):
    return {t: (plan.tensor_offset(t), plan.tensor_offset(t) + graph.tensors[t].nbytes) for t in tensors}


def test_callee_tensors_share_bytes_with_dead_caller_tensors_only():
    """Every subgraph function's tensors, at their place in the arena, against the tensors of its
    caller live when it runs, whatever the depth; and no subgraph tensor touches the state region."""
    compiled = compile_graph(nested_graph(), get_board("host"))
    bound, plan = compiled.bound, compiled.plan
    functions = subgraph_functions(bound, plan)
    placed = {"": (bound, plan)} | {i.symbol: (bound.subgraphs[i.subgraph - 1], i.plan) for i in functions.instances}
    checked = 0
    for (caller, position), views in functions.calls.items():
        graph, graph_plan = placed[caller]
        view = planning_view(graph) if caller else graph
        order = graph_plan.execution_order(len(graph.ops)) if not caller else tuple(range(len(graph.ops)))
        step = order.index(position)
        life = tensor_lifetimes(view.lowered, order)
        live = [t for t, lt in life.items() if lt.first <= step <= lt.last]
        caller_spans = _spans(graph_plan, graph.graph, live)
        for k, callee in views.items():
            sub = bound.subgraphs[k - 1]
            inner = _spans(callee.instance.plan, sub.graph, tensor_lifetimes(planning_view(sub).lowered,
                                                                              range(len(sub.ops))))
            for t, (a0, a1) in inner.items():
                for u, (b0, b1) in caller_spans.items():
                    assert not (a0 < b1 and b0 < a1 and a1 > a0 and b1 > b0), (caller, position, k, t, u)
                checked += 1
    assert checked > 20 and len(functions.instances) == 6


def test_region_is_the_largest_callee_and_verify_catches_a_short_one():
    bound = bound_reference(lower_graph(counting_loop_graph()))
    plan = plan_memory(bound)
    position = next(p for p, b in enumerate(bound.ops) if b.lowered.kernel == "while")
    region = next(b for b in plan.buffers if b.name == f"op{position}.scratch")
    assert region.size == max(p.arena_bytes for p in plan.subgraphs)  # cond and body take turns in it
    grown = replace(plan.subgraphs[1], arena_bytes=region.size + 16)
    with pytest.raises(AssertionError, match="needing"):
        verify_calls(bound, replace(plan, subgraphs=(plan.subgraphs[0], grown)))


# --- refusals -------------------------------------------------------------------------------------------

def _recursive_graph():
    """The body runs the loop again: recursion."""
    b = GraphBuilder("recursive")
    n = b.input((), dtype="int32")
    x = b.input((1, 8), **Q)
    add_counting_loop(b, n, x)
    graph = b.build(outputs=[x])
    body = graph.subgraph(2)
    loop = next(op for op in graph.operators if op.op == "while")
    again = replace(loop, index=len(body.operators), inputs=body.inputs, outputs=tuple(
        range(len(body.tensors), len(body.tensors) + 3)))
    tensors = body.tensors + tuple(replace(body.tensors[t], index=len(body.tensors) + i)
                                   for i, t in enumerate(body.inputs))
    body = replace(body, tensors=tensors, operators=body.operators + (again,))
    y = graph.tensors[graph.outputs[0]]
    return replace(graph, subgraphs=(graph.subgraphs[0], body), outputs=(y.index,))


def test_refusals_name_what_is_missing():
    with pytest.raises(UnsupportedError, match="runs subgraph 2, which is already running"):
        lower_graph(_recursive_graph())
    graph = counting_loop_graph()
    y = next(op for op in graph.operators if op.op == "while").outputs[2]
    wider = replace(graph, tensors=tuple(replace(t, shape=(1, 9)) if t.index == y else t for t in graph.tensors))
    with pytest.raises(UnsupportedError, match="loop variable 2: int8\\[1, 8\\] into int8\\[1, 9\\] \\(TFLM copies"):
        lower_graph(wider)
    graph = branch_graph()
    flag = graph.inputs[0]
    as_int = replace(graph, tensors=tuple(replace(t, dtype="int8") if t.index == flag else t for t in graph.tensors))
    with pytest.raises(UnsupportedError, match="the condition \\(input 0\\) is int8"):
        lower_graph(as_int)
    other = graph.subgraph(2)
    with pytest.raises(UnsupportedError, match="subgraph 2 gives no outputs"):
        lower_graph(replace(graph, subgraphs=(graph.subgraphs[0], replace(other, outputs=()))))


# --- QEMU: one model with every construct ----------------------------------------------------------------

def test_control_flow_bit_exact_on_targets():
    assert_bit_exact_on_targets(nested_graph(), n_inputs=50, backends=("reference", "cmsis-nn"))
    assert_bit_exact_on_targets(branch_graph(), n_inputs=50, backends=("reference", "cmsis-nn"))


# --- the TFLite converter's GRU without unrolling ----------------------------------------------------------

GRUS = [MODELS / "gru_while_streaming_float.tflite", MODELS / "gru_while_streaming_int8.tflite"]


def _chunks(graph) -> list[list[np.ndarray]]:
    """The four test utterances, 24 frames each, cut into the model's chunks of frames (quantized as the
    model's input for the int8 model)."""
    x = graph.tensors[graph.inputs[0]]
    frames = np.load(KEYWORDS).reshape(-1, x.shape[-1]).astype(np.float32)
    if x.dtype == "int8":
        frames = np.clip(np.round(frames / x.quant.s) + x.quant.zp, -128, 127).astype(np.int8)
    return [[chunk.reshape(x.shape)] for chunk in frames.reshape(-1, *x.shape)]


def _utterance_starts(stream) -> tuple[int, ...]:
    return tuple(range(0, len(stream), len(stream) // 4))


@pytest.mark.parametrize("model", GRUS, ids=lambda p: p.stem)
def test_converter_gru_while_streams_bit_exact_on_the_host(model, tmp_path):
    """A GRU exported without unrolling: a WHILE loop over the frames of each invoke, its state in a resource
    variable (CALL_ONCE sets it, READ_VARIABLE / ASSIGN_VARIABLE carry it). Keras 3's stateful
    GRU(unroll=False) in float32, and the same cell as a tf.while_loop in int8. Per backend: 24 invokes of the
    keyword stream, then 60 random chunks continuing it, and the stream twice with a reset before each
    utterance, as TFLM's reset(); from a reset state each utterance ends on its keyword."""
    board = get_board("host")
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_file(model, board, backend=backend)
        kinds = {k.op.op for k in compiled.lowered.ops}
        assert {"while", "call_once", "read_variable", "assign_variable"} <= kinds
        assert persistent_tensors(compiled.lowered)
        stream = _chunks(compiled.graph)
        ours = HostRunner(board).run(compiled, stream).outputs
        assert compare_outputs(compiled.model, compiled.graph, stream, ours).ok, backend
        assert verify_host(compiled, board, n_inputs=60).ok, backend
        resets = _utterance_starts(stream)
        twice = resets + tuple(r + len(stream) for r in resets)
        once, _ = _run_with_resets(compiled, tmp_path / backend, stream + stream, twice)
        assert once == _tflm_with_resets(compiled.model, stream + stream, twice), backend
        half = len(once) // 2
        assert once[:half] == once[half:]  # the state starts again from TFLM's fill at each reset
        y = compiled.graph.tensors[compiled.graph.outputs[0]]
        scores = np.frombuffer(once[:half], dtype=np.dtype(y.dtype)).reshape(4, -1, y.numel)
        assert scores[:, -1].argmax(axis=1).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("board", QEMU_BOARDS)
@pytest.mark.parametrize("model", GRUS, ids=lambda p: p.stem)
def test_converter_gru_while_bit_exact_in_qemu(model, board, tmp_path):
    """The keyword stream with "z" (tinyq_<m>_reset) before each utterance as TFLM's reset(), then 60 random
    chunks in one batch; reference and CMSIS-NN."""
    b = get_board(board)
    stream = _chunks(compile_file(model, b).graph)
    assert_stream_in_qemu(model, board, tmp_path, inputs=stream, resets=_utterance_starts(stream))
    for backend in ("reference", "cmsis-nn"):
        assert verify_qemu(compile_file(model, b, backend=backend), b, n_inputs=60).result.ok, backend


def test_patches_refuse_control_flow_in_one_line():
    """Patch planning rebuilds the main graph only: with subgraphs it says so instead of dropping them."""
    with pytest.raises(TinyqError, match="patches and control flow"):
        compile_graph(counting_loop_graph(), get_board("host"), patches="auto")
