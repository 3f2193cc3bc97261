"""float32 element-wise ops against TFLM: NEG, SQUARE, SQRT, RSQRT, EXP, LOG, SIN, COS, ABS, FLOOR, CEIL,
ROUND, LOGISTIC, TANH, ELU, HARD_SWISH, RELU, RELU6, LEAKY_RELU and PRELU, bit for bit (glibc's expf, logf,
sinf, cosf, tanhf and expm1f as the golden model computes them) on the host, with special values, and under
QEMU (hard and soft float); the integer models TFLM cannot run are refused."""

import numpy as np
import pytest

from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

MATH = ("neg", "square", "sqrt", "rsqrt", "exp", "log", "sin", "cos", "abs", "floor", "ceil", "round")
ACTIVATIONS = ("logistic", "tanh", "elu", "hard_swish", "relu", "relu6")


def unary_graph(name, ops, shape=(3, 40), alphas=(0.2, -1.5, 3.0)):
    b = GraphBuilder(name)
    x = b.input(shape, dtype="float32")
    outs = []
    for op in ops:
        outs.append(b.activation(shape, dtype="float32", name=op))
        b.op(op, [x], [outs[-1]])
    for alpha in alphas:
        outs.append(b.activation(shape, dtype="float32", name=f"leaky{alpha}"))
        b.op("leaky_relu", [x], [outs[-1]], alpha=alpha)
    return b.build(outs)


def prelu_graph(name="prelu"):
    b = GraphBuilder(name)
    outs = []
    for shape, alpha_shape, const in (((2, 5, 3), (3,), True), ((1, 4, 4, 2), (1, 1, 2), False), ((6,), (6,), False)):
        x = b.input(shape, dtype="float32")
        rng = np.random.default_rng(len(outs))
        alpha = (b.const(rng.standard_normal(alpha_shape).astype(np.float32), "float32") if const
                 else b.input(alpha_shape, dtype="float32"))
        outs.append(b.activation(shape, dtype="float32", name=f"prelu{shape}"))
        b.op("prelu", [x, alpha], [outs[-1]])
    return b.build(outs)


@pytest.mark.parametrize("scale", [4.0, 120.0, 1e6])
def test_math_ops_over_many_binades(scale):
    """Small arguments, sin/cos past their fast reduction (|x| >= 120), exp's overflow and underflow."""
    assert_float_exact(unary_graph(f"math{int(scale)}", MATH + ACTIVATIONS), n_inputs=12, scale=scale)


def test_special_values():
    assert_float_exact(unary_graph("special", MATH + ACTIVATIONS), n_inputs=12, special=True, seed=4)


def test_round_ties_and_thresholds():
    """Exact halves (ties to even), logistic's cutoffs, hard swish's kinks, tanh near 22."""
    b = GraphBuilder("ties")
    values = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 8388607.5, -8388607.5, 16.619047164916992188,
                       16.619049, -9.0, -9.000001, -3.0, 3.0, -2.9999998, 22.0, -22.0, 9.0, 0.0, -0.0],
                      np.float32)
    x = b.input(values.shape, dtype="float32")
    outs = []
    for op in ("round", "logistic", "hard_swish", "tanh", "elu", "floor", "ceil"):
        outs.append(b.activation(values.shape, dtype="float32", name=op))
        b.op(op, [x], [outs[-1]])
    graph = b.build(outs)
    from chosen_inputs import assert_bit_exact_on
    assert_bit_exact_on(graph, [[values], [values * 3], [-values / 7]])


def test_prelu():
    assert_float_exact(prelu_graph(), n_inputs=10)
    assert_float_exact(prelu_graph("prelu_special"), n_inputs=6, special=True, seed=2)


def test_unary_on_targets():
    """One build: every element-wise float op under QEMU on hard float and soft float."""
    assert_float_exact(unary_graph("float_unary_targets", MATH + ACTIVATIONS, shape=(2, 24)), n_inputs=4,
                       boards=("host", *QEMU_BOARDS), scale=200.0, zeros=False)


def test_prelu_on_targets():
    assert_float_exact(prelu_graph("prelu_targets"), n_inputs=3, boards=("host", *QEMU_BOARDS))


@pytest.mark.parametrize("op", ["neg", "square", "sqrt", "exp", "log", "sin", "cos", "floor", "ceil", "round"])
def test_int8_is_refused_for_float_only_ops(op):
    b = GraphBuilder("int8_" + op)
    x = b.input((4,), dtype="int8", scale=0.1, zero_point=0)
    y = b.activation((4,), dtype="int8", scale=0.1, zero_point=0)
    b.op(op, [x], [y])
    with pytest.raises(TinyqError, match="float32 only"):
        compile_graph(b.build([y]), get_board("host"))


def test_five_dimensional_float_prelu_is_refused():
    b = GraphBuilder("prelu5")
    x = b.input((1, 2, 1, 2, 3), dtype="float32")
    a = b.const(np.ones((3,), np.float32), "float32")
    y = b.activation((1, 2, 1, 2, 3), dtype="float32")
    b.op("prelu", [x, a], [y])
    with pytest.raises(TinyqError, match="4 dimensions"):
        compile_graph(b.build([y]), get_board("host"))
