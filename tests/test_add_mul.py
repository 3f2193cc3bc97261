"""ADD, SUB and MUL against TFLM: every fused activation, equal shapes, every broadcast pattern
up to rank 6, constant operands, extreme scale ratios; and the variants tinyq refuses.

Tests build one graph holding many independent ops, so one C build covers them all.
"""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.ndloops import broadcast_loops
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
OPS = ("add", "sub", "mul")


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _quant(rng, lo=0.01, hi=0.2):
    return dict(scale=float(rng.uniform(lo, hi)), zero_point=int(rng.integers(-60, 60)))


def _operand(b, rng, shape, const, quant):
    if const:
        return b.const(rng.integers(-128, 128, size=shape), "int8", **quant)
    return b.input(shape, **quant)


def binary_graph(name, cases, rng):
    """cases: (op, shape_a, shape_b, activation, const_a, const_b[, quants]) -> one op each."""
    b = GraphBuilder(name)
    outputs = []
    for case in cases:
        op, shape_a, shape_b, activation, const_a, const_b, *quants = case
        qa, qb, qy = quants[0] if quants else (_quant(rng), _quant(rng), _quant(rng, 0.02, 0.3))
        x = _operand(b, rng, shape_a, const_a, qa)
        w = _operand(b, rng, shape_b, const_b, qb)
        y = b.activation(np.broadcast_shapes(shape_a, shape_b), **qy,
                         name=f"{op}{list(shape_a)}{list(shape_b)}{activation}")
        b.op(op, [x, w], [y], fused_activation_function=activation)
        outputs.append(y)
    return b.build(outputs)


BROADCASTS = [
    ((1,), (4, 5)),               # a single value against a matrix
    ((4, 5), (1,)),
    ((2, 3, 1), (1, 1, 5)),       # both inputs broadcast
    ((1, 5, 1, 3), (2, 1, 4, 1)),  # alternating
    ((7,), (3, 1, 7)),            # rank extension
    ((2, 1, 3, 1, 5), (1, 4, 3, 2, 1)),
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 2, 1)),  # rank 6, TFLM's limit
    ((1, 1, 1, 6), (1, 5, 7, 6)),  # per-channel bias-like add
]


def test_every_activation_shape_and_broadcast():
    rng = _rng("shapes")
    cases = []
    for op in OPS:
        for shape, act in zip([(1, 7), (3, 5, 2), (2, 3, 3, 5), (1, 1, 1, 13)], ACTIVATIONS):
            cases.append((op, shape, shape, act, False, False))
        cases.append((op, (2, 9), (2, 9), "RELU", False, True))  # constant second operand
        cases += [(op, a, b, ACTIVATIONS[i % 4], False, False) for i, (a, b) in enumerate(BROADCASTS)]
        cases += [(op, (3, 4), (), "NONE", False, True),        # scalar constant
                  (op, (1, 4), (3, 1), "RELU6", True, False)]   # constant first operand
    assert_bit_exact(binary_graph("shapes", cases, rng), n_inputs=12)


def test_extreme_scales():
    """Very different input scales, outputs finer and coarser than the inputs
    (MUL's multiplier above 1 shifts left), the same tensor on both sides."""
    rng = _rng("scales")
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = []
    for op in OPS:
        cases += [(op, (3, 11), (3, 11), "NONE", False, False, (q(0.002, -128), q(0.5, 127), q(0.6, 0))),
                  (op, (3, 11), (11,), "RELU", False, False, (q(0.9, 5), q(0.0007, -3), q(0.004, -128))),
                  (op, (2, 8), (2, 8), "NONE", False, False, (q(0.5, 1), q(0.45, -1), q(0.001, 2))),
                  (op, (5, 3), (1, 3), "RELU_N1_TO_1", False, False, (q(1e-3, 0), q(1e-3, 0), q(1e-2, 0)))]
    graph = binary_graph("scales", cases, rng)
    b = GraphBuilder("self")
    x = b.input((4, 6), scale=0.07, zero_point=-9)
    outs = []
    for op in OPS:
        outs.append(b.activation((4, 6), scale=0.11, zero_point=13, name=f"{op}_self"))
        b.op(op, [x, x], [outs[-1]], fused_activation_function="NONE")
    assert_bit_exact(graph, n_inputs=16)
    assert_bit_exact(b.build(outs), n_inputs=8)


def test_chained_ops():
    """ADD feeding MUL feeding ADD: intermediate buffers reused across ops."""
    rng = _rng("chain")
    b = GraphBuilder("chain")
    x = b.input((2, 5, 3), **_quant(rng))
    c = b.const(rng.integers(-128, 128, size=(3,)), "int8", **_quant(rng))
    t1 = b.activation((2, 5, 3), **_quant(rng))
    t2 = b.activation((2, 5, 3), **_quant(rng))
    t3 = b.activation((2, 5, 3), **_quant(rng))
    b.op("add", [x, c], [t1], fused_activation_function="RELU")
    b.op("mul", [t1, x], [t2], fused_activation_function="NONE")
    b.op("add", [t2, t1], [t3], fused_activation_function="RELU6")
    assert_bit_exact(b.build([t3]), n_inputs=10)


