"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32) and RESIZE_BILINEAR (int8) against TFLM:
up- and downsampling, odd ratios, size-1 inputs and outputs, every align_corners /
half_pixel_centers combination TFLM accepts, zero points at the int8 limits; the offline
coordinate tables against TFLM's formulas; and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.resize import bilinear_taps, nearest_sources
from tinyq.tflite.builder import GraphBuilder

# (input height, width) -> (output height, width)
SIZES = [((4, 4), (8, 8)), ((3, 5), (7, 2)), ((5, 7), (2, 3)), ((1, 1), (3, 4)), ((6, 4), (1, 1)),
         ((2, 3), (2, 3)), ((7, 3), (16, 9)), ((9, 11), (4, 5)), ((1, 6), (5, 1))]
NEAREST_OPTIONS = [(False, False), (True, False), (False, True), (True, True)]
BILINEAR_OPTIONS = [(False, False), (True, False), (False, True)]


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def add_resizes(b, rng, op, options, dtype="int8", batches=2, depth=3, sizes=SIZES):
    outs = []
    for (ih, iw), (oh, ow) in sizes:
        zp = int(rng.choice([-128, 127, int(rng.integers(-50, 50))]))
        q = dict(scale=float(rng.uniform(0.01, 0.1)), zero_point=zp) if dtype != "float32" else {}
        x = b.input((batches, ih, iw, depth), dtype=dtype, **q)
        size = b.const(np.array([oh, ow], np.int32), "int32")
        for align, half in options:
            y = b.activation((batches, oh, ow, depth), dtype=dtype, **q,
                             name=f"{op}_{ih}x{iw}_{oh}x{ow}_a{int(align)}h{int(half)}")
            b.op(op, [x, size], [y], align_corners=align, half_pixel_centers=half)
            outs.append(y)
    return outs


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_nearest_neighbor(dtype):
    b = GraphBuilder(f"nearest_{dtype}")
    graph = b.build(add_resizes(b, _rng(dtype), "resize_nearest_neighbor", NEAREST_OPTIONS, dtype))
    assert {op.kernel.name for op in bound_ops(graph)} == {"remap", "view"}  # identities are views
    assert_bit_exact(graph, n_inputs=6)


def test_bilinear():
    b = GraphBuilder("bilinear")
    graph = b.build(add_resizes(b, _rng("bilinear"), "resize_bilinear", BILINEAR_OPTIONS, batches=2, depth=4))
    assert_bit_exact(graph, n_inputs=10)


def test_bilinear_large_ratios_and_deep_channels():
    """Scales far from 1 (the 1/1024 scale's rounding matters most) and a depth that is not a
    multiple of anything."""
    b = GraphBuilder("bilinear_ratios")
    sizes = [((2, 3), (31, 29)), ((33, 30), (3, 2)), ((10, 10), (13, 7))]
    graph = b.build(add_resizes(b, _rng("ratios"), "resize_bilinear", BILINEAR_OPTIONS, batches=1, depth=7,
                                sizes=sizes))
    assert_bit_exact(graph, n_inputs=6)


def test_on_targets():
    rng = _rng("resize_targets")
    b = GraphBuilder("resize_targets")
    sizes = SIZES[:5]
    outs = (add_resizes(b, rng, "resize_nearest_neighbor", NEAREST_OPTIONS, batches=1, sizes=sizes)
            + add_resizes(b, rng, "resize_bilinear", BILINEAR_OPTIONS, batches=1, sizes=sizes))
    assert_bit_exact_on_targets(b.build(outs), n_inputs=4)


def test_tables_follow_tflm_formulas():
    """The offline tables against TFLM's formulas evaluated independently (float64 where float32
    gives the same result), for every small size pair."""
    for in_size in range(1, 9):
        for out_size in range(1, 13):
            for align, half in NEAREST_OPTIONS:
                got = nearest_sources(in_size, out_size, align, half)
                scale = (in_size - 1) / (out_size - 1) if align and out_size > 1 else in_size / out_size
                for v, src in enumerate(got):
                    exact = (v + (0.5 if half else 0.0)) * scale
                    assert 0 <= src < in_size
                    if abs(exact - round(exact)) > 1e-3 and abs(exact - np.floor(exact) - 0.5) > 1e-3:
                        want = min(int(np.floor(exact + 0.5)) if align else int(np.floor(exact)), in_size - 1)
                        assert src == want, (in_size, out_size, align, half, v)
            for align, half in BILINEAR_OPTIONS:
                for lower, upper, weight in bilinear_taps(in_size, out_size, align, half):
                    assert 0 <= lower <= upper < in_size
                    assert upper - lower <= 1
                    assert -512 <= weight < 1024 and (weight >= 0 or lower == upper)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _resize(op, dtype="int8", size=(4, 4), out=None, size_dtype="int32", const_size=True, **options):
    b = GraphBuilder("bad")
    q = dict(scale=0.1, zero_point=0) if dtype != "float32" else {}
    x = b.input((1, 2, 2, 3), dtype=dtype, **q)
    s = b.const(np.array(size), size_dtype) if const_size else b.input((2,), dtype=size_dtype)
    y = b.activation(out or (1, *size, 3), dtype=dtype, **q)
    b.op(op, [x, s], [y], **options)
    return b.build([y])


@pytest.mark.parametrize("graph_args, options, message", [
    (("resize_bilinear",), dict(align_corners=True, half_pixel_centers=True), "align_corners and half_pixel"),
    (("resize_bilinear", "uint8"), {}, "uint8 -> uint8: TFLM's kernel takes int8"),
    (("resize_nearest_neighbor", "int32"), {}, "int32 -> int32"),
    (("resize_nearest_neighbor", "int8", (4, 4), (1, 4, 5, 3)), {}, "the size operand and the output shape disagree"),
    (("resize_nearest_neighbor", "int8", (4, 4), None, "int64"), {}, "size is int64"),
    (("resize_bilinear", "int8", (4, 4), None, "int32", False), {}, "size must be a constant tensor"),
])
def test_refusals(graph_args, options, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_resize(*graph_args, **options))
