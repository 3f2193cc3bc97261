"""GATHER, GATHER_ND and EMBEDDING_LOOKUP against TFLM: every axis and batch_dims (negative
too), index ranks 0 to 3, int8 and float32 data in the arena or in flash, constant indices
(the offline copy tables) and run-time ones (the range-checked kernels), out-of-range
indices where TFLM fails, and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from chosen_inputs import assert_bit_exact_on, assert_invoke_fails
from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _quant(rng):
    return dict(scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.choice([-128, 127, 0, int(rng.integers(-60, 60))])))


def _data(b, rng, shape, dtype="int8", const=False):
    """(tensor, its quantization as builder keywords)."""
    if dtype == "float32":
        if const:
            return b.const(rng.standard_normal(shape).astype(np.float32), "float32"), {}
        return b.input(shape, dtype="float32"), {}
    q = _quant(rng)
    if const:
        return b.const(rng.integers(-128, 128, size=shape), "int8", **q), q
    return b.input(shape, **q), q


def _gather_out_shape(shape, axis, idx_shape, batch_dims):
    axis %= len(shape)
    batch_dims = batch_dims + len(idx_shape) if batch_dims < 0 else batch_dims
    return (*shape[:axis], *idx_shape[batch_dims:], *shape[axis + 1:])


# (input shape, axis, index shape, batch_dims)
GATHER_CASES = [
    ((7,), 0, (), 0),                    # scalar index: one element
    ((7,), 0, (5,), 0),
    ((6, 5), 0, (3,), 0),                # rows
    ((6, 5), 1, (2, 4), 0),              # columns by a matrix of indices
    ((6, 5), -1, (4,), 0),               # negative axis
    ((2, 3, 4, 5), 2, (3,), 0),
    ((2, 3, 4, 5), -3, (2, 2), 0),
    ((3, 4, 5), 1, (3, 2), 1),           # batch_dims 1
    ((3, 4, 5), 2, (3, 6), 1),
    ((2, 3, 4, 5), 2, (2, 3, 4), 2),     # batch_dims 2
    ((2, 3, 4, 5), 3, (2, 3, 2), -1),    # negative batch_dims: index rank 3 - 1 = 2
    ((1, 1, 8, 1), 2, (8,), 0),          # size-1 dimensions, a permutation
    ((4, 3, 2, 2, 3), 4, (2,), 0),       # rank 5
]


def _add_gather(b, rng, shape, axis, idx_shape, batch_dims, dtype="int8", const_data=False, const_idx=True):
    axis_n = axis % len(shape)
    x, q = _data(b, rng, shape, dtype, const_data)
    values = rng.integers(0, shape[axis_n], size=idx_shape).astype(np.int32)
    idx = b.const(values, "int32") if const_idx else None
    out_shape = _gather_out_shape(shape, axis, idx_shape, batch_dims)
    y = b.activation(out_shape, dtype=dtype, name=f"gather{list(shape)}a{axis}i{list(idx_shape)}b{batch_dims}", **q)
    return x, idx, y


def test_gather_constant_indices_every_axis_and_batch_dims():
    rng = _rng("gather_const")
    b = GraphBuilder("gather_const")
    outs = []
    for case in GATHER_CASES:
        for dtype, const_data in (("int8", False), ("float32", False), ("int8", True)):
            x, idx, y = _add_gather(b, rng, *case, dtype=dtype, const_data=const_data)
            b.op("gather", [x, idx], [y], axis=case[1], batch_dims=case[3])
            outs.append(y)
    graph = b.build(outs)
    assert {op.kernel.name for op in bound_ops(graph)} == {"remap"}
    assert_bit_exact(graph, n_inputs=6)


def test_gather_run_time_positions():
    """Positions as a graph input: random valid values per record, through the range-checked kernel."""
    rng = _rng("gather_runtime")
    for shape, axis, idx_shape, batch_dims in GATHER_CASES:
        for dtype, const_data in (("int8", False), ("int8", True), ("float32", False)):
            b = GraphBuilder("gather_rt")
            x, _, y = _add_gather(b, rng, shape, axis, idx_shape, batch_dims, dtype, const_data, const_idx=False)
            idx = b.input(idx_shape, dtype="int32")
            b.op("gather", [x, idx], [y], axis=axis, batch_dims=batch_dims)
            graph = b.build([y])
            assert [op.kernel.name for op in bound_ops(graph)] == ["gather"]
            axis_size = shape[axis % len(shape)]
            records = []
            for _ in range(4):
                record = [] if const_data else [_random_data(rng, shape, dtype)]
                record.append(rng.integers(0, axis_size, size=idx_shape).astype(np.int32))
                records.append(record)
            records[0][-1][...] = axis_size - 1  # the last row everywhere
            assert_bit_exact_on(graph, records)


def _random_data(rng, shape, dtype):
    if dtype == "float32":
        return rng.standard_normal(shape).astype(np.float32)
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def test_gather_run_time_position_out_of_range_fails_invoke():
    """TFLM only DCHECKs the range (it would read outside its input): tinyq's invoke fails instead."""
    b = GraphBuilder("gather_oob")
    x = b.input((4, 3), scale=0.1, zero_point=0)
    idx = b.input((2,), dtype="int32")
    y = b.activation((2, 3), scale=0.1, zero_point=0)
    b.op("gather", [x, idx], [y], axis=0)
    graph = b.build([y])
    data = np.arange(12, dtype=np.int8).reshape(4, 3)
    for bad in (4, -1, 2**31 - 1, -(2**31)):
        assert_invoke_fails(graph, [data, np.array([0, bad], np.int32)], tflm_fails=False)
    assert_bit_exact_on(graph, [[data, np.array([3, 0], np.int32)]])


