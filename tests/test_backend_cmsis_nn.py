"""The CMSIS-NN backend against TFLM, and its offline scratch sizes against the library's.

Needs CMSIS-NN (the pinned main 99f736a6: TINYQ_CMSIS_NN_DIR, which conftest points at
../shared/vendor, or an earlier fetch); skipped otherwise.
"""

from __future__ import annotations

import ctypes
import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from backend_models import MODELS, all_paths, configure_cmake_snippet, merge, seeded
from conftest import assert_bit_exact, bound_ops, shared_file
from tinyq import qmath
from tinyq.backends.cmsis_nn import rules as ck
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_file, compile_graph
from tinyq.ops.geometry import ConvWindow
from tinyq.tflite.reader import read_model_file
from tinyq.verify import summarize, verify_host

pytestmark = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                reason="set TINYQ_CMSIS_NN_DIR to a checkout of the pinned CMSIS-NN to test its backend")

MLPERF = ["kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite", "ad_fc_autoencoder_int8.tflite"]


def test_per_op_models_bit_exact_on_host():
    """Pure C CMSIS-NN (the host has no DSP or Helium) against TFLM's reference kernels:
    every per-op model of backend_models.py side by side in one build."""
    compiled = assert_bit_exact(all_paths(), n_inputs=10, backend="cmsis-nn")
    assert sum(c.optimized for c in compiled.bound.ops) == len(compiled.graph.operators) - 2


def test_per_op_models_reach_every_kernel():
    """The per-op models call every CMSIS-NN function tinyq uses, on each target's code path."""
    expected = {
        "scalar": {"arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8", "arm_convolve_1_x_n_s8", "arm_convolve_s8",
                   "arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt", "arm_depthwise_conv_s8",
                   "arm_fully_connected_s8", "arm_fully_connected_per_channel_s8", "arm_avgpool_s8",
                   "arm_max_pool_s8", "arm_elementwise_add_s8", "arm_elementwise_mul_s8", "arm_softmax_s8",
                   "arm_softmax_s8_s16"},
    }
    # on Helium tinyq's own kernels (tests/test_mve_kernels.py) run the 1x1, 1xN, fully connected,
    # multiplier-1 depthwise and add layers
    expected["mve"] = expected["scalar"] - {"arm_depthwise_conv_3x3_s8", "arm_convolve_1x1_s8_fast",
                                            "arm_convolve_1x1_s8", "arm_convolve_1_x_n_s8", "arm_fully_connected_s8",
                                            "arm_fully_connected_per_channel_s8", "arm_depthwise_conv_s8_opt",
                                            "arm_elementwise_add_s8"}
    expected["mve"] |= {"tq_mve_conv_s8", "tq_mve_depthwise_s8", "tq_mve_add_s8"}
    for isa, functions in expected.items():
        seen = {c.function for make in MODELS.values() for c in bound_ops(make(), "cmsis-nn", isa)}
        assert functions <= seen, (isa, functions - seen)


def test_broadcasting_add_falls_back_with_a_reason():
    choices = bound_ops(MODELS["add_mul_paths"](), "cmsis-nn")
    fallbacks = [c.reason for c in choices if not c.optimized]
    assert len(fallbacks) == 2 and all("broadcasts" in r for r in fallbacks)


def mlperf_models():
    """The three MLPerf Tiny int8 models side by side in one graph: one build checks them all."""
    return merge([read_model_file(shared_file("models", "mlperf-tiny", m)) for m in MLPERF], "mlperf")


@pytest.mark.slow
def test_mlperf_models_bit_exact_on_host():
    board = get_board("host")
    compiled = compile_graph(mlperf_models(), board, backend="cmsis-nn")
    assert all(c.optimized or "view" in c.reason for c in compiled.bound.ops)
    result = verify_host(compiled, board, n_inputs=20)
    assert result.ok, summarize(result, compiled.graph)


