"""SVDF against TFLM: int8 input and output with an int8 or int16 memory (state), over sequences of
50+ invocations with the state carried from one to the next; ranks, batches, memory lengths, zero
points at the ends of the range (the state's too, which TFLM adds after saturating and stores in the
state's type), saturating feature sums, the fused activation TFLM's integer SVDF ignores, and what
tinyq refuses. The TFLM corpus's keyword models (SVDF stacks) are in test_state.py.
"""

from dataclasses import dataclass, replace

import numpy as np
import pytest

import ctypes

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from test_backend_cmsis_nn import Dims, cmsis_so  # noqa: F401 (cmsis_so: the library built for the host)
from tinyq.backends.cmsis_nn.svdf import _derived
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.ops.base import Target
from tinyq.tflite.builder import GraphBuilder

SEQUENCE = 60


@dataclass(frozen=True)
class SvdfCase:
    batches: int = 1
    n_input: int = 12
    units: int = 4
    rank: int = 2
    memory: int = 5
    state: str = "int16"  # the state's and time weights' type
    input_zp: int = -10
    state_zp: int = 0
    output_zp: int = 3
    state_scale: float = 0.004
    output_scale: float = 0.1
    activation: str = "NONE"
    time_range: int = 127  # time weights in +-time_range


def add_svdf(b: GraphBuilder, rng: np.random.Generator, case: SvdfCase, bias: bool = True) -> int:
    c = case
    filters = c.units * c.rank
    x = b.input((c.batches, c.n_input), scale=0.06, zero_point=c.input_zp)
    wf = b.const(rng.integers(-127, 128, size=(filters, c.n_input), dtype=np.int8), scale=0.01, zero_point=0)
    time_scale = 0.002 if c.state == "int16" else 0.01
    wt = b.const(rng.integers(-c.time_range, c.time_range + 1, size=(filters, c.memory)).astype(c.state),
                 scale=time_scale, zero_point=0)
    bias_scale = float(np.float32(c.state_scale) * np.float32(time_scale))
    inputs = [x, wf, wt]
    inputs.append(b.const(rng.integers(-5000, 5000, size=(c.units,)).astype(np.int32), scale=bias_scale,
                          zero_point=0) if bias else -1)
    inputs.append(b.variable((c.batches, c.memory * filters), dtype=c.state, scale=c.state_scale,
                             zero_point=c.state_zp))
    y = b.activation((c.batches, c.units), scale=c.output_scale, zero_point=c.output_zp)
    b.op("svdf", inputs, [y], rank=c.rank, fused_activation_function=c.activation)
    return y


CASES = [
    SvdfCase(),
    SvdfCase(state="int8", state_scale=0.5, output_scale=2.0),
    SvdfCase(state="int8", state_scale=0.5, state_zp=-50, output_scale=2.0),
    SvdfCase(state="int8", state_scale=0.05, state_zp=100),  # saturated sums + zero point wrap in int8
    SvdfCase(state="int16", state_scale=0.0005),  # feature sums saturate int16
    SvdfCase(rank=1, memory=1, units=1, n_input=1),
    SvdfCase(rank=3, batches=3, memory=8),
    SvdfCase(state="int8", state_scale=0.5, batches=2, rank=1, memory=3, output_scale=1.0),
    SvdfCase(input_zp=-128, output_zp=127, activation="RELU", output_scale=0.5),  # TFLM's int8 SVDF ignores the activation
    SvdfCase(input_zp=127, output_zp=-128, state_zp=7, output_scale=0.01),  # output saturates; int16 zero point
]


def merged_graph(cases, seed: int = 0):
    b = GraphBuilder("svdfs")
    rng = np.random.default_rng(seed)
    return b.build(outputs=[add_svdf(b, rng, case) for case in cases])


def test_svdfs_bit_exact_over_a_sequence():
    compiled = assert_bit_exact(merged_graph(CASES), n_inputs=SEQUENCE)
    assert {k.kernel for k in compiled.lowered.ops} == {"svdf", "svdf_state_s16"}


def test_svdfs_bit_exact_on_targets():
    graph = merged_graph([CASES[0], CASES[1], CASES[2], CASES[6]], seed=4)
    assert_bit_exact_on_targets(graph, n_inputs=50, backends=("reference", "cmsis-nn"))


