"""float32 ADD, SUB, MUL, DIV (fused activations), SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, FLOOR_DIV and FLOOR_MOD
against TFLM: equal shapes, broadcasts up to rank 6, constant operands, special values on the host, and one
merged graph under QEMU (hard and soft float)."""

import zlib

import numpy as np
import pytest

from chosen_inputs import assert_invoke_fails
from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH"]
WITH_ACTIVATION = ("add", "sub", "mul", "div")
PLAIN = ("squared_difference", "maximum", "minimum", "floor_mod")

SHAPES = [
    ((2, 5), (2, 5)),
    ((3, 1, 4), (1, 5, 4)),
    ((7,), (3, 1, 7)),
    ((2, 1, 3, 1, 5), (1, 4, 3, 2, 1)),
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 2, 1)),
    ((4, 6), ()),
]


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def binary_graph(name, ops, rng, const_second=False):
    b = GraphBuilder(name)
    outs = []
    for op in ops:
        for i, (sa, sb) in enumerate(SHAPES):
            x = b.input(sa, dtype="float32")
            if const_second or not sb:
                y_in = b.const((rng.standard_normal(sb) * 3).astype(np.float32), "float32")
            else:
                y_in = b.input(sb, dtype="float32")
            out = b.activation(np.broadcast_shapes(sa, sb), dtype="float32", name=f"{op}{i}")
            fields = dict(fused_activation_function=ACTIVATIONS[i % len(ACTIVATIONS)]) if op in WITH_ACTIVATION else {}
            b.op(op, [x, y_in], [out], **fields)
            outs.append(out)
    return b.build(outs)


def test_arithmetic_with_activations():
    assert_float_exact(binary_graph("arith", WITH_ACTIVATION, _rng("arith")), n_inputs=12)
    assert_float_exact(binary_graph("arith_const", WITH_ACTIVATION, _rng("arith-const"), const_second=True),
                       n_inputs=6, seed=3)


def test_plain_binary_ops():
    assert_float_exact(binary_graph("plain", PLAIN, _rng("plain")), n_inputs=12)


def test_special_values():
    """Infinities, NaN, signed zeros, subnormals: x86's results (NaN bits included) on the host."""
    assert_float_exact(binary_graph("special", WITH_ACTIVATION + PLAIN, _rng("special")), n_inputs=10,
                       special=True, seed=5)


def test_floor_div_and_floor_mod_on_exact_ties():
    """Quotients landing on integers and halves, negative divisors, results of both signs."""
    b = GraphBuilder("floor")
    x = b.input((4, 16), dtype="float32")
    y = b.input((4, 16), dtype="float32")
    outs = []
    for op in ("floor_div", "floor_mod"):
        outs.append(b.activation((4, 16), dtype="float32", name=op))
        b.op(op, [x, y], [outs[-1]])
    graph = b.build(outs)
    # divisors never 0 (FLOOR_DIV fails invoke on a zero divisor, as TFLM's Eval)
    assert_float_exact(graph, n_inputs=10, ranges={0: (-40, 40), 1: (0.25, 7)})
    assert_float_exact(graph, n_inputs=10, seed=2, ranges={0: (-40, 40), 1: (-7, -0.25)})


def test_floor_div_by_zero_fails_invoke_as_in_tflm():
    b = GraphBuilder("floor_zero")
    x = b.input((3,), dtype="float32")
    y = b.input((3,), dtype="float32")
    out = b.activation((3,), dtype="float32")
    b.op("floor_div", [x, y], [out])
    assert_invoke_fails(b.build([out]), [np.array([1, 2, 3], np.float32), np.array([1, -0.0, 2], np.float32)])


def test_elementwise_on_targets():
    rng = _rng("targets")
    graph = binary_graph("float_binary_targets", WITH_ACTIVATION + ("squared_difference", "maximum", "minimum"), rng)
    # no zeros: 0 / 0 is a NaN, and Arm's NaN has the other sign (float_cases.py)
    assert_float_exact(graph, n_inputs=4, boards=("host", *QEMU_BOARDS), zeros=False)


def test_floor_ops_on_targets():
    b = GraphBuilder("floor_targets")
    x = b.input((3, 16), dtype="float32")
    y = b.input((1, 16), dtype="float32")
    outs = []
    for op in ("floor_div", "floor_mod"):
        outs.append(b.activation((3, 16), dtype="float32", name=op))
        b.op(op, [x, y], [outs[-1]])
    assert_float_exact(b.build(outs), n_inputs=4, boards=("host", *QEMU_BOARDS), ranges={0: (-50, 50), 1: (0.5, 9)})


@pytest.mark.parametrize("op", ["floor_div", "floor_mod"])
def test_integer_floor_ops_are_refused(op):
    b = GraphBuilder("int_floor")
    x = b.input((3,), dtype="int8", scale=0.1, zero_point=0)
    y = b.input((3,), dtype="int8", scale=0.1, zero_point=0)
    out = b.activation((3,), dtype="int8", scale=0.1, zero_point=0)
    b.op(op, [x, y], [out])
    with pytest.raises(TinyqError, match="float32 only"):
        compile_graph(b.build([out]), get_board("host"))


def test_subnormals_on_targets():
    """Subnormal operands and results (no flush to zero on either Arm build: FPSCR.FZ stays 0, soft
    float is IEEE), through the element-wise ops, a fully connected layer and a pooling window."""
    rng = np.random.default_rng(17)
    b = GraphBuilder("subnormals")
    x = b.input((4, 32), dtype="float32")
    y = b.input((4, 32), dtype="float32")
    outs = []
    for op in ("add", "sub", "mul", "div", "squared_difference", "maximum", "minimum"):
        outs.append(b.activation((4, 32), dtype="float32", name=op))
        fields = dict(fused_activation_function="NONE") if op in WITH_ACTIVATION else {}
        b.op(op, [x, y], [outs[-1]], **fields)
    for op in ("neg", "abs", "square", "relu", "sqrt"):
        outs.append(b.activation((4, 32), dtype="float32", name=op))
        b.op(op, [x], [outs[-1]])
    outs.append(b.activation((4, 8), dtype="float32", name="fc"))
    b.op("fully_connected", [x, b.const((rng.standard_normal((8, 32)) * 1e-3).astype(np.float32), "float32"), -1],
         [outs[-1]])
    graph = b.build(outs)
    tiny = lambda: (rng.standard_normal((4, 32)) * rng.choice([1e-39, 1e-42, 1e-20, 3e-38], (4, 32)))  # noqa: E731
    inputs = [[tiny().astype(np.float32), (tiny() + 1e-30).astype(np.float32)] for _ in range(3)]
    assert any(np.abs(v).min() < 1.17549435e-38 for record in inputs for v in record)
    from tinyq.verify.compare import compare_outputs, summarize
    from tinyq.verify.runners import HostRunner, QemuRunner

    for name in ("host", *QEMU_BOARDS):
        board = get_board(name)
        compiled = compile_graph(graph, board)
        runner = HostRunner(board) if board.runner == "host" else QemuRunner(board)
        result = compare_outputs(compiled.model, compiled.graph, inputs, runner.run(compiled, inputs).outputs)
        assert result.ok, f"{name}: " + summarize(result, graph)