def test_helium_build_precomputes_weight_sums_and_sizes_scratch_for_mve():
    """For qemu-m55 the fully connected calls get weight sums in flash (folded into the packed
    records of tinyq's Helium kernel) and the convolutions Helium's scratch; the same model for
    the host gets neither."""
    path = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    m55 = compile_file(path, get_board("qemu-m55"), backend="cmsis-nn")
    host = compile_file(path, get_board("host"), backend="cmsis-nn")
    m55_c, host_c = (c.source.files["kws_dscnn_int8_model.c"] for c in (m55, host))
    fc = next(i for i, op in enumerate(m55.graph.operators) if op.op == "fully_connected")
    assert f"tq_op{fc}_mve_packed[" in m55_c and "_kernel_sum[" not in host_c and "_mve_packed[" not in host_c
    first_conv = [c.scratch_bytes for c in (m55.bound.ops[0], host.bound.ops[0])]
    # 10x4 filter over 1 channel: tinyq's Helium kernel plans its 2 im2col rows of 48 bytes and a held
    # pixel of 64 channels, CMSIS-NN's scalar path two int16 columns of 40
    assert first_conv == [2 * 48 + 64, 160]


# --- scratch sizes: tinyq's port against the library's *_get_buffer_size functions ------------------

class Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in "nhwc"]


