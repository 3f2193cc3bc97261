"""BATCH_MATMUL against TFLM: adj_x/adj_y, broadcast batch dimensions over ranks 2 to 5, constant
lhs or rhs, extreme zero points and scale ratios; CMSIS-NN's arm_batch_matmul_s8 on the host and
under QEMU (Helium, DSP, ARMv6-M) with its scratch checked against the library; the refusals."""

from __future__ import annotations

import ctypes
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from test_backend_cmsis_nn import SUFFIX, Dims, cmsis_so  # noqa: F401  (cmsis_so: the library fixture)
from tinyq.backends.cmsis_nn import batch_matmul as cmsis_bmm
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_host

HAVE_CMSIS = libraries.available("cmsis-nn")
needs_cmsis = pytest.mark.skipif(not HAVE_CMSIS, reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout")


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def product_shape(lhs, rhs, adj_x, adj_y):
    rows = lhs[-1] if adj_x else lhs[-2]
    cols = rhs[-2] if adj_y else rhs[-1]
    return tuple(np.broadcast_shapes(tuple(lhs[:-2]), tuple(rhs[:-2]))) + (rows, cols)


def bmm_graph(name, cases, rng):
    """cases: (lhs shape, rhs shape, adj_x, adj_y[, const_lhs, const_rhs[, (lhs q, rhs q, out q)]])."""
    b = GraphBuilder(name)
    outs = []
    for lhs, rhs, adj_x, adj_y, *rest in cases:
        const_lhs, const_rhs = rest[:2] if rest else (False, False)
        ql, qr, qy = rest[2] if len(rest) > 2 else (
            dict(scale=float(rng.uniform(0.02, 0.1)), zero_point=int(rng.integers(-40, 40))),
            dict(scale=float(rng.uniform(0.005, 0.05)), zero_point=int(rng.integers(-10, 10))),
            dict(scale=float(rng.uniform(0.1, 0.5)), zero_point=int(rng.integers(-20, 20))))
        operands = []
        for shape, const, q in ((lhs, const_lhs, ql), (rhs, const_rhs, qr)):
            operands.append(b.const(rng.integers(-128, 128, size=shape), "int8", **q) if const else b.input(shape, **q))
        y = b.activation(product_shape(lhs, rhs, adj_x, adj_y), **qy,
                         name=f"bmm{list(lhs)}{list(rhs)}{int(adj_x)}{int(adj_y)}{int(const_lhs)}{int(const_rhs)}")
        b.op("batch_matmul", operands, [y], adj_x=adj_x, adj_y=adj_y)
        outs.append(y)
    return b.build(outs)


SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
          ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 6)), ((2, 2, 3, 4), (2, 1, 4, 2)),
          ((1, 2, 1, 3, 4), (2, 1, 3, 4, 2)), ((2, 1, 2, 1, 3), (1, 2, 1, 3, 3)), ((1, 1), (1, 7)), ((5, 33), (33, 9))]


def _oriented(lhs, rhs, adj_x, adj_y):
    """The shapes with the product's two last dimensions swapped where adj_x / adj_y say so."""
    swap = lambda s, t: (s[:-2] + (s[-1], s[-2])) if t else s  # noqa: E731
    return swap(lhs, adj_x), swap(rhs, adj_y)


def test_adjoints_and_broadcast_batches():
    rng = _rng("adj")
    cases = [(*_oriented(lhs, rhs, ax, ay), ax, ay) for lhs, rhs in SHAPES for ax in (False, True)
             for ay in (False, True)]
    assert_bit_exact(bmm_graph("bmm_adj", cases, rng), n_inputs=8)


def test_constant_operands():
    """A constant rhs (weights) or lhs, stored in flash in the order the kernel reads."""
    rng = _rng("const")
    cases = [(*_oriented(lhs, rhs, ax, ay), ax, ay, cl, cr) for lhs, rhs in SHAPES[:8:2]
             for ax, ay in ((False, False), (True, True), (False, True)) for cl, cr in ((False, True), (True, False))]
    assert_bit_exact(bmm_graph("bmm_const", cases, rng), n_inputs=8)


