"""DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND against TFLM:
block sizes 1 to 4, 3-D and 4-D tensors, paddings and crops, int8 and float32, inputs in
flash; and the variants tinyq refuses (TFLM's uninitialized padding value among them)."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _operand(b, rng, shape, dtype, const=False, zero_point=None):
    if dtype == "float32":
        return (b.const(rng.standard_normal(shape).astype(np.float32), "float32") if const
                else b.input(shape, dtype="float32")), {}
    q = dict(scale=float(rng.uniform(0.02, 0.2)),
             zero_point=int(rng.integers(-128, 128)) if zero_point is None else zero_point)
    return (b.const(rng.integers(-128, 128, size=shape), "int8", **q) if const else b.input(shape, **q)), q


D2S_CASES = [((1, 2, 3, 4), 2), ((2, 3, 2, 18), 3), ((1, 1, 1, 16), 4), ((2, 4, 5, 3), 1), ((3, 2, 2, 8), 2)]
S2D_CASES = [((1, 4, 6, 2), 2), ((2, 6, 3, 1), 3), ((1, 8, 8, 3), 4), ((2, 3, 5, 4), 1), ((1, 2, 2, 5), 2)]


def add_depth_space(b, rng, dtypes=("int8", "float32"), const_too=True):
    outs = []
    for dtype in dtypes:
        for const in (False, True) if const_too else (False,):
            for (n, h, w, d), bs in D2S_CASES:
                x, q = _operand(b, rng, (n, h, w, d), dtype, const)
                outs.append(b.activation((n, h * bs, w * bs, d // (bs * bs)), dtype=dtype, **q,
                                         name=f"d2s{bs}_{dtype}{const}"))
                b.op("depth_to_space", [x], [outs[-1]], block_size=bs)
            for (n, h, w, d), bs in S2D_CASES:
                x, q = _operand(b, rng, (n, h, w, d), dtype, const)
                outs.append(b.activation((n, h // bs, w // bs, d * bs * bs), dtype=dtype, **q,
                                         name=f"s2d{bs}_{dtype}{const}"))
                b.op("space_to_depth", [x], [outs[-1]], block_size=bs)
    return outs


def test_depth_to_space_and_space_to_depth():
    b = GraphBuilder("depth_space")
    graph = b.build(add_depth_space(b, _rng("depth_space")))
    assert {op.kernel.name for op in bound_ops(graph)} == {"remap", "view"}  # identities are views
    assert_bit_exact(graph, n_inputs=6)


def test_round_trip_restores_the_input():
    """SPACE_TO_DEPTH then DEPTH_TO_SPACE with one block size is the identity (checked in tinyq's
    output, not only against TFLM)."""
    b = GraphBuilder("round_trip")
    x = b.input((2, 6, 4, 3), scale=0.1, zero_point=-5)
    mid = b.activation((2, 3, 2, 12), scale=0.1, zero_point=-5)
    y = b.activation((2, 6, 4, 3), scale=0.1, zero_point=-5)
    b.op("space_to_depth", [x], [mid], block_size=2)
    b.op("depth_to_space", [mid], [y], block_size=2)
    from chosen_inputs import host_run
    data = np.random.default_rng(0).integers(-128, 128, size=(2, 6, 4, 3), dtype=np.int8)
    _, outputs = host_run(b.build([y]), [[data]])
    assert np.array_equal(outputs[0][0], data)


# (input shape, block, paddings as (top, bottom, left, right)); 3-D tensors have no width block or padding
S2B_CASES = [
    ((1, 4, 4, 3), (2, 2), (0, 0, 0, 0)),
    ((2, 6, 3, 2), (3, 1), (0, 0, 1, 0)),
    ((1, 5, 7, 1), (2, 3), (1, 0, 2, 0)),
    ((2, 3, 2, 4), (1, 1), (0, 0, 0, 0)),
    ((1, 4, 5), (2,), (0, 0)),
    ((2, 3, 2), (2,), (1, 0)),
]
B2S_CASES = [
    ((4, 2, 2, 3), (2, 2), (0, 0, 0, 0)),
    ((6, 3, 3, 2), (3, 1), (1, 2, 0, 0)),
    ((12, 2, 3, 1), (2, 3), (0, 1, 2, 1)),
    ((2, 3, 2, 4), (1, 1), (0, 0, 0, 0)),
    ((4, 3, 5), (2,), (1, 1)),
    ((3, 2, 2), (3,), (0, 2)),
]


def _pad_table(pads):
    return np.asarray(pads, np.int32).reshape(-1, 2)


def add_space_batch(b, rng, dtypes=("int8", "float32"), const_too=True):
    outs = []
    for dtype in dtypes:
        for const in (False, True) if const_too else (False,):
            for shape, block, pads in S2B_CASES:
                padded = any(pads)
                x, q = _operand(b, rng, shape, dtype, const, zero_point=0 if padded else None)
                spatial = [(d + pads[2 * i] + pads[2 * i + 1]) // k for i, (d, k) in enumerate(zip(shape[1:], block))]
                out_shape = (shape[0] * int(np.prod(block)), *spatial, shape[-1])
                outs.append(b.activation(out_shape, dtype=dtype, **q, name=f"s2b{list(shape)}{dtype}{const}"))
                b.op("space_to_batch_nd", [x, b.const(np.array(block, np.int32), "int32"),
                                           b.const(_pad_table(pads), "int32")], [outs[-1]])
            for shape, block, crops in B2S_CASES:
                x, q = _operand(b, rng, shape, dtype, const)
                spatial = [d * k - crops[2 * i] - crops[2 * i + 1] for i, (d, k) in enumerate(zip(shape[1:], block))]
                out_shape = (shape[0] // int(np.prod(block)), *spatial, shape[-1])
                outs.append(b.activation(out_shape, dtype=dtype, **q, name=f"b2s{list(shape)}{dtype}{const}"))
                b.op("batch_to_space_nd", [x, b.const(np.array(block, np.int32), "int32"),
                                           b.const(_pad_table(crops), "int32")], [outs[-1]])
    return outs


def test_space_to_batch_and_batch_to_space():
    b = GraphBuilder("space_batch")
    graph = b.build(add_space_batch(b, _rng("space_batch")))
    assert {op.kernel.name for op in bound_ops(graph)} == {"remap", "view"}  # identities are views
    assert_bit_exact(graph, n_inputs=6)


def test_dilated_convolution_pattern():
    """The converter's dilated-convolution pattern: SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND."""
    rng = _rng("dilated")
    b = GraphBuilder("dilated")
    x = b.input((1, 8, 8, 3), scale=0.05, zero_point=0)
    s2b = b.activation((4, 5, 5, 3), scale=0.05, zero_point=0)
    b.op("space_to_batch_nd", [x, b.const(np.array([2, 2], np.int32), "int32"),
                               b.const(np.array([[1, 1], [1, 1]], np.int32), "int32")], [s2b])
    conv = b.activation((4, 3, 3, 4), scale=0.1, zero_point=-3)
    w = b.const(rng.integers(-127, 128, size=(4, 3, 3, 3)), "int8", scale=[0.02] * 4, zero_point=0, axis=0)
    bias = b.const(rng.integers(-500, 500, size=4), "int32", scale=[0.001] * 4, zero_point=0)
    b.op("conv_2d", [s2b, w, bias], [conv], padding="VALID", stride_w=1, stride_h=1, dilation_w_factor=1,
         dilation_h_factor=1, fused_activation_function="NONE")
    y = b.activation((1, 6, 6, 4), scale=0.1, zero_point=-3)
    b.op("batch_to_space_nd", [conv, b.const(np.array([2, 2], np.int32), "int32"),
                               b.const(np.array([[0, 0], [0, 0]], np.int32), "int32")], [y])
    assert_bit_exact(b.build([y]), n_inputs=8)


