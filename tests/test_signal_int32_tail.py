"""The unquantized int32 and uint32 ops around TFLM's signal library (the micro_speech preprocessor's
CAST uint32 <-> int32 and its int32 MUL / ADD / DIV / MINIMUM / MAXIMUM tail) against TFLM: int32
ADD (its fused activation ignored, as TFLM's kernel does), SUB and MUL (clamped to it), wrapping
overflow, broadcasts, constant operands; CAST from and to uint32; refusals; one merged graph on
qemu-m55 and ARMv6-M."""

from __future__ import annotations

import numpy as np
import pytest

from signal_cases import assert_same, assert_same_on_targets
from tinyq.lower import support_report
from tinyq.tflite.builder import GraphBuilder

EDGES = np.array([0, 1, -1, 2**31 - 1, -2**31, 65536, -65536, 46341], np.int32)


def int32_values(rng, shape) -> np.ndarray:
    values = rng.integers(-2**31, 2**31, shape, dtype=np.int64).astype(np.int32)
    small = rng.integers(-300, 300, shape).astype(np.int32)
    flat = np.where(rng.random(shape) < 0.5, values, small).reshape(-1)
    flat[:min(flat.size, EDGES.size)] = EDGES[:flat.size]
    return flat.reshape(shape)


def binary_graph(op: str, a_shape, b_shape, out_shape, activation: str = "NONE", constant_b=None):
    b = GraphBuilder(op)
    x = b.input(a_shape, "int32")
    y = b.const(constant_b, "int32") if constant_b is not None else b.input(b_shape, "int32")
    z = b.activation(out_shape, "int32")
    b.op(op, [x, y], [z], fused_activation_function=activation)
    return b.build([z])


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_int32_binary(op, activation):
    rng = np.random.default_rng(len(op) + len(activation))
    graph = binary_graph(op, (2, 3, 8), (3, 1), (2, 3, 8), activation)
    assert_same(graph, [[int32_values(rng, (2, 3, 8)), int32_values(rng, (3, 1))] for _ in range(6)])


def test_int32_with_constant_operands():
    rng = np.random.default_rng(3)
    for op, constant in (("mul", np.array(256, np.int32)), ("add", np.array([-128] * 40, np.int32))):
        graph = binary_graph(op, (40,), None, (40,), constant_b=constant)
        assert_same(graph, [[int32_values(rng, (40,))] for _ in range(4)])


@pytest.mark.parametrize("source, target", [("uint32", "int32"), ("int32", "uint32"), ("uint32", "int8"),
                                            ("int16", "uint32"), ("uint32", "float32"), ("bool", "uint32"),
                                            ("uint32", "uint32"), ("int8", "uint32")])
def test_cast_uint32(source, target):
    b = GraphBuilder("cast")
    x = b.input((37,), source)
    y = b.activation((37,), target)
    b.op("cast", [x], [y])
    rng = np.random.default_rng(4)
    if source == "bool":
        recs = [[rng.random(37) < 0.5] for _ in range(3)]
    else:
        info = np.iinfo(np.dtype(source))
        recs = [[rng.integers(info.min, info.max, 37, endpoint=True, dtype=np.int64).astype(source)] for _ in range(4)]
        recs.append([np.array([info.min, info.max, 0, 1] + [2**31 % (info.max + 1)] * 33, dtype=source)])
    assert_same(b.build([y]), recs)


def test_refusals():
    b = GraphBuilder("cast")
    x = b.input((4,), "float32")
    y = b.activation((4,), "uint32")
    b.op("cast", [x], [y])
    assert "float32 to uint32" in support_report(b.build([y]))[0][1]
    b = GraphBuilder("add")
    x = b.input((4,), "int32", scale=0.5, zero_point=0)
    w = b.input((4,), "int32")
    z = b.activation((4,), "int32")
    b.op("add", [x, w], [z])
    assert "TFLM's int32 ADD takes unquantized tensors only" in support_report(b.build([z]))[0][1]


def test_int32_tail_on_targets():
    """micro_speech's tail after its log: int16 -> int32, * 256, + 333, / 666, - 128, clamped, to int8."""
    b = GraphBuilder("int32_tail")
    logs, energies = b.input((40,), "int16"), b.input((20,), "uint32")
    wide = b.activation((40,), "int32")
    b.op("cast", [logs], [wide])
    steps = [("mul", 256), ("add", 333), ("div", 666), ("sub", 128), ("minimum", 127), ("maximum", -128)]
    value = wide
    for op, constant in steps:
        out = b.activation((40,), "int32")
        kwargs = {"fused_activation_function": "NONE"} if op in ("mul", "add", "div", "sub") else {}
        b.op(op, [value, b.const(np.array(constant, np.int32))], [out], **kwargs)
        value = out
    small = b.activation((40,), "int8")
    b.op("cast", [value], [small])
    signed, back = b.activation((20,), "int32"), b.activation((20,), "uint32")
    b.op("cast", [energies], [signed])
    b.op("cast", [signed], [back])
    graph = b.build([small, back])
    rng = np.random.default_rng(5)
    recs = [[rng.integers(-32768, 32768, 40).astype(np.int16),
             rng.integers(0, 2**32, 20, dtype=np.uint64).astype(np.uint32)] for _ in range(5)]
    assert_same_on_targets(graph, recs)
