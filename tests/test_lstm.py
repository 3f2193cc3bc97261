"""UNIDIRECTIONAL_SEQUENCE_LSTM against TFLM: int8 and 16x8 with an int16 cell state, over
sequences of 50+ invocations with the hidden and cell state carried from one to the next; every
option TFLM's integer LSTM has (time- or batch-major, batches, cell clip),
the scales that move its fixed-point steps (cell scales on and off powers of two, zero points at the
ends of the range, saturating gates and outputs, int32 wrap-around), and what tinyq refuses.

Each test builds one graph of many independent LSTMs, so one C build covers them all.
"""

from dataclasses import replace

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from lstm_models import LstmCase, add_lstm, lstm_graph
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import verify_host
from tinyq.verify.compare import compare_outputs
from tinyq.verify.runners import HostRunner

SEQUENCE = 60  # invocations per verify: the state carries through all of them

INT8_CASES = [
    LstmCase(),
    LstmCase(batches=3, steps=2, time_major=True),
    LstmCase(batches=2, steps=4),
    LstmCase(steps=1, n_input=1, n_hidden=1),
    LstmCase(cell_clip=0.5),  # 1,024 cell units: clips
    LstmCase(cell_clip=1e-5),  # under one cell unit: TFLM clips every cell to 0
    LstmCase(cell_scale=0.0003),  # not a power of two: the tanh takes the rounded log2
    LstmCase(cell_scale=2.0**-15),  # the cell's tanh shifts right by 3, rounding
    LstmCase(cell_scale=2.0**-6),  # ... and left: multiplier 3 << 6
    LstmCase(input_zp=-128, hidden_zp=127),
    LstmCase(input_zp=127, hidden_zp=-128),
    LstmCase(bias_range=2**22),  # the fully connected sums saturate int16
    LstmCase(hidden_scale=2.0**-12),  # the hidden state saturates int8
    LstmCase(bias_range=2**31 - 1, weight_scale=0.5),  # the int32 accumulator wraps
    LstmCase(batches=2, steps=3, n_input=33, n_hidden=17, time_major=True),
]

INT16_CASES = [
    LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15),
    LstmCase(dtype="int16", input_scale=2.0**-10, hidden_scale=2.0**-12, batches=2, time_major=True),
    LstmCase(dtype="int16", input_scale=2.0**-10, hidden_scale=2.0**-12, batches=2, steps=2),
    LstmCase(dtype="int16", input_scale=2.0**-11, hidden_scale=2.0**-14, cell_clip=0.25),
    LstmCase(dtype="int16", input_scale=0.05, hidden_scale=1.0 / 128),  # saturating gates
    LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15, n_input=300, n_hidden=40, steps=2,
             bias_range=2**40),  # more than 256 taps per sum, int64 biases beyond int32
]


def merged_graph(cases, seed: int = 0):
    b = GraphBuilder("lstms")
    rng = np.random.default_rng(seed)
    outputs = [add_lstm(b, rng, case) for case in cases]
    return b.build(outputs=outputs)


def test_int8_lstms_bit_exact_over_a_sequence():
    compiled = assert_bit_exact(merged_graph(INT8_CASES), n_inputs=SEQUENCE)
    assert {k.kernel for k in compiled.lowered.ops} == {"unidirectional_sequence_lstm"}


def test_16x8_lstms_bit_exact_over_a_sequence():
    compiled = assert_bit_exact(merged_graph(INT16_CASES), n_inputs=SEQUENCE)
    assert {k.kernel for k in compiled.lowered.ops} == {"unidirectional_sequence_lstm_s16"}


@pytest.mark.parametrize("case", [LstmCase(steps=1), LstmCase(dtype="int16", input_scale=2.0**-12,
                                                                  hidden_scale=2.0**-15, steps=1)],
                         ids=["int8", "16x8"])