def test_on_targets():
    rng = _rng("space_targets")
    b = GraphBuilder("space_targets")
    outs = add_depth_space(b, rng, ("int8",), const_too=False) + add_space_batch(b, rng, ("int8",), const_too=False)
    assert_bit_exact_on_targets(b.build(outs), n_inputs=4)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _s2b(shape, block, pads, out_shape, zero_point=0, dtype="int8", block_dtype="int32"):
    b = GraphBuilder("bad")
    q = dict(scale=0.1, zero_point=zero_point) if dtype in ("int8", "int16") else {}
    x = b.input(shape, dtype=dtype, **q)
    y = b.activation(out_shape, dtype=dtype, **q)
    b.op("space_to_batch_nd", [x, b.const(np.array(block), block_dtype), b.const(_pad_table(pads), block_dtype)], [y])
    return b.build([y])


@pytest.mark.parametrize("graph_args, message", [
    (((1, 3, 3, 2), (2, 2), (1, 0, 0, 1), (4, 2, 2, 2), 5), "padding an int8 output whose zero point is 5"),
    (((1, 4, 4, 2), (2, 2), (0, 0, 0, 0), (4, 2, 2, 2), 0, "int16"), "int16 -> int16"),
    (((1, 4, 4, 2), (2, 2), (0, 0, 0, 0), (4, 2, 2, 2), 0, "int8", "int64"), "block_shape is int64"),
    (((1, 4, 4, 2), (0, 2), (0, 0, 0, 0), (4, 2, 2, 2)), "block_shape .* must be positive"),
    (((1, 4, 4, 2), (2, 2), (0, 0, 0, 0), (4, 2, 3, 2)), "is not input .* padded and split"),
    (((4, 2), (2,), (0, 0), (8, 1)), "TFLM takes 3-D or 4-D"),
])
def test_space_to_batch_refusals(graph_args, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_s2b(*graph_args))