def test_zero_points_and_scales():
    """Zero points at the ends of the range (offsets 128 and -127), a multiplier above one, saturation."""
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = [((2, 3, 16), (2, 16, 4), False, False, False, False, (q(0.05, -128), q(0.04, 127), q(0.02, 127))),
             ((3, 16), (4, 16), False, True, False, True, (q(0.5, 127), q(0.5, -128), q(0.01, -128))),
             ((4, 8), (8, 3), False, False, False, False, (q(0.002, 0), q(0.003, 0), q(1e-7, 0))),
             ((2, 40), (40, 2), False, False, True, False, (q(0.1, 3), q(0.1, -3), q(4.0, 0)))]
    assert_bit_exact(bmm_graph("bmm_limits", cases, _rng("limits")), n_inputs=12)


def test_reference_on_every_target():
    cases = [((2, 3, 5), (2, 5, 4), False, False), ((3, 5), (2, 4, 5), False, True, False, True),
             ((1, 2, 5, 3), (2, 1, 5, 4), True, False)]
    assert_bit_exact_on_targets(bmm_graph("bmm_targets", cases, _rng("targets")), n_inputs=6)


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_converter_attention(backend):
    """q k^T (adj_y) and (q k^T) q between activations, as TFLite's converter writes them; TFLM runs the
    file's own bytes."""
    if backend == "cmsis-nn" and not HAVE_CMSIS:
        pytest.skip("set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout")
    board = get_board("host")
    compiled = compile_file(Path(__file__).resolve().parent / "data" / "converter" / "attention.tflite", board,
                            backend=backend, arena="fast")
    result = verify_host(compiled, board, n_inputs=20)
    assert result.ok, summarize(result, compiled.graph)
    if backend == "cmsis-nn":
        assert [op.function for op in compiled.bound.ops if op.lowered.kernel == "batch_matmul"] == \
            ["arm_batch_matmul_s8"] * 2


# --- CMSIS-NN ----------------------------------------------------------------------------------

CMSIS_CASES = [((2, 3, 20), (2, 20, 7), False, False), ((2, 20, 3), (2, 20, 7), True, False),
               ((2, 3, 20), (1, 7, 20), False, True), ((1, 3, 33), (2, 33, 9), False, False, False, True),
               ((2, 1, 3, 4), (3, 5, 4), False, True, False, True), ((3, 4), (2, 2, 4, 5), False, False, False, True),
               ((6, 5), (4, 6), True, True, True, False), ((1, 2, 1, 3, 4), (2, 1, 1, 4, 2), False, False)]


@needs_cmsis
def test_cmsis_nn_on_host():
    """Every case but the rank-5 one runs arm_batch_matmul_s8; that one falls back with the reason."""
    compiled = assert_bit_exact(bmm_graph("bmm_cmsis", CMSIS_CASES, _rng("cmsis")), n_inputs=8, backend="cmsis-nn")
    functions = [op.function for op in compiled.bound.ops]
    assert functions[:-1] == ["arm_batch_matmul_s8"] * (len(CMSIS_CASES) - 1)
    assert "rank 5" in compiled.bound.ops[-1].reason


@needs_cmsis
def test_scratch_holds_the_transposed_activations():
    """An activation lhs with adj_x and an activation rhs without adj_y are transposed into scratch (TFLM's
    glue does the same in its arena); constants are already stored transposed; Helium adds the row sums."""
    ops = bound_ops(bmm_graph("bmm_scratch", CMSIS_CASES[:4], _rng("cmsis")), "cmsis-nn", "mve")
    align = lambda n: (n + 15) // 16 * 16  # noqa: E731
    rhs_copy, lhs_copy, sums = align(2 * 20 * 7), align(2 * 20 * 3), 4 * 7
    assert [op.scratch_bytes for op in ops] == [rhs_copy + sums, lhs_copy + rhs_copy + sums, sums, 4 * 9]
    assert [op.scratch_bytes for op in bound_ops(bmm_graph("bmm_scratch", CMSIS_CASES[:4], _rng("cmsis")),
                                                 "cmsis-nn", "scalar")] == [rhs_copy, lhs_copy + rhs_copy, 0, 0]