# (params shape, indices shape): the last index dimension is the depth
GATHER_ND_CASES = [
    ((6,), (4, 1)),
    ((4, 5), (3, 2)),          # single elements
    ((4, 5), (3, 1)),          # rows
    ((2, 3, 4), (2, 2, 2)),    # 2-D grid of row slices
    ((2, 3, 4, 5), (3, 3)),
    ((2, 3, 4, 5), (2, 4)),    # depth = rank: scalars
    ((3, 2, 2, 2, 2, 3), (2, 5)),  # depth 5, TFLM's limit
    ((5, 4), (1,)),            # a single slice
]


def _nd_indices(rng, shape, idx_shape):
    depth = idx_shape[-1]
    cols = [rng.integers(0, shape[j], size=idx_shape[:-1]) for j in range(depth)]
    return np.stack(cols, axis=-1).astype(np.int32) if cols else np.zeros(idx_shape, np.int32)


def test_gather_nd_constant_and_run_time_indices():
    rng = _rng("gather_nd")
    b = GraphBuilder("gather_nd_const")
    outs = []
    for shape, idx_shape in GATHER_ND_CASES:
        for dtype, const_data in (("int8", False), ("float32", False), ("int8", True)):
            x, q = _data(b, rng, shape, dtype, const_data)
            idx = b.const(_nd_indices(rng, shape, idx_shape), "int32")
            y = b.activation((*idx_shape[:-1], *shape[idx_shape[-1]:]), dtype=dtype, **q)
            b.op("gather_nd", [x, idx], [y])
            outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=6)
    for shape, idx_shape in GATHER_ND_CASES:
        b = GraphBuilder("gather_nd_rt")
        x = b.input(shape, scale=0.05, zero_point=-128)
        idx = b.input(idx_shape, dtype="int32")
        y = b.activation((*idx_shape[:-1], *shape[idx_shape[-1]:]), scale=0.05, zero_point=-128)
        b.op("gather_nd", [x, idx], [y])
        graph = b.build([y])
        records = [[_random_data(rng, shape, "int8"), _nd_indices(rng, shape, idx_shape)] for _ in range(4)]
        assert_bit_exact_on(graph, records)


