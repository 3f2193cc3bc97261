"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE; tinyq/ops/variables.py,
tinyq/passes/resource_variables.py): each variable a tensor of the arena's state region, kept across
invokes, filled by the generated reset as TFLM's MicroResourceVariables, set by CALL_ONCE once, read and
written from any subgraph; bit-exact with TFLM over sequences on the host and under QEMU, with the
converter's int8 streaming keyword model among them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_bit_exact, assert_bit_exact_on_targets
from control_flow_models import Q
from test_state import _qemu_session, _run_with_resets, _tflm_with_resets
from tinyq.boards import get_board
from tinyq.bind import bind
from tinyq.backends import get_backend
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.ops.base import HOST
from tinyq.passes.resource_variables import RESOURCE_PREFIX
from tinyq.plan import plan_memory
from tinyq.plan.state import persistent_tensors
from tinyq.plan.verify import verify_calls
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import verify_host, verify_qemu
from tinyq.verify.inputs import make_inputs

KWS = Path(__file__).parent / "data" / "models" / "kws_gru_variables_int8.tflite"
KEYWORDS = Path(__file__).parent / "data" / "streaming" / "keywords.npy"
ACC = dict(scale=0.1, zero_point=-20)  # the accumulator's quantization: fill 0xEC


def handle(b: GraphBuilder, name: str) -> int:
    h = b.activation((), dtype="resource")
    b.op("var_handle", [], [h], container="", shared_name=name)
    return h


def accumulator_graph():
    """CALL_ONCE sets `acc` to a ramp; each invoke reads it, adds the input, stores the sum and outputs
    its RELU: a running sum (saturating) carried from invoke to invoke."""
    b = GraphBuilder("acc")
    x = b.input((1, 8), **Q, name="x")
    init = b.subgraph("init")
    init.op("assign_variable", [handle(init, "acc"), init.const(np.arange(-40, 40, 10, dtype=np.int8).reshape(1, 8),
                                                                 dtype="int8", **ACC)], [])
    b.op("call_once", [], [], init_subgraph_index=init.index)
    h = handle(b, "acc")
    v = b.activation((1, 8), **ACC)
    b.op("read_variable", [h], [v])
    s = b.activation((1, 8), **ACC)
    b.op("add", [v, x], [s])
    b.op("assign_variable", [h, s], [])
    y = b.activation((1, 8), scale=0.2, zero_point=-128)
    b.op("relu", [s], [y])
    return b.build(outputs=[y])


def test_call_once_sets_the_variable_and_each_invoke_updates_it():
    compiled = assert_bit_exact(accumulator_graph(), n_inputs=60)
    state = persistent_tensors(compiled.lowered)
    names = [compiled.graph.tensors[t].name for t in state]
    assert names == [RESOURCE_PREFIX + "acc"]
    assert compiled.plan.subgraphs[0].arena_bytes == 0  # the init subgraph has no tensors of its own


def test_variables_start_as_tflm_fills_them():
    """Never assigned before the first read: int8 holds its zero point, an int16 with a zero point the
    zero point's low byte in both of its bytes (TFLM memsets the int8 it takes), float32 0."""
    b = GraphBuilder("fills")
    specs = [((3,), "int8", dict(scale=0.5, zero_point=-7)), ((2,), "int16", dict(scale=0.5, zero_point=5)),
             ((2,), "float32", {})]
    outs = []
    for i, (shape, dtype, quant) in enumerate(specs):
        x = b.input(shape, dtype=dtype, **quant, name=f"x{i}")
        h = handle(b, f"v{i}")
        y = b.activation(shape, dtype=dtype, **quant)
        b.op("read_variable", [h], [y])
        b.op("assign_variable", [h, x], [])
        outs.append(y)
    compiled = assert_bit_exact(b.build(outputs=outs), n_inputs=12)
    inputs = make_inputs(compiled.graph, 3)
    from tinyq.verify.runners import HostRunner

    first = HostRunner(get_board("host")).run(compiled, inputs).outputs[0]
    assert first[0].tolist() == [-7] * 3 and first[1].tolist() == [0x0505] * 2 and first[2].tolist() == [0.0] * 2


def test_reset_fills_the_variables_again_and_call_once_stays_done(tmp_path):
    """As TFLM's Reset(): the variable gets its fill, not CALL_ONCE's value (TFLM's CALL_ONCE has no reset)."""
    compiled = compile_graph(accumulator_graph(), get_board("host"))
    inputs = make_inputs(compiled.graph, 40, seed=3)
    resets = (10, 11, 30)
    ours, state_bytes = _run_with_resets(compiled, tmp_path / "a", inputs, resets)
    assert ours == _tflm_with_resets(compiled.model, inputs, resets)
    assert state_bytes == 8
    fresh, _ = _run_with_resets(compiled, tmp_path / "b", inputs[10:], ())
    assert fresh[:8] != ours[80:88]  # a fresh start runs CALL_ONCE; a reset does not