def test_loop_nests_fuse_contiguous_dimensions():
    same = broadcast_loops((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5))
    assert (same.shape, same.stride_a, same.stride_b) == ((120,), (1,), (1,))
    bias = broadcast_loops((1, 5, 7, 6), (6,), (1, 5, 7, 6))
    assert (bias.shape, bias.stride_a, bias.stride_b) == ((35, 6), (6, 1), (0, 1))
    both = broadcast_loops((2, 3, 1), (1, 1, 5), (2, 3, 5))
    assert (both.shape, both.stride_a, both.stride_b) == ((6, 5), (1, 0), (0, 1))


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _single(op, shape_a, shape_b, out_shape, dtype="int8", activation="NONE", qa=None, qy=None, per_channel=False):
    b = GraphBuilder("bad")
    x = b.input(shape_a, dtype=dtype, **(qa or dict(scale=0.1, zero_point=0)))
    if per_channel:
        w = b.const(np.ones(shape_b, np.int8), "int8", scale=[0.1] * shape_b[-1], zero_point=0, axis=0)
    else:
        w = b.input(shape_b, dtype=dtype, scale=0.1, zero_point=0)
    y = b.activation(out_shape, dtype=dtype, **(qy or dict(scale=0.1, zero_point=0)))
    b.op(op, [x, w], [y], fused_activation_function=activation)
    return b.build([y])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("graph_args, message", [
    (((2, 3), (4, 3), (2, 3)), "do not broadcast"),
    (((2, 3), (1, 3), (6,)), "not the broadcast shape"),
    (((1,) * 7, (1,) * 7, (1,) * 7), "rank 7"),
    (((2, 3), (2, 3), (2, 3), "uint8"), "only int8"),  # int16: tests/test_int16_ops.py; int32: unquantized
    (((2, 3), (2, 3), (2, 3), "int8", "TANH"), "fused activation TANH"),
])
def test_unsupported_variants(op, graph_args, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_single(op, *graph_args))


def test_per_channel_tensors_are_read_at_their_first_scale_like_tflm():
    """TFLM fills every tensor's per-tensor params from its first scale and zero point, and ADD, SUB and MUL
    read only those: a constant operand quantized per channel (scales 0.02 .. 1.3), a per-channel input and
    output run there at channel 0's parameters. tinyq refused them ('quantized per channel'); now it reads
    them as TFLM does."""
    rng = _rng("per_channel")
    b = GraphBuilder("per_channel")
    outputs = []
    for op in OPS:
        x = b.input((2, 3), scale=[0.05, 0.7], zero_point=[4, -30])  # along axis 0
        c = b.const(rng.integers(-128, 128, size=(2, 3)), "int8", scale=[0.02, 0.5, 1.3], zero_point=[-7, 0, 9], axis=1)
        y = b.activation((2, 3), scale=[0.08, 3.0], zero_point=[2, -1], name=f"{op}_per_channel")
        b.op(op, [x, c], [y], fused_activation_function="NONE")
        outputs.append(y)
    assert_bit_exact(b.build(outputs), n_inputs=8)


@pytest.mark.parametrize("op", ["add", "sub"])
def test_add_output_scale_too_fine_is_refused(op):
    graph = _single(op, (4,), (4,), (4,), qa=dict(scale=1.0, zero_point=0), qy=dict(scale=1e-7, zero_point=0))
    with pytest.raises(TinyqError, match="output scale is too small"):
        _compile(graph)


def test_sub_order_matters_and_zero_points_at_the_limits():
    """a - b, not b - a, and offsets at the int8 ends (the left-shifted operands at their largest)."""
    rng = _rng("sub-limits")
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = [("sub", (4, 7), (4, 7), "NONE", False, False, (q(0.05, -128), q(0.03, 127), q(0.02, 127))),
             ("sub", (4, 7), (4, 7), "NONE", False, False, (q(0.03, 127), q(0.05, -128), q(0.02, -128))),
             ("sub", (2, 1, 7), (3, 1), "RELU", True, False, (q(0.01, 0), q(0.2, 5), q(0.03, -128)))]
    assert_bit_exact(binary_graph("sub_limits", cases, rng), n_inputs=16)


def test_sub_on_every_target():
    """SUB's kernel on the host and under QEMU (Helium and ARMv6-M), with each backend (CMSIS-NN and
    ESP-NN have no subtraction: TFLM's CMSIS-NN glue runs SUB in the reference kernel too)."""
    rng = _rng("sub-targets")
    cases = [("sub", (3, 5, 2), (3, 5, 2), "RELU6", False, False),
             ("sub", (2, 1, 3, 1, 5), (1, 4, 3, 2, 1), "NONE", False, False),
             ("sub", (2, 9), (9,), "RELU", False, True)]
    assert_bit_exact_on_targets(binary_graph("sub_targets", cases, rng), n_inputs=6,
                                backends=("reference", "cmsis-nn", "esp-nn"))