def test_gather_nd_checks_the_flat_position_as_tflm():
    """TFLM checks where a slice starts in the flattened params, not each index: [0, 5] on a 3x4
    input is element 5 (row 1); what falls outside fails in both, including positions whose int
    arithmetic wraps."""
    b = GraphBuilder("gather_nd_flat")
    x = b.input((3, 4), scale=0.1, zero_point=0)
    idx = b.input((2, 2), dtype="int32")
    y = b.activation((2,), scale=0.1, zero_point=0)
    b.op("gather_nd", [x, idx], [y])
    graph = b.build([y])
    data = np.arange(12, dtype=np.int8).reshape(3, 4)
    assert_bit_exact_on(graph, [[data, np.array([[0, 5], [2, -3]], np.int32)],
                                [data, np.array([[2**30, 1], [0, 0]], np.int32)]])  # 4 * 2^30 wraps to 0
    for bad in ([3, 0], [0, 12], [-1, 3], [2**29, 0]):
        assert_invoke_fails(graph, [data, np.array([[0, 0], bad], np.int32)])


def test_embedding_lookup():
    rng = _rng("embedding")
    b = GraphBuilder("embedding")
    outs = []
    lookups = b.input((5,), dtype="int32")
    for table_shape in ((6, 4), (9, 2, 3)):
        for kind in ("int8", "float32", "hybrid"):
            for const_table in (False, True):
                if kind == "float32":
                    table, _ = _data(b, rng, table_shape, "float32", const_table)
                else:
                    q = dict(scale=float(rng.uniform(0.01, 0.2)), zero_point=0) if kind == "hybrid" else _quant(rng)
                    table = b.const(rng.integers(-128, 128, size=table_shape), "int8", **q) if const_table \
                        else b.input(table_shape, **q)
                out_type = "int8" if kind == "int8" else "float32"
                y = b.activation((5, *table_shape[1:]), dtype=out_type,
                                 **(q if kind == "int8" else {}), name=f"emb{kind}{list(table_shape)}{const_table}")
                b.op("embedding_lookup", [lookups, table], [y])
                outs.append(y)
                # constant lookups too
                y = b.activation((3, *table_shape[1:]), dtype=out_type, **(q if kind == "int8" else {}))
                b.op("embedding_lookup", [b.const(np.array([5, 0, 2], np.int32), "int32"), table], [y])
                outs.append(y)
    graph = b.build(outs)
    records = []
    for r in range(5):
        record = []
        for i in graph.inputs:
            t = graph.tensors[i]
            if i == lookups:
                record.append(rng.integers(0, 6, size=5).astype(np.int32))
            else:
                record.append(_random_data(rng, t.shape, t.dtype))
        records.append(record)
    assert_bit_exact_on(graph, records)


def test_embedding_lookup_row_out_of_range_fails_like_tflm():
    b = GraphBuilder("embedding_oob")
    lookups = b.input((2,), dtype="int32")
    table = b.const(np.arange(12).reshape(4, 3), "int8", scale=0.1, zero_point=0)
    y = b.activation((2, 3), scale=0.1, zero_point=0)
    b.op("embedding_lookup", [lookups, table], [y])
    yf = b.activation((2, 3), dtype="float32")
    b.op("embedding_lookup", [lookups, table], [yf])
    graph = b.build([y, yf])
    for bad in (4, -1):
        assert_invoke_fails(graph, [np.array([1, bad], np.int32)])


def test_verify_draws_run_time_indices_the_ops_accept():
    """tinyq verify's own records (make_inputs): run-time indices into a dimension smaller than its usual
    [0, 4) range stay inside it, per component for GATHER_ND (ai-edge-quantizer's
    single_gather_nd_with_const_params.tflite: a 2x4 table, TFLM and the generated code failed the first
    record and verify stopped with 'generated model exited with 4')."""
    b = GraphBuilder("verify_indices")
    table = b.const(np.arange(8).reshape(2, 4), "int8", scale=0.1, zero_point=0)
    nd = b.input((3, 2), dtype="int32")
    y_nd = b.activation((3,), scale=0.1, zero_point=0)
    b.op("gather_nd", [table, nd], [y_nd])
    rows = b.input((5,), dtype="int32")
    y_rows = b.activation((5, 4), scale=0.1, zero_point=0)
    b.op("embedding_lookup", [rows, table], [y_rows])
    cols = b.input((2, 3), dtype="int32")
    y_cols = b.activation((2, 2, 3), dtype="float32")
    b.op("gather", [b.const(np.ones((2, 3), np.float32), "float32"), cols], [y_cols], axis=-1)
    assert_bit_exact(b.build([y_nd, y_rows, y_cols]), n_inputs=30)


