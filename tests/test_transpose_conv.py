"""TRANSPOSE_CONV against TFLM: SAME/VALID, strides 1-4, filters smaller and larger than the stride,
output sizes other than the converter's (cropped, output_padding), batches, per-tensor and
per-channel weights, no bias, fused activations, zero points at the ends; CMSIS-NN's two paths on
the host and under QEMU with the library's scratch sizes; the shapes where the pinned CMSIS-NN's
arm_transpose_conv_s8 differs from TFLM, found by running the library itself; the refusals."""

from __future__ import annotations

import ctypes
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from test_backend_cmsis_nn import cmsis_so  # noqa: F401  (the library fixture)
from tinyq.backends.cmsis_nn import transpose_conv as cmsis_tc
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph, lower_op
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize, verify_host

HAVE_CMSIS = libraries.available("cmsis-nn")
CONVERTER = Path(__file__).resolve().parent / "data" / "converter"  # made by make_models.py there
needs_cmsis = pytest.mark.skipif(not HAVE_CMSIS, reason="set TINYQ_CMSIS_NN_DIR to a checkout of the pinned CMSIS-NN")


def _rng(name) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(name).encode()))


def converter_output(in_hw, kernel, stride, padding):
    """The output size TFLite's converter gives (Keras Conv2DTranspose without output_padding)."""
    if padding == "SAME":
        return tuple(i * s for i, s in zip(in_hw, stride))
    return tuple((i - 1) * s + k for i, k, s in zip(in_hw, kernel, stride))


def add_transpose_conv(b, rng, x, in_shape, out_d, kernel, stride, padding="SAME", out_hw=None, bias=True,
                       per_channel=True, activation="NONE", out_quant=None, name=None):
    n, h, w, c = in_shape
    out_hw = out_hw or converter_output((h, w), kernel, stride, padding)
    scales = rng.uniform(0.003, 0.03, size=out_d) if per_channel else 0.01
    weights = b.const(rng.integers(-127, 128, size=(out_d, *kernel, c)), "int8", scale=scales, zero_point=0, axis=0)
    out_shape = (n, *out_hw, out_d)
    inputs = [b.const(np.array(out_shape, np.int32), "int32"), weights, x]
    if bias:
        inputs.append(b.const(rng.integers(-4000, 4000, size=out_d), "int32"))
    q = out_quant or dict(scale=float(rng.uniform(0.05, 0.3)), zero_point=int(rng.integers(-20, 20)))
    y = b.activation(out_shape, **q, name=name or f"tconv{list(in_shape)}{list(out_hw)}{kernel}{stride}{padding}")
    b.op("transpose_conv", inputs, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         fused_activation_function=activation)
    return y


def tconv_graph(name, cases, rng):
    """cases: (input shape, out_d, kernel, stride, padding, {other add_transpose_conv arguments})."""
    b = GraphBuilder(name)
    outs = []
    for in_shape, out_d, kernel, stride, padding, *extra in cases:
        x = b.input(in_shape, scale=0.05, zero_point=int(rng.integers(-40, 40)))
        options = extra[0] if extra else {}
        outs.append(add_transpose_conv(b, rng, x, in_shape, out_d, kernel, stride, padding, **options))
    return b.build(outs)


CASES = [((1, 3, 4, 5), 7, (3, 3), (2, 2), "SAME"),
         ((1, 3, 4, 5), 4, (3, 3), (2, 2), "VALID"),
         ((2, 4, 4, 3), 6, (3, 3), (1, 1), "SAME", dict(bias=False)),
         ((1, 2, 3, 20), 5, (4, 4), (3, 3), "SAME", dict(per_channel=False, activation="RELU")),
         ((1, 5, 1, 4), 3, (5, 1), (2, 1), "SAME", dict(activation="RELU6")),
         ((1, 3, 3, 2), 3, (2, 3), (2, 2), "VALID", dict(out_hw=(8, 7))),  # output_padding: rows no input reaches
         ((1, 3, 3, 2), 3, (3, 3), (2, 2), "VALID", dict(out_hw=(4, 5))),  # cropped
         ((1, 4, 3, 6), 2, (1, 1), (3, 4), "VALID"),  # filter smaller than the stride: gaps of bias only
         ((1, 2, 2, 8), 4, (6, 5), (1, 2), "SAME"),  # filter much larger than the input
         ((1, 1, 1, 9), 5, (4, 4), (4, 4), "VALID"),
         ((1, 3, 5, 17), 8, (4, 4), (2, 2), "SAME"),
         ((2, 2, 3, 24), 3, (3, 2), (1, 2), "VALID", dict(bias=False))]


