"""CAST, FILL, ZEROS_LIKE, SHAPE, BROADCAST_ARGS and DYNAMIC_UPDATE_SLICE against TFLM: every
type pair CAST converts (out-of-range floats, NaN and infinities included), constant and run-time
values, shapes and start indices (int32 and int64, clamped), the update written in place over a
dying operand; and the variants tinyq refuses."""

import zlib
from dataclasses import replace

import numpy as np
import pytest

from chosen_inputs import assert_bit_exact_on, assert_invoke_fails
from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ir import DTYPES
from tinyq.passes.fold import fold_constants
from tinyq.tflite.builder import GraphBuilder

CODES = {"float32": 0, "int32": 2, "int64": 4, "bool": 6, "int16": 7, "int8": 9, "uint8": 3}
CAST_FROM = ("int8", "int16", "int32", "float32", "bool")
CAST_TO = ("int8", "int16", "int32", "float32")


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _values(rng, dtype, shape, edges=True):
    """Random values of `dtype` over its whole range; floats with edges (NaN, +-inf, huge, halves).
    (Constants get no NaN/inf: the generated C spells float constants as decimal literals.)"""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "float32":
        v = (rng.standard_normal(shape) * 10.0 ** rng.integers(0, 11, size=shape)).astype(np.float32)
        flat = v.reshape(-1)
        if not edges:
            return v
        edges = np.array([np.nan, np.inf, -np.inf, 127.5, -128.5, 2**31, -(2**31) - 256, 32767.9, -0.7], np.float32)
        flat[:min(flat.size, edges.size)] = edges[:flat.size]
        return v
    info = np.iinfo(DTYPES[dtype][0])
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=DTYPES[dtype][0])


def test_cast_every_type_pair():
    rng = _rng("cast")
    b = GraphBuilder("cast")
    outs, shape = [], (3, 7)
    for src in CAST_FROM:
        x = b.input(shape, dtype=src)
        for dst in CAST_TO:
            outs.append(b.activation(shape, dtype=dst, name=f"{src}_to_{dst}"))
            b.op("cast", [x], [outs[-1]], in_data_type=CODES[src], out_data_type=CODES[dst])
    graph = b.build(outs)
    records = [[_values(rng, graph.tensors[i].dtype, shape) for i in graph.inputs] for _ in range(6)]
    assert_bit_exact_on(graph, records)


def test_cast_in_place_between_same_size_types():
    """int8 -> int32 -> float32 -> int32: the last two take their input's storage (same element size)."""
    b = GraphBuilder("cast_chain")
    x = b.input((4, 9), scale=0.1, zero_point=0)
    chain, previous = [("int8", "int32"), ("int32", "float32"), ("float32", "int32")], x
    for src, dst in chain:
        t = b.activation((4, 9), dtype=dst)
        b.op("cast", [previous], [t], in_data_type=CODES[src], out_data_type=CODES[dst])
        previous = t
    compiled = assert_bit_exact(b.build([previous]), n_inputs=6)
    assert sum(a.kind == "in-place" for a in compiled.plan.aliases) == 2, compiled.plan.aliases


def test_cast_model_and_folding_match_tflm():
    """qmath.tflm_cast (the model constant folding uses) gives TFLM's values for every pair, and a
    folded CAST of a constant holds them."""
    from tinyq.golden import tflm_run
    from tinyq.passes.fold import FOLDERS
    from tinyq.tflite.writer import write_model

    rng = _rng("cast_model")
    for src in CAST_FROM:
        for dst in CAST_TO:
            values = _values(rng, src, (40,))
            b = GraphBuilder("cast_one")
            x = b.input((40,), dtype=src)
            y = b.activation((40,), dtype=dst)
            b.op("cast", [x], [y], in_data_type=CODES[src], out_data_type=CODES[dst])
            graph = b.build([y])
            expected = qmath.tflm_cast(values, DTYPES[dst][0])
            assert tflm_run(write_model(graph), [[values]])[0][0].tobytes() == expected.tobytes(), (src, dst)
            constant = replace(graph.tensors[x], data=np.asarray(values, DTYPES[src][0]))
            folded = FOLDERS["cast"](graph.operators[0], [constant], graph.tensors[y])
            assert np.asarray(folded, DTYPES[dst][0]).tobytes() == expected.tobytes(), (src, dst)


