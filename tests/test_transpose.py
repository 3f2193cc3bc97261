"""TRANSPOSE against TFLM: every permutation of ranks 1-4, random ones at rank 5, other element
types, constant inputs, views (only size-1 dimensions move), CMSIS-NN's arm_transpose_s8 where
it applies (and its fallbacks); and the variants tinyq refuses."""

import itertools
import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, bound_ops
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.base import Target
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def quant(rng, dtype="int8"):
    return dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=int(rng.integers(-128, 128))) \
        if dtype == "int8" else {}


def add_transpose(b, rng, shape, perm, dtype="int8", const=False):
    q = quant(rng, dtype)
    x = b.const(rng.integers(-100, 100, size=shape), dtype, **q) if const else b.input(shape, dtype=dtype, **q)
    y = b.activation([shape[d] for d in perm], dtype=dtype, **q, name=f"t{list(shape)}{list(perm)}")
    b.op("transpose", [x, b.const(np.array(perm, np.int32))], [y])
    return y


def transpose_graph(name, cases, dtype="int8"):
    rng = seeded(name)
    b = GraphBuilder(name)
    return b.build([add_transpose(b, rng, shape, perm, dtype) for shape, perm in cases])


SHAPES = {1: (7,), 2: (5, 3), 3: (2, 3, 4), 4: (2, 3, 4, 5), 5: (2, 3, 1, 4, 3)}


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_every_permutation(rank):
    cases = [(SHAPES[rank], perm) for perm in itertools.permutations(range(rank))]
    assert_bit_exact(transpose_graph(f"perm{rank}", cases), n_inputs=6)


def test_rank5_size1_and_odd_shapes():
    rng = seeded("rank5")
    cases = [(SHAPES[5], tuple(rng.permutation(5))) for _ in range(8)]
    cases += [((1, 9, 1, 4), (2, 1, 0, 3)),  # only size-1 dimensions move: a view
              ((1, 1, 6, 7), (0, 1, 3, 2)),
              ((3, 1, 5), (1, 2, 0)), ((300, 2), (1, 0))]
    assert_bit_exact(transpose_graph("rank5", cases), n_inputs=6)


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_other_element_types(dtype):
    assert_bit_exact(transpose_graph(f"t_{dtype}", [((2, 3, 4), (2, 0, 1)), ((3, 5), (1, 0))], dtype), n_inputs=4)


def test_constant_input_and_views_cost_nothing():
    rng = seeded("const")
    b = GraphBuilder("const")
    c = add_transpose(b, rng, (3, 4), (1, 0), const=True)  # read from flash
    v = add_transpose(b, rng, (1, 24), (1, 0))
    compiled = assert_bit_exact(b.build([c, v]), n_inputs=4, layers=True)
    assert [a.kind for a in compiled.plan.aliases] == ["view"]
    assert compiled.plan.arena_bytes == 16 + 32  # c, and the input holding v


CMSIS_CASES = [((5, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4, 5), (0, 1, 3, 2)),
               ((2, 3, 4, 5), (3, 2, 1, 0)), ((2, 3, 4, 5), (0, 2, 1, 3)), ((1, 2, 9, 17), (0, 1, 3, 2))]


def test_cmsis_nn_transpose_bit_exact_on_host():
    graph = transpose_graph("cmsis", CMSIS_CASES)
    assert_bit_exact(graph, n_inputs=6, backend="cmsis-nn")
    assert all(op.function == "arm_transpose_s8" for op in bound_ops(graph, "cmsis-nn"))


@pytest.mark.parametrize("case, isa, reason", [
    (((2, 3, 4, 5, 2), (4, 3, 2, 1, 0)), "scalar", "at most 4 dimensions"),
    (((1, 6, 1), (2, 1, 0)), "scalar", "only size-1 dimensions move"),
    (((70000, 2), (1, 0)), "scalar", "exceeds the 65535"),
    (((1, 2, 8, 9400), (0, 1, 3, 2)), "mve", "offsets wrap"),
    (((1, 1, 7, 10923), (0, 1, 3, 2)), "mve", "offsets wrap"),
])
def test_cmsis_nn_transpose_falls_back_with_a_reason(case, isa, reason):
    (op,) = bound_ops(transpose_graph("fallback", [case]), "cmsis-nn", isa)
    assert op.layer == "reference"
    assert any(reason in why for _, why in op.passed_over), op.passed_over


def test_cmsis_nn_transpose_helium_gather_within_its_offsets():
    """Fewer than 8 rows leave the wide lanes idle: the offsets that would wrap are never used."""
    (op,) = bound_ops(transpose_graph("narrow", [((1, 1, 2, 30000), (0, 1, 3, 2))]), "cmsis-nn", "mve")
    assert op.function == "arm_transpose_s8"


def test_int16_falls_back_to_the_reference():
    (op,) = bound_ops(transpose_graph("fallback16", [((3, 4), (1, 0))], "int16"), "cmsis-nn")
    assert op.layer == "reference" and "moves int8" in op.passed_over[-1][1]


def _single(shape, perm, out_shape, perm_dtype="int32", dtype="int8", const_perm=True):
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, scale=0.1, zero_point=0)
    p = b.const(np.array(perm), perm_dtype) if const_perm else b.input((len(perm),), dtype=perm_dtype)
    y = b.activation(out_shape, dtype=dtype, scale=0.1, zero_point=0)
    b.op("transpose", [x, p], [y])
    return b.build([y])


@pytest.mark.parametrize("args, message", [
    (((2, 3), (0, 0), (2, 2)), "not a permutation"),
    (((2, 3), (1, 0), (2, 3)), "is not input"),
    (((1, 2, 1, 2, 1, 2), (5, 4, 3, 2, 1, 0), (2, 1, 2, 1, 2, 1)), "1-D to 5-D"),
    (((2, 3), (1, 0), (3, 2), "int64"), "TFLM reads it as int32"),
    (((2, 3), (1, 0), (3, 2), "int32", "int32"), "int32 tensors are not supported"),
    (((2, 3), (1, 0), (3, 2), "int32", "int8", False), "must be a constant"),
])
def test_unsupported_variants(args, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(_single(*args), get_board("host"))
