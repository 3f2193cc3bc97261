"""MAXIMUM and MINIMUM against TFLM: every integer type, every broadcast pattern up to rank 8,
constant operands, quantizations TFLM ignores; the CMSIS-NN kernels against the library itself;
and the variants tinyq refuses."""

from __future__ import annotations

import ctypes
import itertools
import subprocess

import numpy as np
import pytest

from broadcast_cases import BROADCASTS, Case, quant, seeded, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.maximum_minimum import MaximumMinimumParams
from tinyq.ops.ndloops import broadcast_loops
from tinyq.tflite.builder import GraphBuilder

OPS = ("maximum", "minimum")


def _cases(dtype: str) -> list[Case]:
    cases = []
    for op in OPS:
        cases += [Case(op, ((3, 5, 2), (3, 5, 2)), dtype), Case(op, ((2, 9), (2, 9)), dtype, consts=(False, True))]
        cases += [Case(op, shapes, dtype) for shapes in BROADCASTS]
        cases += [Case(op, ((1, 4), (3, 1)), dtype, consts=(True, False)),
                  Case(op, ((3, 4), ()), dtype, consts=(False, True))]
    return cases


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_every_type_and_broadcast(dtype):
    assert_bit_exact(side_by_side(f"maxmin_{dtype}", _cases(dtype)), n_inputs=12)


def test_quantization_is_ignored_as_in_tflm():
    """TFLM compares the stored integers even when operands and output are quantized differently."""
    rng = seeded("maxmin quant")
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = [Case(op, ((4, 6), (4, 6)), quants=(q(0.5, -128), q(0.01, 127), q(0.2, 3))) for op in OPS]
    cases += [Case(op, ((4, 6), (6,)), quants=(quant(rng), quant(rng), quant(rng))) for op in OPS]
    assert_bit_exact(side_by_side("maxmin_quant", cases, rng), n_inputs=10)


def test_rank_7_is_refused():
    """TFLM's RuntimeShape holds 6 dimensions: past them its results are wrong (rank 8 here: reshapes
    lead in and out, graph inputs stop at 6)."""
    b = GraphBuilder("rank7")
    q = dict(scale=0.05, zero_point=-7)
    x, w = b.input((2, 3, 4), **q), b.input((2, 4), **q)
    x7, w7 = b.activation((2, 1, 3, 1, 1, 4, 1), **q), b.activation((1, 2, 1, 1, 1, 4, 1), **q)
    b.op("reshape", [x], [x7], new_shape=(2, 1, 3, 1, 1, 4, 1))
    b.op("reshape", [w], [w7], new_shape=(1, 2, 1, 1, 1, 4, 1))
    y7, y = b.activation((2, 2, 3, 1, 1, 4, 1), **q), b.activation((4, 3, 4), **q)
    b.op("maximum", [x7, w7], [y7])
    b.op("reshape", [y7], [y], new_shape=(4, 3, 4))
    with pytest.raises(TinyqError, match="rank 7 is above the 6 dimensions"):
        compile_graph(b.build([y]), get_board("host"))


def _single(op, dtypes=("int8", "int8", "int8"), shapes=((2, 3), (2, 3), (2, 3))):
    b = GraphBuilder("bad")
    q = dict(scale=0.1, zero_point=0)
    x, w = (b.input(s, dtype=d, **(q if d == "int8" else {})) for s, d in zip(shapes[:2], dtypes))
    y = b.activation(shapes[2], dtype=dtypes[2], **(q if dtypes[2] == "int8" else {}))
    b.op(op, [x, w], [y])
    return b.build([y])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("args, message", [
    ((("uint8",) * 3,), "operands are uint8; tinyq runs"),
    ((("int8", "int16", "int8"),), "operands are int8 and int16"),
    ((("int32", "int32", "int8"),), "output is int8, operands int32"),
    ((("int8",) * 3, ((2, 3), (4, 3), (2, 3))), "do not broadcast"),
    ((("int8",) * 3, ((2, 3), (1, 3), (6,))), "not the broadcast shape"),
])
def test_unsupported_variants(op, args, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(_single(op, *args), get_board("host"))


# --- CMSIS-NN: arm_maximum_s8 / arm_minimum_s8 ------------------------------------------------------

needs_cmsis = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                 reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout to test its backend")


@needs_cmsis
def test_cmsis_nn_runs_int8_broadcasts_up_to_four_loops():
    graph = side_by_side("maxmin_cmsis", _cases("int8") + _cases("int32"))
    compiled = assert_bit_exact(graph, n_inputs=12, backend="cmsis-nn")
    by_type = {}
    for op in compiled.bound.ops:
        by_type.setdefault(op.lowered.params.suffix, []).append(op)
    assert all(op.function in ("arm_maximum_s8", "arm_minimum_s8") for op in by_type["s8"]
               if op.lowered.params.loops.rank <= 4)
    over = [op.reason for op in by_type["s8"] if op.lowered.params.loops.rank > 4]
    assert over and all("walks 4 dimensions" in r for r in over)
    assert all(not op.optimized and "int8 only" in op.reason for op in by_type["s32"])


class Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in "nhwc"]