def test_other_refusals():
    def one(op, shape, out_shape, **options):
        b = GraphBuilder("bad")
        x = b.input(shape, scale=0.1, zero_point=0)
        y = b.activation(out_shape, scale=0.1, zero_point=0)
        b.op(op, [x], [y], **options)
        return b.build([y])

    with pytest.raises(TinyqError, match="block_size 0 must be at least 1"):
        _compile(one("space_to_depth", (1, 4, 4, 1), (1, 4, 4, 1), block_size=0))
    with pytest.raises(TinyqError, match="is not input .* with 2x2 blocks moved into depth"):
        _compile(one("space_to_depth", (1, 5, 4, 1), (1, 2, 2, 4), block_size=2))
    with pytest.raises(TinyqError, match="with depth moved into 2x2 blocks"):
        _compile(one("depth_to_space", (1, 2, 2, 6), (1, 4, 4, 1), block_size=2))
    with pytest.raises(TinyqError, match="TFLM takes 4-D tensors"):
        _compile(one("depth_to_space", (2, 2, 8), (4, 4, 2), block_size=2))
    b = GraphBuilder("bad")
    x = b.input((4, 2, 2, 1), scale=0.1, zero_point=0)
    y = b.activation((1, 4, 3, 1), scale=0.1, zero_point=0)
    b.op("batch_to_space_nd", [x, b.const(np.array([2, 2], np.int32), "int32"),
                               b.const(np.array([[0, 0], [0, 0]], np.int32), "int32")], [y])
    with pytest.raises(TinyqError, match="is not input .* joined from blocks") as refused:
        _compile(b.build([y]))
    assert "only the batch size is off" not in str(refused.value)


def test_an_unknown_batch_size_is_named():
    """A dilated Conv1D exported with batch None: the file says batch 1 after SPACE_TO_BATCH_ND, where
    the blocks make 2, and 1 before BATCH_TO_SPACE_ND. TFLM would fill one block only; tinyq says why."""
    with pytest.raises(TinyqError, match=r"only the batch size is off.*\(re-export with a fixed batch size, e.g. keras.Input\(shape, batch_size=1\)\)"):
        _compile(_s2b((1, 15, 24), (2,), (1, 0), (1, 8, 24)))
    b = GraphBuilder("bad")
    x = b.input((1, 6, 32), scale=0.1, zero_point=0)
    y = b.activation((1, 11, 32), scale=0.1, zero_point=0)
    b.op("batch_to_space_nd", [x, b.const(np.array([2], np.int32), "int32"),
                               b.const(np.array([[0, 1]], np.int32), "int32")], [y])
    with pytest.raises(TinyqError, match="only the batch size is off"):
        _compile(b.build([y]))


def test_identity_moves_are_views():
    """Block size 1, a resize to the same size and a gather of every row in order reproduce their
    input: they lower to views (no copy, no arena), still bit-exact."""
    b = GraphBuilder("identity")
    q = dict(scale=0.1, zero_point=1)
    x = b.input((2, 4, 4, 3), **q)
    y1 = b.activation((2, 4, 4, 3), **q)
    b.op("depth_to_space", [x], [y1], block_size=1)
    y2 = b.activation((2, 4, 4, 3), **q)
    b.op("resize_nearest_neighbor", [y1, b.const(np.array([4, 4], np.int32))], [y2])
    y3 = b.activation((2, 4, 4, 3), **q)
    b.op("gather", [y2, b.const(np.array([0, 1, 2, 3], np.int32))], [y3], axis=1)
    y4 = b.activation((2, 4, 4, 3), **q)
    b.op("space_to_batch_nd", [y3, b.const(np.array([1, 1], np.int32)), b.const(np.zeros((2, 2), np.int32))], [y4])
    y5 = b.activation((2, 4, 4, 3), **q)
    b.op("gather", [y4, b.const(np.array([0, 2, 1, 3], np.int32))], [y5], axis=2)  # a real permutation
    graph = b.build([y5])
    assert [op.kernel.name for op in bound_ops(graph)] == ["view"] * 4 + ["remap"]
    compiled = assert_bit_exact(graph, n_inputs=4)
    assert compiled.plan.arena_bytes <= 2 * 96 + 16  # the input and the permuted output only
