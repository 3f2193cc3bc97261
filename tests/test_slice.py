"""SLICE and STRIDED_SLICE against TFLM: random boxes of ranks 1-5, every mask, negative strides
and indices, clamping, the masks TFLM ignores, other element types, views of contiguous boxes;
and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.strided_slice import axis_range
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def quant(rng, dtype):
    return dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=int(rng.integers(-128, 128))) \
        if dtype == "int8" else {}


def add_slice(b, rng, shape, begin, size, dtype="int8", index_dtype="int32"):
    q = quant(rng, dtype)
    x = b.input(shape, dtype=dtype, **q)
    out = [d - lo if n == -1 else n for d, lo, n in zip(shape, begin, size)]
    y = b.activation(out, dtype=dtype, **q, name=f"slice{list(begin)}{list(size)}")
    b.op("slice", [x, b.const(np.array(begin), index_dtype), b.const(np.array(size), index_dtype)], [y])
    return y


def random_box(rng, rank):
    shape = tuple(int(d) for d in rng.integers(1, 6, size=rank))
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - lo + 1)) if rng.random() < 0.8 else -1 for d, lo in zip(shape, begin)]
    return shape, begin, size


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_slice_random_boxes(rank):
    rng = seeded("slice", rank)
    b = GraphBuilder(f"slice{rank}")
    outs = [add_slice(b, rng, *random_box(rng, rank), index_dtype=("int32", "int64")[i % 2]) for i in range(6)]
    assert_bit_exact(b.build(outs), n_inputs=6)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32", "bool"])
def test_slice_other_element_types(dtype):
    rng = seeded("types", dtype)
    b = GraphBuilder(f"slice_{dtype}")
    outs = [add_slice(b, rng, (3, 4, 5), (1, 0, 2), (2, -1, 2), dtype), add_slice(b, rng, (6,), (2,), (3,), dtype)]
    assert_bit_exact(b.build(outs), n_inputs=4)


def strided_case(b, rng, shape, begin, end, strides, dtype="int8", **masks):
    """One STRIDED_SLICE; the output shape is what TFLM's Prepare computes (masks it ignores too)."""
    q = quant(rng, dtype)
    x = b.input(shape, dtype=dtype, **q)
    kept = []
    for axis, d in enumerate(shape):
        bit = lambda name: bool((masks.get(name, 0) >> axis) & 1)  # noqa: E731
        _, n = axis_range(d, begin[axis], end[axis], strides[axis], bit("begin_mask"), bit("end_mask"),
                          bit("shrink_axis_mask"))
        if not bit("shrink_axis_mask"):
            kept.append(n)
    y = b.activation(kept, dtype=dtype, **q, name=f"ss{list(begin)}{list(end)}{list(strides)}{masks}")
    b.op("strided_slice", [x] + [b.const(np.array(v, np.int32)) for v in (begin, end, strides)], [y], **masks)
    return y, x


def test_axis_range_is_python_slicing_without_masks():
    """TFLM's start/stop/clamping per axis is Python's slice semantics (begin/end masks: None)."""
    rng = seeded("python")
    for _ in range(2000):
        size, b, e = int(rng.integers(1, 9)), int(rng.integers(-12, 12)), int(rng.integers(-12, 12))
        s = int(rng.choice([-3, -2, -1, 1, 2, 3]))
        bm, em = bool(rng.random() < 0.2), bool(rng.random() < 0.2)
        expected = range(size)[slice(None if bm else b, None if em else e, s)]
        start, count = axis_range(size, b, e, s, bm, em, shrink=False)
        assert count == len(expected) and (count == 0 or start == expected[0]), (size, b, e, s, bm, em)