def test_state_carries_over_invocations(case):
    """The same frame fed 50 times: TFLM's outputs move as the state fills, and tinyq's follow."""
    graph = lstm_graph(case, seed=3)
    board = get_board("host")
    compiled = compile_graph(graph, board)
    frame = [np.random.default_rng(1).integers(-300, 300, size=case.shape_in).astype(case.dtype)]
    inputs = [frame] * 50
    golden = [r[0] for r in tflm_run(compiled.model, inputs)]
    assert len({g.tobytes() for g in golden}) > 5  # a stateless LSTM would repeat one output
    ours = HostRunner(board).run(compiled, inputs).outputs
    result = compare_outputs(compiled.model, graph, inputs, ours)
    assert result.ok and result.records == 50


def test_lstm_between_other_ops_and_chained():
    """Two LSTMs in a row (the second reads the first's output sequence), then a fully connected
    layer on the last step: the shape of the corpus's keyword and MNIST models."""
    rng = np.random.default_rng(7)
    b = GraphBuilder("stack")
    first = LstmCase(steps=4, n_input=6, n_hidden=8, hidden_zp=-2)
    y1 = add_lstm(b, rng, first)
    y2 = add_lstm(b, rng, replace(first, n_input=8, n_hidden=5, input_scale=first.hidden_scale,
                                  input_zp=first.hidden_zp), x=y1)
    flat = b.activation((1, 20), scale=first.hidden_scale, zero_point=first.hidden_zp)
    b.op("reshape", [y2, b.const(np.array([1, 20], np.int32))], [flat])
    w = b.const(rng.integers(-127, 128, size=(3, 20), dtype=np.int8), scale=0.01, zero_point=0)
    out = b.activation((1, 3), scale=0.05, zero_point=0)
    b.op("fully_connected", [flat, w, -1], [out])
    assert_bit_exact(b.build(outputs=[out]), n_inputs=SEQUENCE)


def test_lstms_bit_exact_on_targets():
    """Qemu-m55 (Helium) and the ARMv6-M binary, 50 invocations each, with every backend."""
    graph = merged_graph([INT8_CASES[0], INT8_CASES[1], INT8_CASES[5], INT8_CASES[10], INT16_CASES[0],
                          INT16_CASES[1]], seed=5)
    assert_bit_exact_on_targets(graph, n_inputs=50, backends=("reference", "cmsis-nn"))


REFUSALS = [
    (dict(cifg=True), "input 1 is missing", "CIFG"),
    (dict(peephole=True), "peephole weights", "no peephole"),
    (dict(projection=True), "a projection", "no peephole"),
    (dict(layer_norm=True), "layer normalization", "no peephole"),
]


@pytest.mark.parametrize("variant,what,hint", REFUSALS, ids=[r[1] for r in REFUSALS])
def test_lstm_variants_tflm_lacks_are_refused(variant, what, hint):
    with pytest.raises(UnsupportedError) as err:
        lower_graph(lstm_graph(LstmCase(), **variant))
    assert what in err.value.what and hint in err.value.hint


def _edited(graph, op_edit=None, tensor_edits=None):
    """The graph with the LSTM's options or some tensors replaced."""
    tensors = list(graph.tensors)
    for index, fields in (tensor_edits or {}).items():
        tensors[index] = replace(tensors[index], **fields)
    ops = [replace(op, options=replace(op.options, **op_edit)) if op_edit else op for op in graph.operators]
    return replace(graph, tensors=tuple(tensors), operators=tuple(ops))


def test_lstm_refusals_name_what_is_missing():
    graph = lstm_graph(LstmCase())
    op = graph.operators[0]
    w_forget, bias_forget, hidden = op.inputs[2], op.inputs[13], op.inputs[18]
    w = graph.tensors[w_forget]
    cases = [
        (_edited(graph, dict(fused_activation_function="RELU")), "cell gate activation RELU"),
        (_edited(graph, dict(fused_activation_function="NONE")), "cell gate activation NONE"),
        (_edited(graph, dict(diagonal_recurrent_tensors=True)), "diagonal recurrent weights"),
        (_edited(graph, tensor_edits={w_forget: dict(quant=replace(w.quant, scale=(0.01,) * 4, zero_point=(0,) * 4))}),
         "quantized per tensor"),
        (_edited(graph, tensor_edits={w_forget: dict(quant=replace(w.quant, zero_point=(3,)))}), "zero point 3"),
        (_edited(graph, tensor_edits={hidden: dict(is_variable=False)}), "not a variable tensor"),
        (_edited(graph, tensor_edits={bias_forget: dict(dtype="int64", data=graph.tensors[bias_forget].data
                                                                         .astype(np.int64))}), "needs int32"),
    ]
    for edited, what in cases:
        with pytest.raises(UnsupportedError) as err:
            lower_graph(edited)
        assert what in err.value.what, (what, err.value.what)