def test_options_and_output_sizes():
    assert_bit_exact(tconv_graph("tconv_options", CASES, _rng("options")), n_inputs=8)


def test_zero_points_and_saturation():
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    b = GraphBuilder("tconv_limits")
    rng = _rng("limits")
    outs = []
    for in_q, out_q in ((q(0.1, -128), q(0.01, 127)), (q(0.1, 127), q(0.02, -128)), (q(0.5, 0), q(5.0, 0))):
        x = b.input((1, 3, 3, 6), **in_q)
        outs.append(add_transpose_conv(b, rng, x, (1, 3, 3, 6), 4, (3, 3), (2, 2), out_quant=out_q,
                                       name=f"tconv{in_q['zero_point']}{out_q['zero_point']}"))
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_reference_on_every_target():
    assert_bit_exact_on_targets(tconv_graph("tconv_targets", CASES[:2] + CASES[5:8], _rng("targets")), n_inputs=4)


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_converter_decoder(backend):
    """Four Conv2DTranspose layers as TFLite's converter writes them, TFLM run on the file's own bytes;
    CMSIS-NN takes the stride-2 layers over 24 and 20 channels as reverse convolutions."""
    if backend == "cmsis-nn" and not HAVE_CMSIS:
        pytest.skip("set TINYQ_CMSIS_NN_DIR to a checkout of the pinned CMSIS-NN")
    board = get_board("host")
    compiled = compile_file(CONVERTER / "tconv_decoder.tflite", board, backend=backend, arena="fast")
    result = verify_host(compiled, board, n_inputs=20)
    assert result.ok, summarize(result, compiled.graph)
    if backend == "cmsis-nn":
        assert [op.function for op in compiled.bound.ops] == ["arm_convolve_s8", "", "arm_convolve_s8",
                                                             "arm_transpose_conv_s8", "arm_transpose_conv_s8"]


# --- CMSIS-NN ----------------------------------------------------------------------------------

def random_cases(rng, count):
    cases = []
    for _ in range(count):
        in_hw = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        kernel, stride = tuple(int(v) for v in rng.integers(1, 6, 2)), tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = str(rng.choice(["SAME", "VALID"]))
        out_hw = converter_output(in_hw, kernel, stride, padding)
        if rng.random() < 0.25:
            out_hw = tuple(max(1, o + int(rng.integers(-2, 3))) for o in out_hw)
        cases.append(((int(rng.choice([1, 1, 2])), *in_hw, int(rng.choice([1, 3, 8, 16, 17, 24, 33]))),
                      int(rng.choice([1, 2, 5, 8])), kernel, stride, padding,
                      dict(out_hw=out_hw, bias=bool(rng.random() < 0.8),
                           activation=str(rng.choice(["NONE", "RELU", "RELU6"])))))
    return cases


@needs_cmsis
def test_cmsis_nn_on_host():
    """The fixed cases and random ones: both library paths and the fallbacks, bit-exact."""
    graph = tconv_graph("tconv_cmsis", CASES + random_cases(_rng("cmsis"), 30), _rng("cmsis"))
    compiled = assert_bit_exact(graph, n_inputs=6, backend="cmsis-nn")
    functions = {op.function for op in compiled.bound.ops}
    assert {"arm_convolve_s8", "arm_transpose_conv_s8"} <= functions
    # the pinned release has #233's fix: top padding that is not a multiple of the stride runs in the library
    assert any(op.function == "arm_transpose_conv_s8" and op.lowered.params.pad_h % op.lowered.params.stride_h
               for op in compiled.bound.ops)


def test_v7_workaround_follows_the_pin(monkeypatch):
    """The #233 fallback is kept for a pin without the fix (v7.0.0), and only there."""
    import dataclasses

    from tinyq.libraries import LIBRARIES

    graph = tconv_graph("pad", [((1, 3, 4, 5), 4, (4, 4), (2, 2), "SAME")], _rng("pad"))
    p = lower_op(graph, graph.operators[0]).params
    assert p.pad_h % p.stride_h and not cmsis_tc.reverse_conv(p)
    assert cmsis_tc.transpose_conv_reason(p) is None
    v7 = dataclasses.replace(LIBRARIES["cmsis-nn"], fixes=frozenset())
    monkeypatch.setitem(LIBRARIES, "cmsis-nn", v7)
    assert "#233" in cmsis_tc.transpose_conv_reason(p)