def test_strided_slice_every_option():
    rng = seeded("ss")
    b = GraphBuilder("ss")
    cases = [
        ((7,), [1], [6], [2], {}),
        ((7,), [-2], [-7], [-1], {}),                       # backwards, negative indices
        ((7,), [100], [-100], [-3], {}),                     # clamped
        ((7,), [0], [0], [-1], dict(begin_mask=1, end_mask=1)),  # the whole axis reversed
        ((4, 5), [1, 0], [3, 5], [1, 1], {}),                # contiguous rows: a view
        ((4, 5), [2, 1], [0, 4], [1, 2], dict(shrink_axis_mask=1)),
        ((4, 5), [-1, -1], [0, 0], [1, 1], dict(shrink_axis_mask=3)),  # a single element
        ((2, 3, 4), [0, 1, 0], [2, 3, 4], [1, 1, -1], dict(begin_mask=5, end_mask=4)),
        ((2, 3, 4, 5), [1, 0, 1, 0], [2, 3, 4, 5], [1, 2, 2, 3], dict(end_mask=2)),
        ((2, 3, 4, 5), [0, 2, 3, 4], [2, 0, 0, 0], [1, -1, -2, -3], dict(begin_mask=1, shrink_axis_mask=0)),
        ((3, 4), [0, 1], [3, 3], [1, 1], dict(ellipsis_mask=1)),   # TFLM ignores these three
        ((3, 4), [0, 1], [3, 3], [1, 1], dict(new_axis_mask=2)),
        ((3, 4), [0, 0], [3, 3], [1, 1], dict(offset=True)),
    ]
    outs = [strided_case(b, rng, *case[:4], **case[4])[0] for case in cases]
    compiled = assert_bit_exact(b.build(outs), n_inputs=8, layers=True)
    assert any(a.kind == "view" for a in compiled.plan.aliases)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32", "bool"])
def test_strided_slice_other_element_types(dtype):
    rng = seeded("sst", dtype)
    b = GraphBuilder(f"ss_{dtype}")
    outs = [strided_case(b, rng, (3, 4, 5), [2, 0, 1], [0, 4, 5], [-1, 3, 2], dtype)[0]]
    assert_bit_exact(b.build(outs), n_inputs=4)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad_strided(shape, begin, end, strides, out, index_dtype="int32", **masks):
    b = GraphBuilder("bad")
    x = b.input(shape, scale=0.1, zero_point=0)
    y = b.activation(out, scale=0.1, zero_point=0)
    b.op("strided_slice", [x] + [b.const(np.array(v), index_dtype) for v in (begin, end, strides)], [y], **masks)
    return b.build([y])


@pytest.mark.parametrize("args, masks, message", [
    (((4,), [1], [3], [1], [3]), {}, "is not the slice TFLM computes"),
    (((3, 4), [0, 1], [3, 3], [1, 1], [3, 1, 2]), dict(new_axis_mask=2), "TFLM ignores ellipsis_mask"),
    (((4,), [1], [3], [0], [2]), {}, "stride is 0"),
    (((4, 2), [1, 0], [2, 2], [-1, 1], [2]), dict(shrink_axis_mask=1), "writes nothing"),
    (((4, 2), [5, 0], [6, 2], [1, 1], [2]), dict(shrink_axis_mask=1), "writes nothing"),
    (((4, 2), [1], [3], [1], [2, 2]), {}, "for a rank-2 input"),
    (((1, 2, 1, 2, 2), [0] * 5, [1, 2, 1, 2, 2], [1] * 5, [1, 2, 1, 2, 2]), {}, "1-D to 4-D"),
    (((4,), [1], [3], [1], [2], "int64"), {}, "TFLM reads it as int32"),
])
def test_strided_slice_unsupported(args, masks, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad_strided(*args, **masks))


def _bad_slice(shape, begin, size, out, dtypes=("int32", "int32"), dtype="int8"):
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, scale=0.1, zero_point=0)
    y = b.activation(out, dtype=dtype, scale=0.1, zero_point=0)
    b.op("slice", [x, b.const(np.array(begin), dtypes[0]), b.const(np.array(size), dtypes[1])], [y])
    return b.build([y])


@pytest.mark.parametrize("args, message", [
    (((4,), [3], [2], [2]), "leave dimension 0"),
    (((4,), [-1], [1], [1]), "leave dimension 0"),
    (((4,), [1], [2], [3]), "is not the slice's shape"),
    (((4, 2), [1], [2], [2, 2]), "for a rank-2 input"),
    (((4,), [1], [2], [2], ("int32", "int64")), "one type"),
    (((4,), [1], [2], [2], ("int32", "int32"), "int64"), "int64 tensors are not supported"),
])
def test_slice_unsupported(args, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad_slice(*args))


def test_run_time_begin_and_size_of_the_wrong_count_say_so():
    """ai-edge-quantizer's single_slice.tflite: run-time begin and size of one value each for a rank-3 input,
    which TFLM reads past; the refusal named their constness, with a hint about Keras RNN layers."""
    b = GraphBuilder("slice_counts")
    begin, size = b.input((1,), dtype="int32"), b.input((1,), dtype="int32")
    x = b.input((1, 1, 1), dtype="float32")
    y = b.activation((1, 1, 1), dtype="float32")
    b.op("slice", [x, begin, size], [y])
    with pytest.raises(TinyqError, match="begin has 1 and size 1 values for a rank-3 input"):
        _compile(b.build([y]))