def test_fill_and_zeros_like():
    rng = _rng("fill")
    b = GraphBuilder("fill")
    outs = []
    for dtype in ("int8", "int32", "float32"):
        q = dict(scale=0.05, zero_point=-128) if dtype == "int8" else {}
        value = b.input((), dtype=dtype, **q)  # a run-time scalar
        for shape, dims_dtype in (((3, 5), "int32"), ((2, 1, 4), "int64"), ((7,), "int8"), ((2, 2, 2, 2), "int16")):
            outs.append(b.activation(shape, dtype=dtype, **q, name=f"fill_{dtype}{list(shape)}"))
            b.op("fill", [b.const(np.array(shape), dims_dtype), value], [outs[-1]])
        constant = b.const(_values(rng, dtype, ()), dtype, **q)
        outs.append(b.activation((4, 3), dtype=dtype, **q, name=f"fill_const_{dtype}"))
        b.op("fill", [b.const(np.array([4, 3], np.int32), "int32"), constant], [outs[-1]])
    for dtype in ("int8", "int32", "int64", "float32"):
        q = dict(scale=0.05, zero_point=77) if dtype == "int8" else {}  # raw 0, not the zero point
        x = b.input((2, 3, 4), dtype=dtype, **q)
        outs.append(b.activation((2, 3, 4), dtype=dtype, **q, name=f"zeros_{dtype}"))
        b.op("zeros_like", [x], [outs[-1]])
    graph = b.build(outs)
    records = [[_values(rng, graph.tensors[i].dtype, graph.tensors[i].shape) for i in graph.inputs] for _ in range(5)]
    assert_bit_exact_on(graph, records)


def test_shape_when_not_folded():
    """SHAPE as a graph output (folding keeps graph outputs), and of an input whose dimensions are
    dynamic in the file: TFLM reports the file's dims, and so does tinyq."""
    b = GraphBuilder("shape")
    x = b.input((3, 4, 5), scale=0.1, zero_point=0)
    s = b.activation((3,), dtype="int32")
    b.op("shape", [x], [s], out_type=CODES["int32"])
    z = b.activation((3, 4, 5), scale=0.1, zero_point=0)
    b.op("zeros_like", [x], [z])
    graph = b.build([s, z])
    graph = replace(graph, tensors=tuple(replace(t, shape_signature=(-1, 4, -1)) if t.index == x else t
                                         for t in graph.tensors))
    assert [op.kernel.name for op in bound_ops(graph)] == ["copy_const", "zeros_like"]
    assert_bit_exact(graph, n_inputs=3)


def test_broadcast_args():
    rng = _rng("broadcast_args")
    b = GraphBuilder("broadcast_args")
    outs = []
    cases = [(4, 4), (2, 4), (4, 1), (1, 3)]
    for dtype in ("int32", "int64"):
        for la, lb in cases:
            a = b.input((la,), dtype=dtype)
            c = b.input((lb,), dtype=dtype)
            outs.append(b.activation((max(la, lb),), dtype=dtype, name=f"ba_{dtype}_{la}_{lb}"))
            b.op("broadcast_args", [a, c], [outs[-1]])
        # one constant side, and both constant (a graph output, so it is not folded away)
        a = b.input((3,), dtype=dtype)
        outs.append(b.activation((3,), dtype=dtype, name=f"ba_{dtype}_const_side"))
        b.op("broadcast_args", [a, b.const(np.array([1, 5, 1]), dtype)], [outs[-1]])
        outs.append(b.activation((4,), dtype=dtype, name=f"ba_{dtype}_consts"))
        b.op("broadcast_args", [b.const(np.array([2, 1, 6]), dtype), b.const(np.array([7, 1, 3, 1]), dtype)],
             [outs[-1]])
    graph = b.build(outs)
    kernels = [op.kernel.name for op in bound_ops(graph)]
    assert kernels.count("copy_const") == 2 and "broadcast_args" in kernels

    def shape_pair(la, lb):
        """Two compatible shapes: suffixes of one shape, with some dimensions replaced by 1."""
        full = rng.integers(1, 9, size=max(la, lb))
        a = np.where(rng.random(la) < 0.3, 1, full[-la:])
        c = np.where(rng.random(lb) < 0.3, 1, full[-lb:])
        return a, c

    records = []
    for _ in range(6):
        record = []
        for dtype in ("int32", "int64"):
            for la, lb in cases:
                record += [v.astype(DTYPES[dtype][0]) for v in shape_pair(la, lb)]
            record.append(rng.choice([1, 5], size=3).astype(DTYPES[dtype][0]))
        records.append(record)
    assert_bit_exact_on(graph, records)


