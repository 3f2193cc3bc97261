"""SPLIT, SPLIT_V, UNPACK (several outputs each) and PACK against TFLM: every axis (negative too),
unequal parts, outputs feeding later ops, unused outputs, constant operands, other element types;
and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def quant(rng, dtype="int8"):
    return dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=int(rng.integers(-128, 128))) \
        if dtype == "int8" else {}


def add_split(b, rng, x, shape, axis, parts, kind="split_v", dtype="int8", axis_dtype="int32"):
    q = dict(scale=b._tensors[x].quant.s, zero_point=b._tensors[x].quant.zp) if dtype == "int8" else {}
    pos = axis % len(shape)
    if kind == "unpack":
        outs = [b.activation(shape[:pos] + shape[pos + 1:], dtype=dtype, **q) for _ in range(shape[pos])]
        b.op("unpack", [x], outs, num=shape[pos], axis=axis)
        return outs
    outs = [b.activation(tuple(n if d == pos else s for d, s in enumerate(shape)), dtype=dtype, **q)
            for n in parts]
    a = b.const(np.array(axis), axis_dtype)
    if kind == "split":
        b.op("split", [a, x], outs, num_splits=len(parts))
    else:
        b.op("split_v", [x, b.const(np.array(parts, np.int32)), a], outs, num_splits=len(parts))
    return outs


CASES = [((6, 4), 0, (2, 2, 2)), ((6, 4), 1, (1, 3)), ((6, 4), -1, (2, 2)), ((2, 3, 4, 5), 2, (1, 1, 2)),
         ((2, 3, 4, 5), -4, (1, 1)), ((1, 6, 5), 1, (3, 3)), ((1, 2, 1, 2, 2, 3), 5, (1, 2))]


@pytest.mark.parametrize("kind", ["split", "split_v", "unpack"])
def test_every_axis(kind):
    rng = seeded(kind)
    b = GraphBuilder(kind)
    outs = []
    for shape, axis, parts in CASES:
        if kind == "split" and len(set(parts)) != 1:
            parts = (shape[axis % len(shape)],)
        x = b.input(shape, **quant(rng))
        outs += add_split(b, rng, x, shape, axis, parts, kind, axis_dtype=("int32", "int64")[len(outs) % 2])
    assert_bit_exact(b.build(outs), n_inputs=6, layers=True)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_other_element_types(dtype):
    rng = seeded("types", dtype)
    b = GraphBuilder(f"split_{dtype}")
    x = b.input((3, 4, 2), dtype=dtype)
    outs = add_split(b, rng, x, (3, 4, 2), 1, (1, 3), "split_v", dtype) + \
        add_split(b, rng, x, (3, 4, 2), 2, (), "unpack", dtype)
    assert_bit_exact(b.build(outs), n_inputs=4)


def test_outputs_feed_later_ops_and_unused_outputs():
    """Split outputs consumed by different ops, one never read, one a graph output too."""
    rng = seeded("chain")
    b = GraphBuilder("chain")
    q = quant(rng)
    x = b.input((1, 4, 6), **q)
    a, u, c = add_split(b, rng, x, (1, 4, 6), 2, (2, 1, 3))
    r = b.activation((1, 4, 2), **quant(rng))
    b.op("relu", [a], [r])
    s = b.activation((1, 4, 3), **quant(rng))
    b.op("add", [c, c], [s])
    assert_bit_exact(b.build([r, s, c]), n_inputs=6, layers=True)


def add_pack(b, ins, axis, dtype="int8"):
    t = b._tensors[ins[0]]
    q = dict(scale=t.quant.s, zero_point=t.quant.zp) if dtype == "int8" else {}
    shape = list(t.shape)
    shape.insert(axis % (len(shape) + 1), len(ins))
    y = b.activation(shape, dtype=dtype, **q, name=f"pack{len(ins)}axis{axis}")
    b.op("pack", ins, [y], values_count=len(ins), axis=axis)
    return y


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_pack_every_axis(axis):
    rng = seeded("pack", axis)
    b = GraphBuilder("pack")
    q = quant(rng)
    ins = [b.input((3, 4), **q) for _ in range(3)]
    mixed = [b.input((2, 5), **quant(rng)), b.const(rng.integers(-128, 128, size=(2, 5)), "int8", **quant(rng))]
    outs = [add_pack(b, ins, axis), add_pack(b, mixed, axis if axis != -3 else 0)]
    assert_bit_exact(b.build(outs), n_inputs=6)


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "float32"])
def test_pack_other_element_types(dtype):
    b = GraphBuilder(f"pack_{dtype}")
    ins = [b.input((2, 3), dtype=dtype) for _ in range(2)]
    assert_bit_exact(b.build([add_pack(b, ins, 1, dtype)]), n_inputs=4)


def test_pack_of_produced_tensors_and_the_same_tensor_twice():
    rng = seeded("pack_chain")
    b = GraphBuilder("pack_chain")
    x = b.input((1, 8), **quant(rng))
    r1, r2 = b.activation((1, 8), **quant(rng)), b.activation((1, 8), **quant(rng))
    b.op("relu", [x], [r1])
    b.op("relu6", [x], [r2])
    y = add_pack(b, [r1, r2, r1], 0)
    assert_bit_exact(b.build([y]), n_inputs=6, layers=True)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad_split(kind, shape, axis, out_shapes, dtype="int8", num=None, axis_dtype="int32"):
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, scale=0.1, zero_point=0)
    outs = [b.activation(s, dtype=dtype, scale=0.1, zero_point=0) for s in out_shapes]
    a = b.const(np.array(axis), axis_dtype)
    if kind == "split":
        b.op("split", [a, x], outs, num_splits=len(outs))
    elif kind == "split_v":
        b.op("split_v", [x, b.const(np.array([-1] * len(outs), np.int32)), a], outs, num_splits=len(outs))
    else:
        b.op("unpack", [x], outs, num=len(outs) if num is None else num, axis=axis)
    return b.build(outs)


@pytest.mark.parametrize("args, message", [
    (("split", (4, 6), 1, [(4, 2), (4, 4)]), "SPLIT cuts equal parts"),
    (("split", (4, 6), 2, [(4, 3), (4, 3)]), "axis 2 is out of range"),
    (("split_v", (4, 6), 1, [(4, 2), (4, 3)]), "take 5 of axis 1's 6"),
    (("split_v", (4, 6), 1, [(3, 2), (4, 4)]), "does not fit input"),
    (("split_v", (4, 6), 0, [(2, 6), (2, 6)], "int64"), "int64 tensors are not supported"),
    (("split", (4, 6), 0, [(2, 6), (2, 6)], "int8", None, "float32"), "TFLM reads it as int32 or int64"),
    (("unpack", (3, 2), 0, [(2,), (2,)]), "num 2 and 2 outputs"),
    (("unpack", (2, 3), 0, [(2,), (2,)]), "is not input"),
    (("unpack", (2, 3), 0, [(3,), (3,)], "int8", 3), "num 3"),
])
def test_split_unsupported(args, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad_split(*args))


def _bad_pack(in_shapes, out_shape, axis=0, values_count=None, dtype="int8"):
    b = GraphBuilder("bad")
    ins = [b.input(s, dtype=dtype, scale=0.1, zero_point=0) for s in in_shapes]
    y = b.activation(out_shape, dtype=dtype, scale=0.1, zero_point=0)
    b.op("pack", ins, [y], values_count=len(ins) if values_count is None else values_count, axis=axis)
    return b.build([y])


@pytest.mark.parametrize("args, message", [
    ((((2,), (2,)), (2, 2), 0, 3), "values_count 3 for 2 inputs"),
    ((((2,), (3,)), (2, 2)), "is not output"),
    ((((2,), (2,)), (3, 2)), "has 3 entries on axis 0"),
    ((((2,), (2,)), (2, 2), 2), "axis 2 is out of range"),
    ((((2,), (2,)), (2, 2), 0, None, "bool"), "bool tensors are not supported"),
])
def test_pack_unsupported(args, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad_pack(*args))


def test_quantizer_gives_every_output_the_input_parameters():
    """A float SPLIT_V / UNPACK / PACK model quantized by tinyq: every part carries the whole's
    scale and zero point (the ops copy bytes), and the result is bit-exact with TFLM."""
    from tinyq.quantize import QuantizeConfig, quantize_graph

    rng = np.random.default_rng(0)
    b = GraphBuilder("float_split")
    x = b.input((1, 8, 6), "float32")
    parts = [b.activation((1, 8, 2), "float32"), b.activation((1, 8, 4), "float32")]
    b.op("split_v", [x, b.const(np.array([2, 4], np.int32)), b.const(np.array(2, np.int32))], parts, num_splits=2)
    r = b.activation((8, 4), "float32")
    b.op("reshape", [parts[1], b.const(np.array([8, 4], np.int32))], [r])
    steps = [b.activation((8,), "float32") for _ in range(4)]
    b.op("unpack", [r], steps, num=4, axis=1)
    stacked = b.activation((4, 8), "float32")
    b.op("pack", steps, [stacked], values_count=4, axis=0)
    calib = [np.stack([rng.normal(size=(8, 6)).astype(np.float32) * (6 - np.arange(6)) for _ in range(16)])]
    graph = quantize_graph(b.build([parts[0], stacked]), calib, QuantizeConfig()).graph
    quants = {(graph.tensors[t].quant.s, graph.tensors[t].quant.zp) for op in graph.operators for t in op.outputs}
    assert len(quants) == 1
    assert [op.version for op in graph.operators] == [2, 1, 2, 2]
    assert_bit_exact(graph, n_inputs=6, layers=True)
