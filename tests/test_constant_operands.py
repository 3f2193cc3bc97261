"""An op whose data operand is a constant (a float ABS of a constant, an ADD of two constants, as converters
sometimes leave them unfolded): TFLM runs the op on the constant's bytes; tinyq's planner gave the constant
no arena buffer and stopped with an internal error ("tensor 3 has no buffer in the plan"; found by
`tinyq bench graphs`). The constant is copied from flash into the arena just before its first reader."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import verify_qemu

F32 = "float32"


def float_graph():
    """y = x / (|c| + 1) + (c1 + c2): a unary op and a binary op on constants only, feeding run-time ops."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("const_operands")
    x = b.input((1, 6, 5), F32)
    c = b.const(rng.normal(0, 2, (1, 6, 5)).astype(np.float32), F32)
    a, d = b.activation((1, 6, 5), F32), b.activation((1, 6, 5), F32)
    b.op("abs", [c], [a])
    b.op("add", [a, b.const(np.array([1.0], np.float32), F32)], [d])
    q = b.activation((1, 6, 5), F32)
    b.op("div", [x, d], [q])
    s = b.activation((1, 6, 5), F32)
    b.op("add", [b.const(rng.normal(0, 1, (1, 6, 5)).astype(np.float32), F32),
                 b.const(rng.normal(0, 1, (1, 1, 5)).astype(np.float32), F32)], [s])
    y = b.activation((1, 6, 5), F32)
    b.op("add", [q, s], [y])
    return b.build([y])


def int8_graph():
    """The same shape of problem in int8: RELU of a constant, added to the input."""
    b = GraphBuilder("const_operands_int8")
    x = b.input((1, 8), scale=0.05, zero_point=3)
    c = b.const(np.arange(-4, 4, dtype=np.int8) * 9, "int8", scale=0.04, zero_point=-2)
    r = b.activation((1, 8), scale=0.04, zero_point=-2)
    b.op("relu", [c], [r])
    y = b.activation((1, 8), scale=0.08, zero_point=0)
    b.op("add", [x, r], [y])
    return b.build([y])


@pytest.mark.parametrize("build", [float_graph, int8_graph])
def test_constants_read_as_data_are_copied_into_the_arena(build):
    compiled = assert_bit_exact(build(), n_inputs=6)
    kernels = [op.lowered.kernel for op in compiled.bound.ops]
    assert "copy_const" in kernels
    assert kernels.index("copy_const") < len(kernels) - 1  # before its reader, not at the end
    assert_bit_exact(build(), n_inputs=3, layers=True)


def test_constants_read_as_data_under_qemu():
    board = get_board("qemu-m55")
    assert verify_qemu(compile_graph(float_graph(), board), board, n_inputs=2).result.ok


def test_constant_weights_stay_in_flash():
    """A convolution's filter is a constant its kernel reads from flash: no copy."""
    b = GraphBuilder("conv")
    x = b.input((1, 4, 4, 2), scale=0.1, zero_point=0)
    w = b.const(np.ones((3, 1, 1, 2), np.int8), "int8", scale=[0.02] * 3, axis=0)
    bias = b.const(np.zeros(3, np.int32), "int32", scale=[0.002] * 3, axis=0)
    y = b.activation((1, 4, 4, 3), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1)
    compiled = assert_bit_exact(b.build([y]), n_inputs=2)
    assert "copy_const" not in [op.lowered.kernel for op in compiled.bound.ops]


def test_a_constant_read_as_weights_and_as_data():
    """One constant, a fully connected layer's weights (from flash) and an ABS's operand (an arena copy)."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("shared_const")
    x = b.input((1, 4), F32)
    w = b.const(rng.normal(0, 1, (4, 4)).astype(np.float32), F32)
    fc = b.activation((1, 4), F32)
    b.op("fully_connected", [x, w, -1], [fc])
    a = b.activation((4, 4), F32)
    b.op("abs", [w], [a])
    compiled = assert_bit_exact(b.build([fc, a]), n_inputs=4)
    assert [op.lowered.kernel for op in compiled.bound.ops].count("copy_const") == 1


@pytest.mark.parametrize("dtype, op", [("int8", "relu"), ("int16", "relu"), ("float32", "abs"), ("int32", "add"),
                                       ("bool", "logical_not")])
def test_a_constant_operand_of_each_byte_sized_type(dtype, op):
    """Each type an op reads from a constant comes out as TFLM computes it: through the arena copy (bytes) where
    the kernel reads the arena, straight from flash where it takes a constant operand (int32 ADD, LOGICAL_NOT)."""
    rng = np.random.default_rng(0)
    quant = {"int8": dict(scale=0.5, zero_point=3), "int16": dict(scale=0.5, zero_point=0)}.get(dtype, {})
    values = rng.normal(0, 50, (2, 3))
    data = values > 0 if dtype == "bool" else values.astype(dtype)
    b = GraphBuilder(f"const_{dtype}")
    x = b.input((2, 3), dtype, **quant)
    c = b.const(np.asarray(data), dtype, **quant)
    y = b.activation((2, 3), dtype, **quant)
    if op == "add":
        b.op("add", [c, b.const(np.ones((2, 3), np.int32), "int32")], [y])
    else:
        b.op(op, [c], [y])
    z = b.activation((2, 3), dtype, **quant)
    b.op("logical_or" if dtype == "bool" else "maximum", [x, y], [z])
    compiled = assert_bit_exact(b.build([z]), n_inputs=3)
    copied = "copy_const" in [k.lowered.kernel for k in compiled.bound.ops]
    assert copied == (dtype in ("int8", "int16", "float32"))