def test_broadcast_args_int64_keeps_the_low_bits():
    """TFLM holds each dimension in an int: 2^32 + 3 broadcasts as 3."""
    b = GraphBuilder("broadcast_wide")
    a, c = b.input((3,), dtype="int64"), b.input((2,), dtype="int64")
    y = b.activation((3,), dtype="int64")
    b.op("broadcast_args", [a, c], [y])
    assert_bit_exact_on(b.build([y]), [[np.array([2**32 + 3, 1, 2**33 + 1], np.int64), np.array([1, 3], np.int64)],
                                       [np.array([5, 2**40 + 2, 1], np.int64), np.array([2, 7], np.int64)]])


def test_broadcast_args_incompatible_shapes_fail_invoke():
    """TFLM's BroadcastArgs CHECK aborts the whole process on these (it is not run here);
    tinyq's invoke returns an error."""
    b = GraphBuilder("broadcast_bad")
    a, c = b.input((2,), dtype="int32"), b.input((2,), dtype="int32")
    y = b.activation((2,), dtype="int32")
    b.op("broadcast_args", [a, c], [y])
    assert_invoke_fails(b.build([y]), [np.array([3, 4], np.int32), np.array([3, 5], np.int32)], tflm_fails=False)
    with pytest.raises(TinyqError, match="do not broadcast"):
        b = GraphBuilder("broadcast_bad_const")
        y = b.activation((2,), dtype="int32")
        b.op("broadcast_args", [b.const(np.array([3, 4], np.int32)), b.const(np.array([3, 5], np.int32))], [y])
        compile_graph(b.build([y]), get_board("host"))


# (operand shape, update shape, starts)
DUS_CASES = [
    ((8,), (3,), (2,)),
    ((8,), (3,), (7,)),                 # clamped to 5
    ((4, 6), (2, 3), (-5, 4)),          # clamped to (0, 3)
    ((4, 6), (4, 6), (1, 1)),           # the whole operand: the output is the update
    ((2, 3, 4, 5), (1, 2, 2, 5), (1, 1, 2, 0)),
    ((2, 3, 4, 5), (2, 1, 4, 1), (0, 2, 0, 4)),
    ((2, 2, 3, 2, 2, 3), (1, 2, 1, 2, 1, 2), (1, 0, 2, 0, 1, 1)),  # rank 6, TFLM's limit
    ((5, 1, 4), (1, 1, 4), (2**40, 0, -(2**40))),  # int64 starts far out of range
]


def test_dynamic_update_slice_constant_starts():
    rng = _rng("dus_const")
    b = GraphBuilder("dus_const")
    outs = []
    for dtype in ("int8", "int16", "int32", "float32"):
        q = dict(scale=0.1, zero_point=-128) if dtype == "int8" else {}
        for i, (shape, ushape, starts) in enumerate(DUS_CASES):
            index_dtype = "int64" if max(abs(s) for s in starts) >= 2**31 or i % 2 else "int32"
            x = b.const(_values(rng, dtype, shape, edges=False), dtype, **q) if i == 1 else b.input(shape, dtype=dtype, **q)
            u = b.input(ushape, dtype=dtype, **q)
            outs.append(b.activation(shape, dtype=dtype, **q, name=f"dus_{dtype}_{i}"))
            b.op("dynamic_update_slice", [x, u, b.const(np.array(starts), index_dtype)], [outs[-1]])
    graph = b.build(outs)
    records = [[_values(rng, graph.tensors[t].dtype, graph.tensors[t].shape) for t in graph.inputs] for _ in range(4)]
    assert_bit_exact_on(graph, records)