def test_run_time_indices_on_targets():
    """The range-checked kernels on the Arm targets: positions computed in the graph (a
    DYNAMIC_UPDATE_SLICE of constant indices over zeros, at a run-time start), so every
    random record is valid."""
    b = GraphBuilder("indices_targets")
    x = b.input((5, 4, 3), scale=0.07, zero_point=-128)
    start = b.input((1,), dtype="int32")
    zeros = b.activation((6,), dtype="int32")
    b.op("zeros_like", [b.input((6,), dtype="int32")], [zeros])
    positions = b.activation((6,), dtype="int32")
    b.op("dynamic_update_slice", [zeros, b.const(np.array([3, 1, 2], np.int32), "int32"), start], [positions])
    outs = [b.activation((5, 6, 3), scale=0.07, zero_point=-128, name="gather_axis1")]
    b.op("gather", [x, positions], [outs[-1]], axis=1)
    outs.append(b.activation((6, 4, 3), scale=0.07, zero_point=-128, name="embedding"))
    b.op("embedding_lookup", [positions, x], [outs[-1]])
    table = b.const(np.arange(-60, 60).reshape(5, 24), "int8", scale=0.0371, zero_point=0)
    outs.append(b.activation((6, 24), dtype="float32", name="embedding_hybrid"))
    b.op("embedding_lookup", [positions, table], [outs[-1]])
    nd = b.activation((3, 2), dtype="int32")
    b.op("reshape", [positions], [nd], new_shape=(3, 2))
    outs.append(b.activation((3, 3), scale=0.07, zero_point=-128, name="gather_nd"))
    b.op("gather_nd", [x, nd], [outs[-1]])
    graph = b.build(outs)
    kernels = [op.kernel.name for op in bound_ops(graph)]
    assert {"gather", "gather_nd", "embedding_lookup_hybrid"} <= set(kernels)
    assert_bit_exact_on_targets(graph, n_inputs=6)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _single_gather(shape=(4, 3), idx=np.array([1, 2], np.int32), idx_dtype="int32", dtype="int8", axis=0,
                   batch_dims=0, out_shape=None, const_idx=True):
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, **({"scale": 0.1, "zero_point": 0} if dtype != "float32" else {}))
    i = b.const(idx, idx_dtype) if const_idx else b.input(np.shape(idx), dtype=idx_dtype)
    y = b.activation(out_shape or _gather_out_shape(shape, axis, np.shape(idx), batch_dims), dtype=dtype,
                     **({"scale": 0.1, "zero_point": 0} if dtype != "float32" else {}))
    b.op("gather", [x, i], [y], axis=axis, batch_dims=batch_dims)
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(idx_dtype="int64"), "positions are int64; TFLM's kernel takes int32"),
    (dict(idx_dtype="int64", const_idx=False), "positions are int64"),
    (dict(dtype="int16"), "input is int16; TFLM's kernel takes int8 or float32"),
    (dict(axis=2, out_shape=(2,)), "axis 2 is outside the input's rank 2"),
    (dict(axis=0, batch_dims=1, idx=np.zeros((4, 1), np.int32), out_shape=(4, 1, 3)), "batch_dims 1 with axis 0"),
    (dict(axis=1, batch_dims=1, idx=np.zeros((3, 1), np.int32), out_shape=(4, 1)), "differ in their first 1"),
    (dict(out_shape=(3, 3)), r"output \[3, 3\] is not \[2, 3\]"),
    (dict(idx=np.array([0, 4], np.int32)), r"constant index 4 is outside \[0, 4\)"),
    (dict(idx=np.array([-1], np.int32)), r"constant index -1 is outside"),
])
def test_gather_refusals(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_single_gather(**kwargs))