def _conv_params_type(extra=()):
    fields = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32), *extra]
    fields += [(f"{t}_{a}", ctypes.c_int32) for t in ("stride", "padding", "dilation") for a in "wh"]
    fields += [("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]
    return type("Params", (ctypes.Structure,), {"_fields_": fields})


ConvParams = _conv_params_type()
DwParams = _conv_params_type([("ch_mult", ctypes.c_int32)])


@pytest.fixture(scope="module")
def cmsis_so(tmp_path_factory) -> ctypes.CDLL:
    """The library compiled for the host as a shared object (archive from tinyq's cache)."""
    archive = libraries.build_archive("cmsis-nn", "cc", ("-O1", "-fPIC"))
    so = tmp_path_factory.mktemp("cmsis") / "libcmsis_nn.so"
    subprocess.run(["cc", "-shared", "-o", str(so), "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive"],
                   check=True)
    lib = ctypes.CDLL(str(so))
    for name in ("arm_convolve_wrapper_s8_get_buffer_size", "arm_depthwise_conv_wrapper_s8_get_buffer_size",
                 "arm_avgpool_s8_get_buffer_size", "arm_fully_connected_s8_get_buffer_size"):
        for suffix in ("", "_dsp", "_mve"):
            getattr(lib, name + suffix).restype = ctypes.c_int32
    return lib


SUFFIX = {"scalar": "", "dsp": "_dsp", "mve": "_mve"}


def _random_shape(rng, depthwise: bool) -> ConvWindow:
    in_h, in_w = (1 if rng.random() < 0.3 else int(rng.integers(1, 12))), int(rng.integers(1, 12))
    in_d = int(rng.choice([1, 2, 3, 4, 8, 16, 17, 64]))
    fh, fw = (1 if in_h == 1 and rng.random() < 0.7 else int(rng.integers(1, 6))), int(rng.integers(1, 6))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    dh, dw = (1, 1) if rng.random() < 0.7 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad_h, pad_w = (0, 0) if rng.random() < 0.4 else (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    out_h, out_w = max(1, (in_h + sh - 1) // sh), max(1, (in_w + sw - 1) // sw)
    out_d = in_d * int(rng.choice([1, 2, 4, 8])) if depthwise else int(rng.integers(1, 40))
    return ConvWindow(batches=int(rng.choice([1, 1, 2])), in_h=in_h, in_w=in_w, in_d=in_d, out_h=out_h,
                        out_w=out_w, out_d=out_d, filter_h=fh, filter_w=fw, filter_d=out_d if depthwise else in_d,
                        stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, pad_h=pad_h, pad_w=pad_w)


def _c_args(s: ConvWindow, params_type, depthwise: bool):
    extra = {"ch_mult": s.out_d // s.in_d} if depthwise else {}
    params = params_type(input_offset=0, output_offset=0, stride_w=s.stride_w, stride_h=s.stride_h,
                         padding_w=s.pad_w, padding_h=s.pad_h, dilation_w=s.dilation_w, dilation_h=s.dilation_h,
                         act_min=-128, act_max=127, **extra)
    filt = Dims(1, s.filter_h, s.filter_w, s.out_d) if depthwise else Dims(s.out_d, s.filter_h, s.filter_w, s.in_d)
    return (ctypes.byref(params), ctypes.byref(Dims(s.batches, s.in_h, s.in_w, s.in_d)), ctypes.byref(filt),
            ctypes.byref(Dims(s.batches, s.out_h, s.out_w, s.out_d)))


@pytest.mark.parametrize("isa", sorted(SUFFIX))
def test_conv_scratch_matches_library(cmsis_so, isa):
    rng = seeded("conv scratch", isa)
    for _ in range(400):
        s = _random_shape(rng, depthwise=False)
        if ck.conv_function(s, isa) != ck.wrapper_conv_function(s):
            assert isa == "mve" and ck.total_pad_w(s) < 0  # the one kernel tinyq avoids
            continue
        want = getattr(cmsis_so, "arm_convolve_wrapper_s8_get_buffer_size" + SUFFIX[isa])(*_c_args(s, ConvParams,
                                                                                                   False))
        assert ck.conv_scratch_bytes(s, isa) == want, (isa, s)


@pytest.mark.parametrize("isa", sorted(SUFFIX))
def test_depthwise_scratch_matches_library(cmsis_so, isa):
    """The library's Helium size for a one-input-channel depthwise also holds the filter it
    transposes at run time; tinyq transposes it offline, so that part is not scratch."""
    rng = seeded("dw scratch", isa)
    for _ in range(400):
        s = _random_shape(rng, depthwise=True)
        conv = ck.depthwise_conv_shape(s)
        if ck.depthwise_as_conv(s, isa) and ck.conv_function(conv, isa) != ck.wrapper_conv_function(conv):
            continue  # the Helium 1xN kernel tinyq avoids (test_conv_scratch_matches_library)
        want = getattr(cmsis_so, "arm_depthwise_conv_wrapper_s8_get_buffer_size" + SUFFIX[isa])(
            *_c_args(s, DwParams, True))
        transposed = s.out_d * s.filter_h * s.filter_w if ck.depthwise_as_conv(s, isa) else 0
        assert ck.depthwise_scratch_bytes(s, isa) + transposed == want, (isa, s)


@pytest.mark.parametrize("isa", sorted(SUFFIX))
def test_pool_and_fc_scratch_match_library(cmsis_so, isa):
    for out_w, ch in ((1, 1), (7, 3), (13, 64)):
        want = getattr(cmsis_so, "arm_avgpool_s8_get_buffer_size" + SUFFIX[isa])(out_w, ch)
        assert ck.avgpool_scratch_bytes(ch, isa) == want
    fc = getattr(cmsis_so, "arm_fully_connected_s8_get_buffer_size" + SUFFIX[isa])(ctypes.byref(Dims(40, 1, 1, 9)))
    assert fc == (9 * 4 if ck.fully_connected_sums_needed(isa) else 0)


def test_vector_sums_match_library(cmsis_so):
    rng = seeded("vector sums")
    for input_offset, filter_offset, with_bias in ((128, 0, True), (-5, 3, False), (0, 0, True), (77, -2, True)):
        w = rng.integers(-128, 128, size=(11, 29)).astype(np.int8)
        bias = rng.integers(-50000, 50000, size=11).astype(np.int32) if with_bias else None
        out = np.zeros(11, dtype=np.int32)
        cmsis_so.arm_vector_sum_s8(out.ctypes.data_as(ctypes.c_void_p), 29, 11, w.ctypes.data_as(ctypes.c_void_p),
                                   input_offset, filter_offset,
                                   bias.ctypes.data_as(ctypes.c_void_p) if bias is not None else None)
        assert qmath.accumulator_start(w, input_offset, bias, filter_offset).tolist() == out.tolist()


def test_generated_cmake_pins_the_release_or_uses_the_checkout(tmp_path):
    """The CMake snippet fetches the pinned commit, or (as here) builds the checkout in TINYQ_CMSIS_NN_DIR."""
    compiled = compile_graph(MODELS["softmax_int8"](), get_board("host"), backend="cmsis-nn")
    cmake = compiled.source.files["cmsis_nn.cmake"]
    assert "set(TINYQ_CMSIS_NN_COMMIT 99f736a63036613032f9b70de36b493bcd7802d4)" in cmake
    assert "GIT_TAG ${TINYQ_CMSIS_NN_COMMIT}" in cmake and "TINYQ_CMSIS_NN_DIR" in cmake
    assert compiled.source.libraries == ("cmsis-nn",)
    sources = configure_cmake_snippet(tmp_path, compiled.source.files, "cmsis_nn.cmake", "tinyq_cmsis_nn")
    assert sources == len(libraries.source_files("cmsis-nn"))


def test_library_archive_is_cached():
    first = libraries.build_archive("cmsis-nn", "cc", ("-std=c99", "-O2"))
    assert libraries.build_archive("cmsis-nn", "cc", ("-std=c99", "-O2")) == first
    assert first.is_file() and Path(first).stat().st_size > 10_000


# --- the same models as Cortex-M firmware under QEMU: Helium, DSP and ARMv6-M code paths -----------

def _m4_dsp_board():
    """QEMU's MPS2 AN386 (Cortex-M4, DSP extension) has the AN385's memory map and UART: the
    ARMv6-M stand-in's board description with the M4's CPU flags runs CMSIS-NN's DSP path."""
    base = get_board("qemu-m0-an385")
    return dataclasses.replace(
        base, name="qemu-m4-an386", core="cortex-m4", isa_features=("dsp",), stand_in_for="",
        toolchain=dataclasses.replace(base.toolchain, cflags=("-mcpu=cortex-m4", "-mthumb", "-O2")),
        qemu=dataclasses.replace(base.qemu, machine="mps2-an386"))


QEMU_BOARDS = {"qemu-m55": lambda: get_board("qemu-m55"), "qemu-m0-an385": lambda: get_board("qemu-m0-an385"),
               "qemu-m4-an386": _m4_dsp_board}


def _qemu_board(name: str):
    board = QEMU_BOARDS[name]()
    for tool in (board.toolchain.cc, "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    return board


def _checking_scratch(compiled):
    """The build with TQ_CHECK_SCRATCH: every call first asks the library, compiled for this
    target, for its scratch size, and the firmware fails unless it is what tinyq planned."""
    files = dict(compiled.source.files)
    files["tq_cmsis_nn.h"] = "#define TQ_CHECK_SCRATCH 1\n" + files["tq_cmsis_nn.h"]
    return dataclasses.replace(compiled, source=dataclasses.replace(compiled.source, files=files))


@pytest.mark.slow
@pytest.mark.parametrize("board_name", sorted(QEMU_BOARDS))
def test_per_op_models_bit_exact_in_qemu(board_name):
    from tinyq.verify import verify_qemu
    board = _qemu_board(board_name)
    compiled = compile_graph(all_paths(), board, backend="cmsis-nn")
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=4)
    assert report.result.ok, summarize(report.result, compiled.graph)


@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["qemu-m55", "qemu-m0-an385"])
def test_mlperf_models_bit_exact_in_qemu(board_name):
    from tinyq.verify import verify_qemu
    board = _qemu_board(board_name)
    compiled = compile_graph(mlperf_models(), board, backend="cmsis-nn")
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=3)
    assert report.result.ok, summarize(report.result, compiled.graph)