@needs_cmsis
@pytest.mark.parametrize("isa", ["scalar", "dsp", "mve"])
def test_vector_sum_scratch_matches_library(cmsis_so, isa):
    function = getattr(cmsis_so, "arm_fully_connected_s8_get_buffer_size" + SUFFIX[isa])
    for op in bound_ops(bmm_graph("bmm_sums", CMSIS_CASES[:-1], _rng("cmsis")), "cmsis-nn", isa):
        p = op.lowered.params
        batch = np.broadcast_shapes(p.lhs_batch_shape, p.rhs_batch_shape)
        out_dims = Dims(*cmsis_bmm.dims4(batch, p.rows, p.cols))
        assert op.scratch_bytes - cmsis_bmm.vector_sum_offset(op.lowered) == function(ctypes.byref(out_dims))


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_templates_read_exactly_the_bound_arrays(backend):
    from test_transpose_conv import assert_templates_read_their_arrays

    assert_templates_read_their_arrays(bmm_graph("bmm_arrays", CMSIS_CASES, _rng("cmsis")), backend)


@needs_cmsis
@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["qemu-m55", "qemu-m4-an386", "qemu-m0-an385"])
def test_cmsis_nn_in_qemu(board_name):
    """Helium, DSP and ARMv6-M builds, each call first checking its scratch with the library compiled for
    that target (TQ_CHECK_SCRATCH)."""
    from test_backend_cmsis_nn import _checking_scratch, _qemu_board
    from tinyq.verify import verify_qemu

    board = _qemu_board(board_name)
    compiled = compile_graph(bmm_graph("bmm_qemu", CMSIS_CASES, _rng("cmsis")), board, backend="cmsis-nn",
                             arena="fast")
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=4)
    assert report.result.ok, summarize(report.result, compiled.graph)


# --- refusals ----------------------------------------------------------------------------------

def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(lhs=(2, 3), rhs=(3, 4), out=(2, 4), dtype="int8", per_channel=False, adj_x=False, extra_input=False):
    b = GraphBuilder("bad")
    x = b.input(lhs, dtype=dtype, scale=0.1, zero_point=0)
    if per_channel:
        w = b.const(np.ones(rhs, np.int8), "int8", scale=[0.1] * rhs[0], zero_point=0, axis=0)
    else:
        w = b.input(rhs, dtype=dtype, scale=0.1, zero_point=0)
    inputs = [x, w] + ([b.input((1,), scale=0.1, zero_point=0)] if extra_input else [])
    y = b.activation(out, dtype=dtype, scale=0.1, zero_point=0)
    b.op("batch_matmul", inputs, [y], adj_x=adj_x)
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int32"), "only int8"),  # int16: tests/test_int16_ops.py
    (dict(lhs=(3,), out=(4,)), "lhs has rank 1; TFLM takes ranks 2 to 5"),
    (dict(lhs=(1, 1, 1, 1, 2, 3), out=(1, 1, 1, 1, 2, 4)), "rank 6"),
    (dict(adj_x=True), "do not multiply: 2 != 3"),
    (dict(lhs=(2, 2, 3), rhs=(3, 3, 4), out=(3, 2, 4)), "do not broadcast"),
    (dict(out=(2, 5)), "is not the product's shape"),
    (dict(extra_input=True), "expects 2 inputs"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(**kwargs))


def test_per_channel_operands_are_read_at_their_first_scale_like_tflm():
    """TFLM fills every tensor's per-tensor params from its first scale and zero point, and BATCH_MATMUL reads
    only those: per-channel operands and outputs run there at channel 0's parameters. tinyq refused them
    ('quantized per channel'); now it reads them as TFLM does."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("bmm_per_channel")
    x = b.input((2, 3, 4), scale=[0.05, 0.4], zero_point=[3, -9])  # along axis 0
    w = b.const(rng.integers(-127, 128, size=(2, 4, 5)), "int8", scale=[0.02, 0.3, 0.7, 1.1], zero_point=[1, 5, 0, 2],
                axis=1)
    y = b.activation((2, 3, 5), scale=[0.09, 2.0], zero_point=[-4, 1])
    b.op("batch_matmul", [x, w], [y])
    assert_bit_exact(b.build([y]), n_inputs=6)
