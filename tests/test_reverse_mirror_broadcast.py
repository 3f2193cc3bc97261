"""REVERSE_V2, MIRROR_PAD and BROADCAST_TO against TFLM: every run of adjacent axes up to rank 6,
REFLECT and SYMMETRIC up to their limits, broadcasts from lower ranks, other element types; and
the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.mirror_pad import input_index
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def quant(rng, dtype="int8"):
    return dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=int(rng.integers(-128, 128))) \
        if dtype == "int8" else {}


def add_reverse(b, rng, shape, axes, dtype="int8"):
    q = quant(rng, dtype)
    x = b.input(shape, dtype=dtype, **q)
    y = b.activation(shape, dtype=dtype, **q, name=f"rev{list(shape)}{list(axes)}")
    b.op("reverse_v2", [x, b.const(np.array(axes, np.int32))], [y])
    return y


def test_reverse_every_axis_run():
    rng = seeded("reverse")
    b = GraphBuilder("reverse")
    outs = []
    for shape in [(7,), (3, 4), (2, 3, 4), (2, 1, 3, 4), (2, 2, 1, 3, 2), (1, 2, 2, 3, 1, 2)]:
        rank = len(shape)
        for first in range(rank):
            for last in range(first, rank):
                axes = list(range(first, last + 1))
                if rng.random() < 0.5:
                    axes = [a - rank for a in axes[::-1]]  # negative, unsorted
                outs.append(add_reverse(b, rng, shape, axes))
    assert_bit_exact(b.build(outs), n_inputs=6)


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "float32", "bool", "uint8"])
def test_reverse_other_element_types(dtype):
    rng = seeded("rev", dtype)
    b = GraphBuilder(f"rev_{dtype}")
    assert_bit_exact(b.build([add_reverse(b, rng, (3, 4, 2), [1, 2], dtype), add_reverse(b, rng, (5,), [0], dtype)]),
                     n_inputs=4)


def add_mirror_pad(b, rng, shape, pads, mode, dtype="int8", pad_dtype="int32"):
    q = quant(rng, dtype)
    x = b.input(shape, dtype=dtype, **q)
    out = [d + lo + hi for d, (lo, hi) in zip(shape, pads)]
    y = b.activation(out, dtype=dtype, **q, name=f"mp{mode}{list(shape)}{np.asarray(pads).tolist()}")
    b.op("mirror_pad", [x, b.const(np.array(pads), pad_dtype)], [y], mode=mode)
    return y


def test_mirror_pad_index_is_numpys():
    for mode, np_mode in (("REFLECT", "reflect"), ("SYMMETRIC", "symmetric")):
        offset = 1 if mode == "REFLECT" else 0
        for size in range(1, 6):
            for left in range(0, size + 1 - offset):
                for right in range(0, size + 1 - offset):
                    ours = [input_index(p, left, size, offset) for p in range(left + size + right)]
                    assert ours == list(np.pad(np.arange(size), (left, right), mode=np_mode)), (mode, size, left, right)


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
def test_mirror_pad_ranks_and_limits(mode):
    rng = seeded("mirror", mode)
    b = GraphBuilder(f"mirror_{mode}")
    most = 1 if mode == "REFLECT" else 0  # REFLECT pads at most size - 1, SYMMETRIC up to size
    cases = [((5,), [[2, 3]]), ((4, 3), [[3 - most, 0], [1, 3 - most]]), ((1, 4, 3, 2), [[0, 0], [1, 2], [2, 1], [0, 0]]),
             ((2, 3, 4), [[0, 0], [0, 0], [1, 1]]), ((2, 3, 4), [[0, 0], [0, 0], [0, 0]]),
             ((2, 2, 2, 3, 2), [[1, 0], [0, 1], [1, 1], [2, 1], [0, 1]]), ((1, 1, 2, 1, 2, 3), [[0, 0]] * 4 + [[1, 1], [2, 2]])]
    outs = [add_mirror_pad(b, rng, s, p, mode, pad_dtype=("int32", "int64")[i % 2]) for i, (s, p) in enumerate(cases)]
    # right sides wider than TFLite allows: TFLM's GetInputDimension clamps them onto the first element
    outs.append(add_mirror_pad(b, rng, (1, 3), [[0, 2], [1, 5]], mode))
    assert_bit_exact(b.build(outs), n_inputs=6)


def test_mirror_pad_float32():
    rng = seeded("mirror_f")
    b = GraphBuilder("mirror_f")
    assert_bit_exact(b.build([add_mirror_pad(b, rng, (3, 4), [[1, 2], [2, 1]], "SYMMETRIC", "float32")]), n_inputs=4)


def add_broadcast(b, rng, shape, to, dtype="int8", shape_dtype="int32"):
    q = quant(rng, dtype)
    x = b.input(shape, dtype=dtype, **q)
    y = b.activation(to, dtype=dtype, **q, name=f"bc{list(shape)}{list(to)}")
    b.op("broadcast_to", [x, b.const(np.array(to), shape_dtype)], [y])
    return y


def test_broadcast_to_every_pattern():
    rng = seeded("broadcast")
    b = GraphBuilder("broadcast")
    cases = [((1,), (5,)), ((3,), (4, 3)), ((3, 1), (3, 4)), ((1, 4), (3, 4)), ((2, 1, 3), (2, 5, 3)),
             ((1, 1, 1), (2, 3, 4)), ((3, 1, 2), (4, 3, 5, 2)), ((1, 2, 1, 2, 1), (2, 2, 3, 2, 2)),
             ((2, 3), (2, 3)), ((2, 3), (1, 1, 2, 3))]
    outs = [add_broadcast(b, rng, s, t, shape_dtype=("int32", "int64")[i % 2]) for i, (s, t) in enumerate(cases)]
    assert_bit_exact(b.build(outs), n_inputs=6)


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "float32", "bool"])
def test_broadcast_to_other_element_types(dtype):
    rng = seeded("bc", dtype)
    b = GraphBuilder(f"bc_{dtype}")
    assert_bit_exact(b.build([add_broadcast(b, rng, (3, 1, 2), (2, 3, 4, 2), dtype)]), n_inputs=4)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(op, shape, operand, out, operand_dtype="int32", dtype="int8", **options):
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, scale=0.1, zero_point=0)
    y = b.activation(out, dtype=dtype, scale=0.1, zero_point=0)
    b.op(op, [x, b.const(np.array(operand), operand_dtype)], [y], **options)
    return b.build([y])


@pytest.mark.parametrize("args, options, message", [
    (("reverse_v2", (2, 3, 4), [0, 2], (2, 3, 4)), {}, "not consecutive"),
    (("reverse_v2", (2, 3, 4), [1, 1], (2, 3, 4)), {}, "not consecutive"),
    (("reverse_v2", (2, 3), [2], (2, 3)), {}, "out of range"),
    (("reverse_v2", (2, 3), [0], (2, 3), "int64"), {}, "TFLM reads it as int32"),
    (("reverse_v2", (2, 3), np.zeros(0, np.int32), (2, 3)), {}, "0 axes"),
    (("mirror_pad", (3,), [[3, 0]], (6,)), dict(mode="REFLECT"), "reads outside the input"),
    (("mirror_pad", (3,), [[4, 0]], (7,)), dict(mode="SYMMETRIC"), "reads outside the input"),
    (("mirror_pad", (3,), [[1, 1]], (6,)), dict(mode="REFLECT"), "is not input"),
    (("mirror_pad", (3,), [[-1, 1]], (3,)), dict(mode="REFLECT"), "negative paddings"),
    (("mirror_pad", (3,), [[1, 1]], (5,), "int32", "int16"), dict(mode="REFLECT"), "int16 tensors are not supported"),
    (("broadcast_to", (2, 3), [2, 2], (2, 2)), {}, "does not broadcast"),
    (("broadcast_to", (2, 3), [2, 3], (3, 3)), {}, "is not the shape"),
    (("broadcast_to", (1, 3), [3], (3,)), {}, "no higher rank"),
    (("broadcast_to", (3,), [1, 1, 1, 1, 2, 3], (1, 1, 1, 1, 2, 3)), {}, "at most 5-D"),
])
def test_unsupported_variants(args, options, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(*args, **options))