def loop_variables_graph():
    """A WHILE whose body reads and writes two variables: `acc` through a handle passed in as a loop
    variable (allocated by the main graph), `count` through its own VAR_HANDLE (allocated by the body)."""
    b = GraphBuilder("loopvars")
    n = b.input((), dtype="int32", name="n")
    x = b.input((1, 8), **Q, name="x")
    h = handle(b, "acc")
    start = b.activation((1, 8), **ACC)
    b.op("add", [x, b.const(np.zeros((1, 8), np.int8), dtype="int8", **Q)], [start])
    b.op("assign_variable", [h, start], [])  # allocates acc, and starts it from x at each invoke
    i0 = b.const(np.array(0, np.int32))
    outs = [b.activation((), dtype="int32"), b.activation((), dtype="int32"), b.activation((), dtype="resource")]
    cond = b.subgraph("cond")
    ci, cn, _ = cond.input((), dtype="int32"), cond.input((), dtype="int32"), cond.input((), dtype="resource")
    go = cond.activation((), dtype="bool")
    cond.op("less", [ci, cn], [go])
    cond.set_outputs([go])
    body = b.subgraph("body")
    bi, bn, bh = body.input((), dtype="int32"), body.input((), dtype="int32"), body.input((), dtype="resource")
    one = body.const(np.array(1, np.int32))
    bi2 = body.activation((), dtype="int32")
    body.op("add", [bi, one], [bi2])
    v = body.activation((1, 8), **ACC)
    body.op("read_variable", [bh], [v])
    doubled = body.activation((1, 8), **ACC)
    body.op("add", [v, v], [doubled])
    body.op("assign_variable", [bh, doubled], [])
    counter = handle(body, "count")
    c = body.activation((), dtype="int32")
    body.op("read_variable", [counter], [c])
    c2 = body.activation((), dtype="int32")
    body.op("add", [c, one], [c2])
    body.op("assign_variable", [counter, c2], [])
    body.set_outputs([bi2, bn, bh])
    b.op("while", [i0, n, h], outs, cond_subgraph_index=cond.index, body_subgraph_index=body.index)
    total = b.activation((1, 8), **ACC)
    b.op("read_variable", [outs[2]], [total])
    count = b.activation((), dtype="int32")
    b.op("read_variable", [handle(b, "count")], [count])
    return b.build(outputs=[total, count])


def test_variables_read_and_written_inside_a_loop_body():
    compiled = assert_bit_exact(loop_variables_graph(), n_inputs=50)  # count runs on across invokes
    body = compiled.bound.subgraphs[1]
    assert {root for _, root in body.lowered.shared_state} == set(persistent_tensors(compiled.lowered))
    verify_calls(compiled.bound, compiled.plan)


def test_a_link_to_a_tensor_outside_the_state_region_is_caught():
    bound = bind(lower_graph(loop_variables_graph()), get_backend("reference"), HOST)
    plan = plan_memory(bound)
    body = bound.subgraphs[1]
    wrong = replace(body, lowered=replace(body.lowered, shared_state=((body.lowered.shared_state[0][0], 0),)))
    with pytest.raises(AssertionError, match="not in the state region"):
        verify_calls(replace(bound, subgraphs=(bound.subgraphs[0], wrong)), plan)


def test_refusals_name_the_variable():
    b = GraphBuilder("unallocated")
    y = b.activation((2,), dtype="int8", scale=0.5, zero_point=0)
    b.op("read_variable", [handle(b, "ghost")], [y])
    x = b.input((2,), dtype="int8", scale=0.5, zero_point=0)
    z = b.activation((2,), dtype="int8", scale=0.5, zero_point=0)
    b.op("add", [x, y], [z])
    with pytest.raises(UnsupportedError, match="variable ghost is never allocated"):
        lower_graph(b.build(outputs=[z]))
    graph = accumulator_graph()
    read = next(op for op in graph.operators if op.op == "read_variable")
    wider = replace(graph, tensors=tuple(replace(t, shape=(1, 9)) if t.index == read.outputs[0] else t
                                         for t in graph.tensors))
    with pytest.raises(UnsupportedError, match="output .* holds 9 bytes, variable acc 8"):
        lower_graph(wider)
    graph = loop_variables_graph()  # the body gives back a handle of another variable: two meanings
    body = graph.subgraph(2)
    other = next(op for op in body.operators if op.op == "var_handle").outputs[0]
    mixed = replace(body, outputs=body.outputs[:2] + (other,))
    with pytest.raises(UnsupportedError, match="VAR_HANDLEs of acc, count"):
        lower_graph(replace(graph, subgraphs=(graph.subgraphs[0], mixed)))


