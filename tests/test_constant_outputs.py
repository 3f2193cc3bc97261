"""A graph output that is a constant (LiteRT's constant_output_tensor.tflite): TFLM returns the constant's
bytes, and tinyq refused the model ('graph input/output tensor 1 is a constant'). The generated invoke copies
it from flash into its arena slot, bit-exact with TFLM on the host, layer by layer and under QEMU; a constant
graph input is still refused."""

from dataclasses import replace

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import verify_qemu


def _graph():
    b = GraphBuilder("const_out")
    x = b.input((2, 3), scale=0.1, zero_point=1)
    y = b.activation((2, 3), scale=0.2, zero_point=-1)
    b.op("relu", [x], [y])
    table = b.const(np.arange(-5, 7, dtype=np.int16).reshape(3, 4), "int16", scale=0.5, zero_point=0, name="table")
    floats = b.const(np.array([1.5, -0.0, np.inf, 3.25], np.float32), "float32", name="floats")
    return b.build([table, y, floats])


def test_constant_outputs_are_copied_from_flash():
    compiled = assert_bit_exact(_graph(), n_inputs=3)
    assert [op.lowered.kernel for op in compiled.bound.ops].count("copy_const") == 2
    assert_bit_exact(_graph(), n_inputs=3, layers=True)


@pytest.mark.parametrize("board", QEMU_BOARDS[:1])
def test_constant_outputs_under_qemu(board):
    b = get_board(board)
    assert verify_qemu(compile_graph(_graph(), b), b, n_inputs=2).result.ok


def test_a_constant_input_is_still_refused():
    b = GraphBuilder("const_in")
    c = b.const(np.ones((1, 4), np.int8), "int8", scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("relu", [c], [y])
    graph = b.build([y])
    graph = replace(graph, inputs=(c,))
    with pytest.raises(UnsupportedError, match="graph input tensor 0 is a constant"):
        compile_graph(graph, get_board("host"))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32", "bool"])
def test_a_constant_output_of_each_byte_sized_type(dtype):
    """The copy is bytes: each type TFLM returns a constant output of comes back as TFLM gives it."""
    b = GraphBuilder(f"const_{dtype}")
    x = b.input((1, 4), scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("relu", [x], [y])
    values = np.random.default_rng(0).normal(0, 50, (2, 3))
    data = values > 0 if dtype == "bool" else values.astype(dtype)
    quant = dict(scale=0.5, zero_point=0) if dtype in ("int8", "int16") else {}
    c = b.const(np.asarray(data), dtype, name=f"c_{dtype}", **quant)
    assert_bit_exact(b.build([y, c]), n_inputs=3)