def test_gather_nd_and_embedding_refusals():
    def nd(shape, idx, out_shape, dtype="int32"):
        b = GraphBuilder("bad")
        x = b.input(shape, scale=0.1, zero_point=0)
        y = b.activation(out_shape, scale=0.1, zero_point=0)
        b.op("gather_nd", [x, b.const(idx, dtype)], [y])
        return b.build([y])

    with pytest.raises(TinyqError, match="index depth 3 is above the params' rank 2"):
        _compile(nd((3, 4), np.zeros((1, 3), np.int32), (1,)))
    with pytest.raises(TinyqError, match="indices are int64"):
        _compile(nd((3, 4), np.zeros((1, 2), np.int64), (1,), "int64"))
    with pytest.raises(TinyqError, match=r"constant indices \[3, 0\] fall outside params"):
        _compile(nd((3, 4), np.array([[3, 0]], np.int32), (1,)))

    def emb(table_zp=0, out_dtype="float32", lookups=np.array([0], np.int32)):
        b = GraphBuilder("bad")
        t = b.input((4, 3), scale=0.1, zero_point=table_zp)
        y = b.activation((len(lookups), 3), dtype=out_dtype)
        b.op("embedding_lookup", [b.const(lookups, "int32"), t], [y])
        return b.build([y])

    with pytest.raises(TinyqError, match="needs one scale and zero point 0"):
        _compile(emb(table_zp=3))
    with pytest.raises(TinyqError, match="int8 table -> int16 output"):
        _compile(emb(out_dtype="int16"))
    with pytest.raises(TinyqError, match=r"constant index 7 is outside \[0, 4\) of the table's rows"):
        _compile(emb(lookups=np.array([7], np.int32)))


def test_consecutive_rows_are_one_run_the_planner_may_view():
    """A gather of consecutive rows (or one row) copies one contiguous run of its input: one copy,
    offered to the planner as a view at that offset; bit-exact whether or not it is taken."""
    b = GraphBuilder("gather_run")
    q = dict(scale=0.1, zero_point=-7)
    x = b.input((6, 5, 4), **q)
    t = b.activation((6, 5, 4), **q)
    b.op("add", [x, x], [t], fused_activation_function="NONE")
    rows = b.activation((3, 5, 4), **q)
    b.op("gather", [t, b.const(np.array([2, 3, 4], np.int32))], [rows], axis=0)
    one = b.activation((1, 5, 4), **q)
    b.op("embedding_lookup", [b.const(np.array([1], np.int32)), t], [one])
    y = b.activation((3, 5, 4), **q)
    b.op("add", [rows, rows], [y], fused_activation_function="NONE")
    z = b.activation((1, 5, 4), **q)
    b.op("add", [one, one], [z], fused_activation_function="NONE")
    graph = b.build([y, z])
    runs = [op.lowered for op in bound_ops(graph) if op.lowered.kernel == "remap"]
    assert [k.placements[0].offset for k in runs] == [2 * 20, 20]
    assert all(k.params.rows * k.params.cols * k.params.batches == 1 for k in runs)  # one memcpy each
    assert_bit_exact(graph, n_inputs=6)
    # with one reader the planner takes the offer: the rows are the input's bytes from row 2 on
    b = GraphBuilder("gather_run_view")
    x = b.input((6, 5, 4), **q)
    t = b.activation((6, 5, 4), **q)
    b.op("add", [x, x], [t], fused_activation_function="NONE")
    rows = b.activation((3, 5, 4), **q)
    b.op("gather", [t, b.const(np.array([2, 3, 4], np.int32))], [rows], axis=0)
    y = b.activation((3, 5, 4), **q)
    b.op("add", [rows, rows], [y], fused_activation_function="NONE")
    compiled = assert_bit_exact(b.build([y]), n_inputs=6)
    assert any(a.tensor == rows and a.base == t and a.kind == "view" and a.shift == -40 for a in compiled.plan.aliases)