def test_dynamic_update_slice_run_time_starts_in_place():
    """Start indices from the graph (random int32/int64 values, clamped by the kernel) and an
    operand produced by the previous op: the output takes the operand's storage."""
    rng = _rng("dus_runtime")
    b = GraphBuilder("dus_runtime")
    outs = []
    for index_dtype in ("int32", "int64"):
        for shape, ushape, _ in DUS_CASES[:7]:
            x = b.input(shape, scale=0.1, zero_point=3)
            cache = b.activation(shape, scale=0.1, zero_point=3)
            b.op("dynamic_update_slice", [x, b.input(ushape, scale=0.1, zero_point=3),
                                          b.const(np.zeros(len(shape)), index_dtype)], [cache])
            outs.append(b.activation(shape, scale=0.1, zero_point=3, name=f"dus_rt_{index_dtype}{list(shape)}"))
            b.op("dynamic_update_slice", [cache, b.input(ushape, scale=0.1, zero_point=3),
                                          b.input((len(shape),), dtype=index_dtype)], [outs[-1]])
    graph = b.build(outs)
    compiled = assert_bit_exact(graph, n_inputs=8)  # make_inputs: int32/int64 extremes, then random values
    in_place = [a for a in compiled.plan.aliases if a.kind == "in-place"]
    assert len(in_place) >= 7, compiled.plan.aliases
    records = []
    for _ in range(6):
        record = []
        for t in graph.inputs:
            tensor = graph.tensors[t]
            if tensor.dtype in ("int32", "int64"):  # small starts, to land inside and near the edges
                record.append(rng.integers(-2, 8, size=tensor.shape).astype(DTYPES[tensor.dtype][0]))
            else:
                record.append(_values(rng, tensor.dtype, tensor.shape))
        records.append(record)
    assert_bit_exact_on(graph, records)


def test_on_targets():
    """One graph with every kernel of this file for the Arm targets; CAST's out-of-range floats come
    from int32 values cast to float32 first."""
    b = GraphBuilder("shape_fill_cast_targets")
    wide = b.input((5, 6), dtype="int32")
    as_float = b.activation((5, 6), dtype="float32")
    b.op("cast", [wide], [as_float], in_data_type=CODES["int32"], out_data_type=CODES["float32"])
    outs = []
    for dst in CAST_TO:
        outs.append(b.activation((5, 6), dtype=dst, name=f"float_to_{dst}"))
        b.op("cast", [as_float], [outs[-1]], in_data_type=CODES["float32"], out_data_type=CODES[dst])
    x8 = b.input((5, 6), scale=0.1, zero_point=-20)
    for dst in ("int16", "int32", "float32"):
        outs.append(b.activation((5, 6), dtype=dst, name=f"int8_to_{dst}"))
        b.op("cast", [x8], [outs[-1]], in_data_type=CODES["int8"], out_data_type=CODES[dst])
    value = b.activation((), dtype="int32")  # a run-time scalar (graph inputs here are never scalars)
    b.op("reshape", [b.input((1,), dtype="int32")], [value], new_shape=())
    outs.append(b.activation((3, 4), dtype="int32", name="fill"))
    b.op("fill", [b.const(np.array([3, 4], np.int32)), value], [outs[-1]])
    outs.append(b.activation((5, 6), scale=0.1, zero_point=-20, name="zeros"))
    b.op("zeros_like", [x8], [outs[-1]])
    outs.append(b.activation((2,), dtype="int32", name="shape"))
    b.op("shape", [x8], [outs[-1]], out_type=CODES["int32"])
    outs.append(b.activation((5, 6), scale=0.1, zero_point=-20, name="dus"))
    b.op("dynamic_update_slice", [x8, b.input((2, 3), scale=0.1, zero_point=-20), b.input((2,), dtype="int64")],
         [outs[-1]])
    shape_a = b.activation((2,), dtype="int32")
    b.op("shape", [x8], [shape_a], out_type=CODES["int32"])
    ones = b.activation((3,), dtype="int32")
    b.op("fill", [b.const(np.array([3], np.int32)), b.const(np.array(1, np.int32))], [ones])
    outs.append(b.activation((3,), dtype="int32", name="broadcast_args"))
    b.op("broadcast_args", [shape_a, ones], [outs[-1]])
    assert_bit_exact_on_targets(b.build(outs), n_inputs=6)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _cast(src, dst):
    b = GraphBuilder("bad")
    x = b.input((4,), dtype=src)
    y = b.activation((4,), dtype=dst)
    b.op("cast", [x], [y], in_data_type=CODES[src], out_data_type=CODES[dst])
    return b.build([y])