@needs_cmsis
@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["qemu-m55", "qemu-m4-an386", "qemu-m0-an385"])
def test_cmsis_nn_in_qemu(board_name):
    """Helium, DSP and ARMv6-M builds; every call first checks its scratch against
    arm_transpose_conv_s8_get_buffer_size compiled for that target (TQ_CHECK_SCRATCH)."""
    from test_backend_cmsis_nn import _checking_scratch, _qemu_board
    from tinyq.verify import verify_qemu

    board = _qemu_board(board_name)
    graph = tconv_graph("tconv_qemu", CASES + random_cases(_rng("qemu"), 20), _rng("qemu"))
    compiled = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    assert sum(op.optimized for op in compiled.bound.ops) >= len(CASES)
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=3)
    assert report.result.ok, summarize(report.result, compiled.graph)
    if board_name == "qemu-m55":  # as users build it: no scratch checks, every declaration still used
        plain = compile_file(CONVERTER / "tconv_decoder.tflite", board, backend="cmsis-nn", arena="fast")
        report = verify_qemu(plain, board, n_inputs=2)
        assert report.result.ok, summarize(report.result, plain.graph)


def assert_templates_read_their_arrays(graph, backend):
    """tests/test_bind.py's check on these ops: each call template references exactly the flash arrays its
    bound kernel declares, on every code path of the backend."""
    from tinyq.backends import get_backend
    from tinyq.bind import bind
    from tinyq.codegen.generate import render_call
    from tinyq.ops.base import Target
    from tinyq.passes.fold import fold_constants
    from tinyq.plan import plan_memory
    from tinyq.plan.flash import array_table

    lowered = lower_graph(fold_constants(graph))
    for isa in (("scalar", "dsp", "mve") if backend == "cmsis-nn" else ("scalar",)):
        bound = bind(lowered, get_backend(backend), Target(isa=isa))
        table, plan = array_table(bound), plan_memory(bound)
        for position, op in enumerate(bound.ops):
            *_, referenced = render_call(op, position, bound.graph, plan, table.symbols[position])
            assert referenced == {c.name for c in op.consts}, (backend, isa, op.lowered.kernel, op.function)


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_templates_read_exactly_the_bound_arrays(backend):
    assert_templates_read_their_arrays(tconv_graph("tconv_arrays", CASES, _rng("arrays")), backend)


# The library itself, called through ctypes on the host, against TFLM on random shapes.

class _Tile(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int32), ("h", ctypes.c_int32)]


class _Activation(ctypes.Structure):
    _fields_ = [("min", ctypes.c_int32), ("max", ctypes.c_int32)]


class _TransposeConvParams(ctypes.Structure):
    _fields_ = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32), ("stride", _Tile),
                ("padding", _Tile), ("padding_offsets", _Tile), ("dilation", _Tile), ("activation", _Activation)]


class _Context(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("size", ctypes.c_int32)]


class _Quant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.c_void_p), ("shift", ctypes.c_void_p)]


class _Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in "nhwc"]


GUARD = 1024  # bytes checked on each side of every buffer the library writes


@pytest.fixture(scope="module")
def cmsis_lib(cmsis_so) -> ctypes.CDLL:
    for name in ("arm_transpose_conv_s8_get_buffer_size", "arm_transpose_conv_s8_get_reverse_conv_buffer_size",
                 "arm_transpose_conv_wrapper_s8"):
        getattr(cmsis_so, name).restype = ctypes.c_int32
    return cmsis_so


def _args(p):
    params = _TransposeConvParams(p.input_offset, p.output_offset, _Tile(p.stride_w, p.stride_h),
                                  _Tile(p.pad_w, p.pad_h), _Tile(0, 0), _Tile(1, 1), _Activation(p.act_min, p.act_max))
    dims = (_Dims(p.batches, p.in_h, p.in_w, p.in_d), _Dims(p.out_d, p.filter_h, p.filter_w, p.in_d),
            _Dims(p.batches, p.out_h, p.out_w, p.out_d))
    return params, dims


def _library_sizes(lib, p):
    params, (in_dims, filter_dims, out_dims) = _args(p)
    size = lib.arm_transpose_conv_s8_get_buffer_size(ctypes.byref(params), ctypes.byref(in_dims),
                                                     ctypes.byref(filter_dims), ctypes.byref(out_dims))
    reverse = lib.arm_transpose_conv_s8_get_reverse_conv_buffer_size(ctypes.byref(params), ctypes.byref(in_dims),
                                                                     ctypes.byref(filter_dims))
    return size, reverse