def test_16x8_lstm_needs_int64_biases():
    graph = lstm_graph(LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15))
    bias = graph.operators[0].inputs[13]
    int32_bias = _edited(graph, tensor_edits={bias: dict(dtype="int32", data=graph.tensors[bias].data
                                                                             .astype(np.int32))})
    with pytest.raises(UnsupportedError, match="needs int64"):
        lower_graph(int32_bias)


def test_lstm_model_written_and_read_back_keeps_state_tensors():
    """The writer keeps is_variable, so TFLM (which checks it) runs tinyq's own files."""
    from tinyq.tflite.reader import read_model

    graph = lstm_graph(LstmCase())
    again = read_model(write_model(graph))
    op = again.operators[0]
    assert again.tensors[op.inputs[18]].is_variable and again.tensors[op.inputs[19]].is_variable
    assert verify_host(compile_graph(again, get_board("host")), get_board("host"), n_inputs=5).ok


# --- CMSIS-NN: arm_lstm_unidirectional_s8 / _s16 ---------------------------------------------------

FIXED_SNAPSHOT = "cmsis-nn-99f736a6"  # ../shared/vendor: CMSIS-NN main with the LSTM state fix (#219)
SMALL_WEIGHTS = [  # recurrent sums that stay within int16: where CMSIS-NN reproduces TFLM
    LstmCase(weight_scale=0.002),
    LstmCase(weight_scale=0.002, batches=3, steps=2, time_major=True, n_input=33, n_hidden=9),
    LstmCase(weight_scale=0.002, batches=2, steps=3, cell_clip=0.3, input_zp=-128, hidden_zp=127),
    LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15, weight_scale=0.002),
    LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15, weight_scale=0.001, batches=2,
             time_major=True, n_hidden=13),
]


@pytest.fixture
def fixed_cmsis_nn(monkeypatch):
    """CMSIS-NN with the state fix: the snapshot in TINYQ_CMSIS_NN_DIR and a pin that says so."""
    import tinyq.libraries as libraries
    from conftest import VENDOR

    snapshot = VENDOR / FIXED_SNAPSHOT
    if not snapshot.is_dir():
        pytest.skip(f"{snapshot} is absent")
    monkeypatch.setenv("TINYQ_CMSIS_NN_DIR", str(snapshot))
    lib = libraries.LIBRARIES["cmsis-nn"]
    monkeypatch.setitem(libraries.LIBRARIES, "cmsis-nn", replace(lib, fixes=lib.fixes | {"219"}))


def test_cmsis_nn_lstm_bit_exact_with_the_fixed_release(fixed_cmsis_nn):
    """The fixed snapshot carries the state: bit-exact over 50 invocations on the host, on qemu-m55
    (Helium) and on the ARMv6-M binary."""
    from tinyq.verify import verify_qemu
    from conftest import QEMU_BOARDS

    graph = merged_graph(SMALL_WEIGHTS, seed=8)
    compiled = assert_bit_exact(graph, n_inputs=60, backend="cmsis-nn")
    assert [b.function for b in compiled.bound.ops] == ["arm_lstm_unidirectional_s8"] * 3 + \
        ["arm_lstm_unidirectional_s16"] * 2
    for name in QEMU_BOARDS:
        board = get_board(name)
        report = verify_qemu(compile_graph(graph, board, backend="cmsis-nn", arena="fast"), board, n_inputs=50)
        assert report.result.ok, name