def qemu_stream(compiled, board, tmp_path, inputs, resets) -> list[tuple[int, bytes]]:
    """Under QEMU, the firmware harness fed one record per "i" line and "z" (its reset) before each record in
    `resets`: every invoke's status (as a signed int) and output bytes, one sequence as TFLM's interpreter."""
    import time

    deadline = time.monotonic() + 120 + 2 * len(inputs)
    result = []
    with _qemu_session(compiled, board, tmp_path) as session:
        while not session.next_line(deadline, "ready line").startswith("tinyq-ready"):
            pass
        for r, record in enumerate(inputs):
            if r in resets:
                session.send("z\n")
                assert session.next_line(deadline, "reset answer") == "z"
            session.send("i" + b"".join(np.ascontiguousarray(a).tobytes() for a in record).hex() + "\n")
            _, status, _, payload = session.next_line(deadline, f"result {r}").split(" ", 3)
            result.append((int(np.uint32(int(status)).astype(np.int32)), bytes.fromhex(payload)))
    return result


def assert_stream_in_qemu(path_or_graph, board_name, tmp_path, inputs=None, resets=(20, 21, 45), n=60,
                          backends=("reference", "cmsis-nn")):
    """Each backend's firmware under QEMU streams `n` records (or `inputs`) with resets, as TFLM's
    interpreter with reset() at the same records."""
    board = get_board(board_name)
    for backend in backends:
        compile_one = compile_file if isinstance(path_or_graph, Path) else compile_graph
        compiled = compile_one(path_or_graph, board, backend=backend)
        stream = inputs if inputs is not None else make_inputs(compiled.graph, n, seed=4)
        ours = qemu_stream(compiled, board, tmp_path / backend, stream, resets)
        assert [s for s, _ in ours] == [0] * len(stream), backend
        assert b"".join(o for _, o in ours) == _tflm_with_resets(compiled.model, stream, resets), backend
        assert len({o for _, o in ours}) > 1, backend  # the state moved the outputs


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_variables_stream_and_reset_in_qemu_as_tflm(board, tmp_path):
    """60 invokes with the variables carried, "z" (tinyq_<m>_reset) at three of them as TFLM's reset():
    CALL_ONCE's init runs at the first invoke only; variables read and written inside a loop body."""
    assert_stream_in_qemu(accumulator_graph(), board, tmp_path / "acc")
    assert_stream_in_qemu(loop_variables_graph(), board, tmp_path / "loop", backends=("reference",))


def test_variables_bit_exact_on_targets():
    assert_bit_exact_on_targets(loop_variables_graph(), n_inputs=50, backends=("reference", "cmsis-nn"))
    assert_bit_exact_on_targets(accumulator_graph(), n_inputs=50, backends=("reference", "cmsis-nn"))


# --- the converter's streaming keyword model: its GRU state in a resource variable ---------------------------

def _frames(graph) -> list[list[np.ndarray]]:
    x = graph.tensors[graph.inputs[0]]
    frames = np.load(KEYWORDS).reshape(-1, x.shape[-1])
    q = np.clip(np.round(frames / x.quant.s) + x.quant.zp, -128, 127).astype(np.int8)
    return [[f.reshape(x.shape)] for f in q]


def test_converter_keyword_model_streams_bit_exact(tmp_path):
    """One frame per invoke, the GRU's state kept in the variable: the four utterances as one stream and
    reset before each (as TFLM's reset()), then 60 random frames; reference and CMSIS-NN."""
    board = get_board("host")
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_file(KWS, board, backend=backend)
        assert {"call_once", "read_variable", "assign_variable"} <= {k.op.op for k in compiled.lowered.ops}
        stream = _frames(compiled.graph)
        resets = (0, 24, 48, 72)
        for where in ((), resets):
            ours, _ = _run_with_resets(compiled, tmp_path / f"{backend}{len(where)}", stream, where)
            assert ours == _tflm_with_resets(compiled.model, stream, where)
        assert verify_host(compiled, board, n_inputs=60).ok
    scores = np.frombuffer(ours, dtype=np.int8).reshape(4, 24, 4)
    assert scores[:, -1].argmax(axis=1).tolist() == [0, 1, 2, 3]  # from a reset state it spots each keyword


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_converter_keyword_model_bit_exact_in_qemu(board, tmp_path):
    """The four utterances as one stream with "z" before each, then 60 random frames in one batch."""
    b = get_board(board)
    assert_stream_in_qemu(KWS, board, tmp_path, inputs=_frames(compile_file(KWS, b).graph), resets=(0, 24, 48, 72))
    for backend in ("reference", "cmsis-nn"):
        assert verify_qemu(compile_file(KWS, b, backend=backend), b, n_inputs=60).result.ok, backend