def _run_library(lib, k, x: np.ndarray) -> bytes | None:
    """arm_transpose_conv_wrapper_s8 as TFLM's glue calls it, with the library's own buffer sizes, in a
    child process (a wrong shape can corrupt the heap); None when it fails or writes outside its buffers."""
    p = k.params
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        try:
            params, (in_dims, filter_dims, out_dims) = _args(p)
            size, reverse = _library_sizes(lib, p)
            bufs = [np.full(n + 2 * GUARD, 0x5A, np.uint8) for n in (size, reverse, out_dims.n * out_dims.h *
                                                                      out_dims.w * out_dims.c)]
            ptr = lambda a, off=0: ctypes.c_void_p(a.ctypes.data + off)  # noqa: E731
            mult, shift = k.const("multiplier").astype(np.int32), k.const("shift").astype(np.int32)
            filt, bias = k.const("filter"), k.const("bias")
            status = lib.arm_transpose_conv_wrapper_s8(
                ctypes.byref(_Context(bufs[0].ctypes.data + GUARD, size)),
                ctypes.byref(_Context(bufs[1].ctypes.data + GUARD, reverse)), ctypes.byref(params),
                ctypes.byref(_Quant(mult.ctypes.data, shift.ctypes.data)), ctypes.byref(in_dims), ptr(x),
                ctypes.byref(filter_dims), ptr(filt), ctypes.byref(_Dims(1, 1, 1, p.out_d)),
                None if bias is None else ptr(bias), ctypes.byref(out_dims), ptr(bufs[2], GUARD))
            clean = all((b[:GUARD] == 0x5A).all() and (b[-GUARD:] == 0x5A).all() for b in bufs)
            os.write(writer, pickle.dumps(bufs[2][GUARD:-GUARD].tobytes() if status == 0 and clean else None))
        finally:
            os._exit(0)
    os.close(writer)
    data = b""
    while chunk := os.read(reader, 1 << 16):
        data += chunk
    os.close(reader)
    os.waitpid(pid, 0)
    return pickle.loads(data) if data else None


@needs_cmsis
def test_library_against_tflm_on_random_shapes(cmsis_lib):
    """Where tinyq calls the pinned CMSIS-NN for a transpose convolution, the library's own wrapper gives
    TFLM's bytes; where tinyq falls back with a reason, it does not (so no fallback is needless);
    its buffer sizes are the ones tinyq plans (the reversed filter lives in flash instead)."""
    rng = _rng("library")
    seen = {"reverse": 0, "direct": 0, "refused": 0, "direct, top padding off the stride (#233)": 0}
    for case in random_cases(rng, 150):
        graph = tconv_graph("one", [case], rng)
        k = lower_op(graph, graph.operators[0])
        p = k.params
        x = rng.integers(-128, 128, size=graph.tensors[graph.inputs[0]].shape, dtype=np.int8)
        want = tflm_run(write_model(graph), [[x]])[0][0].tobytes()
        got = _run_library(cmsis_lib, k, x)
        reason = None if cmsis_tc.reverse_conv(p) else cmsis_tc.transpose_conv_reason(p)
        assert (got == want) == (reason is None), (p, reason)
        seen["reverse" if cmsis_tc.reverse_conv(p) else "refused" if reason else "direct"] += 1
        if reason is None and not cmsis_tc.reverse_conv(p) and p.pad_h % p.stride_h:
            seen["direct, top padding off the stride (#233)"] += 1
        if reason is None:
            assert _library_sizes(cmsis_lib, p) == (cmsis_tc.scratch_bytes(p, "scalar"),
                                                    cmsis_tc.reversed_filter_bytes(p))
    assert min(seen.values()) >= 10 and sorted(seen.values())[1] >= 20, seen


# --- refusals ----------------------------------------------------------------------------------

def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(dtype="int8", filter_dtype="int8", out_d=4, in_d=3, batch_out=1, padding="SAME", extra=False,
         bias_dtype="int32"):
    b = GraphBuilder("bad")
    x = b.input((1, 2, 2, in_d), dtype=dtype, scale=0.1, zero_point=0)
    w = b.const(np.ones((4, 3, 3, 3)), filter_dtype, scale=0.01, zero_point=0)
    inputs = [b.const(np.array([batch_out, 4, 4, out_d], np.int32), "int32"), w, x,
              b.const(np.zeros(4), bias_dtype)]
    if extra:
        inputs.append(b.const(np.zeros(4), "int32"))
    y = b.activation((batch_out, 4, 4, out_d), dtype=dtype, scale=0.1, zero_point=0)
    b.op("transpose_conv", inputs, [y], padding=padding, stride_h=2, stride_w=2)
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int16"), "bias is int32; with int16 activations TFLM takes int64 or int16"),  # 16x8: test_int16_conv.py
    (dict(filter_dtype="float32"), "filter is float32"),
    (dict(in_d=5), "disagree on batch or depth"),
    (dict(out_d=5), "disagree on batch or depth"),
    (dict(batch_out=2), "disagree on batch or depth"),
    (dict(bias_dtype="int64"), "bias is int64"),
    (dict(extra=True), "expects 3 or 4 inputs"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(**kwargs))