def test_refusals():
    with pytest.raises(TinyqError, match="casting to bool: TFLM's CAST writes"):
        _compile(_cast("int8", "bool"))
    with pytest.raises(TinyqError, match="casting to int64"):
        _compile(_cast("int32", "int64"))
    with pytest.raises(TinyqError, match="casting from int64"):
        _compile(_cast("int64", "int32"))

    b = GraphBuilder("bad")
    y = b.activation((3, 4), dtype="int32")
    b.op("fill", [b.input((2,), dtype="int32"), b.const(np.array(1, np.int32))], [y])
    with pytest.raises(TinyqError, match="dims must be a constant tensor"):
        _compile(b.build([y]))
    b = GraphBuilder("bad")
    y = b.activation((3, 4), dtype="int16")
    b.op("fill", [b.const(np.array([3, 4], np.int32)), b.const(np.array(1, np.int16))], [y])
    with pytest.raises(TinyqError, match="int16 value into int16: TFLM fills int8, int32 or float32"):
        _compile(b.build([y]))
    b = GraphBuilder("bad")
    y = b.activation((3, 4), dtype="int32")
    b.op("fill", [b.const(np.array([4, 3], np.int32)), b.const(np.array(1, np.int32))], [y])
    with pytest.raises(TinyqError, match=r"dims \[4, 3\] are not the output's shape"):
        _compile(b.build([y]))

    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype="int16", scale=0.1, zero_point=0)
    y = b.activation((2, 3), dtype="int16", scale=0.1, zero_point=0)
    b.op("zeros_like", [x], [y])
    with pytest.raises(TinyqError, match="TFLM's ZEROS_LIKE takes int8, int32, int64 or float32"):
        _compile(b.build([y]))

    b = GraphBuilder("bad")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    y = b.activation((2,), dtype="int64")
    z = b.activation((2, 3), scale=0.1, zero_point=0)
    b.op("shape", [x], [y], out_type=CODES["int64"])
    b.op("zeros_like", [x], [z])
    with pytest.raises(TinyqError, match="TFLM's SHAPE writes int32 only"):
        _compile(b.build([y, z]))

    def dus(shape, ushape, starts, dtype="int8", index_dtype="int32"):
        b = GraphBuilder("bad")
        q = dict(scale=0.1, zero_point=0) if dtype in ("int8", "int16") else {}
        x = b.input(shape, dtype=dtype, **q)
        y = b.activation(shape, dtype=dtype, **q)
        b.op("dynamic_update_slice", [x, b.input(ushape, dtype=dtype, **q), b.const(np.array(starts), index_dtype)],
             [y])
        return b.build([y])

    with pytest.raises(TinyqError, match=r"update \[3, 1\] does not fit in operand \[2, 4\]"):
        _compile(dus((2, 4), (3, 1), (0, 0)))
    with pytest.raises(TinyqError, match="start indices are int16"):
        _compile(dus((2, 4), (1, 1), (0, 0), index_dtype="int16"))
    with pytest.raises(TinyqError, match="uint8"):
        _compile(dus((2, 4), (1, 1), (0, 0), dtype="uint8"))
    with pytest.raises(TinyqError, match="rank 7"):
        _compile(dus((1,) * 7, (1,) * 7, (0,) * 7))


def test_graph_outputs_computed_from_constants():
    """Folding keeps graph outputs, so a CAST of a constant and a resize of a constant image reach
    the kernels: the cast is computed offline and copied, the resize reads its image from flash."""
    b = GraphBuilder("constant_outputs")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    cast = b.activation((5,), dtype="int8")
    b.op("cast", [b.const(np.array([1.5, -300.2, 7e9, 3.0, -0.5], np.float32))], [cast],
         in_data_type=CODES["float32"], out_data_type=CODES["int8"])
    image = b.const(np.arange(-20, 28).reshape(2, 2, 4, 3), "int8", scale=0.1, zero_point=0)
    resized = b.activation((2, 3, 5, 3), scale=0.1, zero_point=0)
    b.op("resize_bilinear", [image, b.const(np.array([3, 5], np.int32))], [resized], half_pixel_centers=True)
    zeros = b.activation((2, 3), scale=0.1, zero_point=0)
    b.op("zeros_like", [x], [zeros])
    graph = b.build([cast, resized, zeros])
    assert [op.kernel.name for op in bound_ops(graph)] == ["copy_const", "resize_bilinear", "zeros_like"]
    assert_bit_exact(graph, n_inputs=2)