@pytest.fixture(scope="module")
def cmsis_so(tmp_path_factory) -> ctypes.CDLL:
    archive = libraries.build_archive("cmsis-nn", "cc", ("-O1", "-fPIC"))
    so = tmp_path_factory.mktemp("cmsis") / "libcmsis_nn.so"
    subprocess.run(["cc", "-shared", "-o", str(so), "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive"],
                   check=True)
    return ctypes.CDLL(str(so))


def _library(lib, op, a, b, dims_a, dims_b, dims_out):
    out = np.zeros(int(np.prod(dims_out)), np.int8)
    status = getattr(lib, f"arm_{op}_s8")(None, a.ctypes.data_as(ctypes.c_void_p), ctypes.byref(Dims(*dims_a)),
                                          b.ctypes.data_as(ctypes.c_void_p), ctypes.byref(Dims(*dims_b)),
                                          out.ctypes.data_as(ctypes.c_void_p), ctypes.byref(Dims(*dims_out)))
    assert status == 0
    return out


@needs_cmsis
def test_library_walk_is_exact_on_fused_loops(cmsis_so):
    """Every pair of broadcastable 4-D shapes with extents 1..3: the library, given the fused loops
    as tinyq gives them, computes numpy's maximum/minimum. Given TFLM's plain 4-D shapes it does not
    always (one value per row against rows), which is why tinyq fuses first."""
    rng = seeded("cmsis maxmin walk")
    dims = list(itertools.product((1, 2, 3), repeat=4))
    plain_wrong = 0
    for da, db in itertools.product(dims, dims):
        if any(x != y and 1 not in (x, y) for x, y in zip(da, db)):
            continue
        a = rng.integers(-128, 128, size=da).astype(np.int8)
        b = rng.integers(-128, 128, size=db).astype(np.int8)
        shape = np.broadcast_shapes(da, db)
        params = MaximumMinimumParams(loops=broadcast_loops(da, db, shape), sources=(0, 1), suffix="s8")
        out, fa, fb = params.fused_shapes(4)
        for op, fn in (("maximum", np.maximum), ("minimum", np.minimum)):
            want = fn(a, b).reshape(-1)
            got = _library(cmsis_so, op, a.reshape(-1), b.reshape(-1), fa, fb, out)
            assert got.tolist() == want.tolist(), (op, da, db, fa, fb)
        padded = [np.append(t.reshape(-1), np.zeros(64, np.int8)) for t in (a, b)]  # the plain walk reads past
        plain_wrong += _library(cmsis_so, "maximum", *padded, da, db, shape).tolist() != np.maximum(a, b).reshape(-1).tolist()
    assert plain_wrong > 0


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 (Helium) and ARMv6-M under QEMU: the reference kernel, CMSIS-NN's, and the
    reference kernel again in an ESP-NN build (ESP-NN has no maximum/minimum)."""
    cases = [Case(op, shapes, dtype) for op in OPS
             for shapes, dtype in ((((3, 37), (3, 37)), "int8"), (((1, 2, 1, 1), (1, 2, 3, 17)), "int8"),
                                   (((2, 1, 3, 1, 5), (1, 4, 3, 2, 1)), "int8"), (((5, 1), (1, 4)), "int32"),
                                   (((3,), (2, 3)), "int16"), (((2, 2), (2, 2)), "int64"))]
    cases.append(Case("maximum", ((2, 20), ()), consts=(False, True)))
    backends = ("reference",) + tuple(b for b in ("cmsis-nn", "esp-nn") if libraries.available(b))
    assert_bit_exact_on_targets(side_by_side("maxmin_targets", cases), n_inputs=6, backends=backends)


def test_in_place_over_an_operand_that_dies():
    """Element-wise: the output may take the bytes of an equally shaped operand that dies at the op."""
    choices = bound_ops(side_by_side("maxmin_inplace", [Case("maximum", ((4, 8), (8,)))]))
    assert choices[0].inplace is not None