def _single(case: SvdfCase, **kwargs):
    b = GraphBuilder("svdf")
    return b.build(outputs=[add_svdf(b, np.random.default_rng(0), case, **kwargs)])


def test_svdf_refusals_name_what_is_missing():
    with pytest.raises(UnsupportedError, match="without a bias"):
        lower_graph(_single(SvdfCase(), bias=False))
    graph = _single(SvdfCase())
    op = graph.operators[0]
    x, wt, bias, state = op.inputs[0], op.inputs[2], op.inputs[3], op.inputs[4]

    def edited(index, **fields):
        tensors = list(graph.tensors)
        tensors[index] = replace(tensors[index], **fields)
        return replace(graph, tensors=tuple(tensors))

    cases = [
        (edited(state, is_variable=False), "not a variable tensor"),
        (edited(wt, dtype="int8", data=graph.tensors[wt].data.astype(np.int8)), "must both be int8 or int16"),
        (edited(bias, quant=replace(graph.tensors[bias].quant, scale=(1.0,))), "bias scale"),
        (replace(graph, operators=(replace(op, options=replace(op.options, rank=3)),)), "rank 3"),
    ]
    for g, what in cases:
        with pytest.raises(UnsupportedError) as err:
            lower_graph(g)
        assert what in err.value.what, (what, err.value.what)


# --- CMSIS-NN: arm_svdf_s8 (int8 state), arm_svdf_state_s16_s8 (int16 state) ----------------------

def test_cmsis_nn_runs_zero_point_states_and_passes_the_others():
    compiled = assert_bit_exact(merged_graph(CASES), n_inputs=SEQUENCE, backend="cmsis-nn")
    for case, op in zip(CASES, compiled.bound.ops):
        if case.state_zp:
            assert op.layer == "reference" and "zero point" in dict(op.passed_over)["cmsis-nn"]
        else:
            assert op.function == ("arm_svdf_s8" if case.state == "int8" else "arm_svdf_state_s16_s8")
            assert op.scratch_bytes == 4 * case.batches * case.units * (case.rank + 1)
    helium = compile_graph(merged_graph(CASES[:2]), get_board("qemu-m55"), backend="cmsis-nn", arena="fast")
    assert [c.name for c in helium.bound.ops[1].consts].count("kernel_sum") == 1  # int8 state: sums in flash
    assert "kernel_sum" not in [c.name for c in helium.bound.ops[0].consts]


def test_cmsis_nn_svdf_weight_sums_and_size_match_library(cmsis_so):
    """On Helium arm_svdf_s8 reads per-filter sums from a buffer of arm_svdf_s8_get_buffer_size bytes:
    tinyq's offline array has that size and arm_vector_sum_s8's values (TFLM's Prepare call)."""
    cmsis_so.arm_svdf_s8_get_buffer_size_mve.restype = ctypes.c_int32
    cmsis_so.arm_svdf_s8_get_buffer_size_dsp.restype = ctypes.c_int32
    for case in (SvdfCase(state="int8", input_zp=-10), SvdfCase(state="int8", rank=3, n_input=7, input_zp=127)):
        lowered = compile_graph(merged_graph([case]), get_board("host")).lowered.ops[0]
        filters = case.units * case.rank
        dims = ctypes.byref(Dims(filters, case.n_input, 1, 1))
        (sums,) = _derived(lowered, Target(isa="mve", board="qemu-m55"))
        assert sums.values.nbytes == cmsis_so.arm_svdf_s8_get_buffer_size_mve(dims)
        assert cmsis_so.arm_svdf_s8_get_buffer_size_dsp(dims) == 0 and _derived(lowered, Target(isa="scalar")) == ()
        weights = np.ascontiguousarray(lowered.const("feature_weights"))
        out = np.zeros(filters, dtype=np.int32)
        cmsis_so.arm_vector_sum_s8(out.ctypes.data_as(ctypes.c_void_p), case.n_input, filters,
                                   weights.ctypes.data_as(ctypes.c_void_p), -case.input_zp, 0, None)
        assert sums.values.tolist() == out.tolist()