def test_cmsis_nn_lstm_falls_back_on_a_release_that_clears_the_state(monkeypatch):
    import tinyq.libraries as libraries

    lib = libraries.LIBRARIES["cmsis-nn"]
    monkeypatch.setitem(libraries.LIBRARIES, "cmsis-nn", replace(lib, version="v7.0.0", fixes=frozenset()))
    compiled = compile_graph(lstm_graph(SMALL_WEIGHTS[0]), get_board("host"), backend="cmsis-nn", arena="fast")
    (op,) = compiled.bound.ops
    assert op.layer == "reference" and "CMSIS-NN#219" in dict(op.passed_over)["cmsis-nn"]


BOUND_CASES = [  # (case, the reason CMSIS-NN passes)
    (LstmCase(weight_scale=0.05), "recurrent sums can leave int16"),
    (LstmCase(dtype="int16", input_scale=2.0**-12, hidden_scale=2.0**-15, weight_scale=0.05),
     "recurrent sums can leave int16"),
    (LstmCase(weight_scale=0.002, cell_scale=2.0**-17), "input gate x cell gate can leave int16"),
]


@pytest.mark.parametrize("case,reason", BOUND_CASES, ids=["s8-recurrent", "s16-recurrent", "cell-update"])
def test_cmsis_nn_lstm_bounds_are_needed(fixed_cmsis_nn, case, reason):
    """Where tinyq's bounds send an LSTM to the reference kernel, CMSIS-NN would differ from TFLM."""
    import tinyq.backends.cmsis_nn.lstm as cmsis_lstm

    graph = lstm_graph(case, seed=1)
    (op,) = compile_graph(graph, get_board("host"), backend="cmsis-nn", arena="fast").bound.ops
    assert op.layer == "reference" and reason in dict(op.passed_over)["cmsis-nn"]
    saved = [k.applies for k in cmsis_lstm.KERNELS]
    try:
        for k in cmsis_lstm.KERNELS:
            object.__setattr__(k, "applies", lambda lowered, target: None)
        forced = compile_graph(graph, get_board("host"), backend="cmsis-nn", arena="fast")
        assert forced.bound.ops[0].layer == "cmsis-nn"
        assert not verify_host(forced, get_board("host"), n_inputs=SEQUENCE).ok
    finally:
        for k, applies in zip(cmsis_lstm.KERNELS, saved):
            object.__setattr__(k, "applies", applies)


def test_cmsis_nn_lstm_refuses_a_clip_below_one_cell_unit(fixed_cmsis_nn):
    (op,) = compile_graph(lstm_graph(LstmCase(weight_scale=0.002, cell_clip=1e-5)), get_board("host"),
                          backend="cmsis-nn", arena="fast").bound.ops
    assert op.layer == "reference" and "below one cell unit" in dict(op.passed_over)["cmsis-nn"]


# --- tinyq's Helium LSTM (tq-mve layer of the cmsis-nn backend) -------------------------------------

def test_tq_mve_lstm_bit_exact_on_qemu_m55():
    """Every int8 case, on Helium: tq_mve_lstm_s8 where CMSIS-NN's LSTM does not apply (it needs no
    bound on the weights), CMSIS-NN's where it does; 50 invocations."""
    from tinyq.verify import verify_qemu

    board = get_board("qemu-m55")
    graph = merged_graph(INT8_CASES + SMALL_WEIGHTS[:1], seed=9)
    compiled = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    functions = [op.function for op in compiled.bound.ops]
    assert functions.count("tq_mve_lstm_s8") >= len(INT8_CASES) - 2 and functions[-1] == "arm_lstm_unidirectional_s8"
    for op in compiled.bound.ops:
        if op.function == "arm_lstm_unidirectional_s8":
            assert "CMSIS-NN's arm_lstm_unidirectional_s8 applies" in dict(op.passed_over)["tq-mve"]
    assert verify_qemu(compiled, board, n_inputs=50).result.ok
