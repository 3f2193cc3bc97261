"""CMSIS-NN's s16 kernels against TFLM: where tinyq binds them (and why not elsewhere), their scratch
against the library's own size functions on each code path, the rules that keep them bit-exact
shown to be needed, and the int16 op families on every target with every backend.

Needs a CMSIS-NN v7.0.0 checkout in TINYQ_CMSIS_NN_DIR (conftest points it at ../shared/vendor).
"""

from __future__ import annotations

import ctypes
import subprocess

import numpy as np
import pytest

import test_int16_conv as conv
import test_int16_ops as ops
from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq import qmath
from tinyq.backends.cmsis_nn import elementwise_s16, rules_s16
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.golden import tflm_run
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize

pytestmark = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout to test its backend")


def conv_family() -> object:
    """CONV_2D (int64, int32 and no bias), DEPTHWISE_CONV_2D (the wrapper's fast kernel: multiplier 1,
    no dilation; and the generic one) and per-tensor FULLY_CONNECTED, 16x8."""
    rng = conv._rng("cmsis conv family")
    b = GraphBuilder("conv_s16_family")
    outs = []
    for i in range(10):
        shape = (int(rng.integers(1, 3)), int(rng.integers(3, 9)), int(rng.integers(3, 9)), int(rng.integers(1, 9)))
        bias, qbt = conv.BIASES[i % len(conv.BIASES)]
        outs.append(conv.add_conv_s16(b, rng, conv._input(b, rng, shape), shape, bias=bias, qbt=qbt,
                                      activation=conv.ACTIVATIONS[i % 4]))
        dilation = (1, 1) if i % 3 else None
        outs.append(conv.add_depthwise_s16(b, rng, conv._input(b, rng, shape), shape, bias=bool(i % 3),
                                           multiplier=1 + (i % 4 == 3), dilation=dilation,
                                           activation=conv.ACTIVATIONS[i % 4]))
        fc_shape = (int(rng.integers(1, 4)), int(rng.integers(1, 40)))
        outs.append(conv.add_fc_s16(b, rng, conv._input(b, rng, fc_shape), fc_shape, int(rng.integers(1, 12)),
                                    bias=("int64", None)[i % 2], per_channel=False, activation=conv.ACTIVATIONS[i % 4]))
    return b.build(outs)


def elementwise_family() -> object:
    """ADD, MUL (equal shapes), both poolings, SOFTMAX rows of 2 to 8 values."""
    rng = ops._rng("cmsis ew family")
    b = GraphBuilder("ew_s16_family")
    outs = []
    for op in ("add", "mul"):
        for shape, act in (((3, 7), "NONE"), ((2, 5, 9), "RELU"), ((1, 3), "RELU6"), ((64,), "RELU_N1_TO_1")):
            x, w = (b.input(shape, "int16", **ops._q(rng)) for _ in range(2))
            qy = ops._q(rng, 4e-5, 4e-4) if op == "add" else dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=0)
            y = b.activation(shape, "int16", **qy)
            b.op(op, [x, w], [y], fused_activation_function=act)
            outs.append(y)
    x = b.input((2, 9, 7, 5), "int16", scale=1e-3, zero_point=0)
    for kind in ("average_pool_2d", "max_pool_2d"):
        for padding, (oh, ow), act in (("SAME", (5, 4), "NONE"), ("VALID", (4, 3), "RELU")):
            y = b.activation((2, oh, ow, 5), "int16", scale=1e-3, zero_point=0)
            b.op(kind, [x], [y], padding=padding, filter_height=3, filter_width=3, stride_h=2, stride_w=2,
                 fused_activation_function=act)
            outs.append(y)
    for depth in range(*elementwise_s16.SOFTMAX_S16_DEPTHS):
        s = b.input((3, depth + 1), "int16", scale=float(rng.uniform(1e-4, 2e-3)), zero_point=0)
        y = b.activation((3, depth + 1), "int16", scale=1 / 32768, zero_point=0)
        b.op("softmax", [s], [y], beta=1.0)
        outs.append(y)
    return b.build(outs)


def test_conv_family_runs_cmsis_nn_bit_exact_on_host():
    graph = conv_family()
    for isa in ("scalar", "dsp", "mve"):
        bound = bound_ops(graph, "cmsis-nn", isa)
        assert all(c.optimized for c in bound), [c.reason for c in bound if not c.optimized]
        fast = {c.function for c in bound if c.lowered.kernel == "depthwise_conv_2d_s16"}
        assert fast == ({"arm_depthwise_conv_s16"} if isa == "scalar" else
                        {"arm_depthwise_conv_fast_s16", "arm_depthwise_conv_s16"}), (isa, fast)
    assert_bit_exact(graph, n_inputs=12, backend="cmsis-nn")


def test_elementwise_family_runs_cmsis_nn_bit_exact_on_host():
    graph = elementwise_family()
    bound = bound_ops(graph, "cmsis-nn")
    assert all(c.optimized for c in bound), [c.reason for c in bound if not c.optimized]
    assert_bit_exact(graph, n_inputs=20, backend="cmsis-nn")


def _fallback(graph) -> str:
    (choice,) = bound_ops(graph, "cmsis-nn")
    assert not choice.optimized
    return choice.reason


def _fc(per_channel=False, bias="int64", zp=0, qbt="FLOAT32"):
    b = GraphBuilder("fc")
    rng = conv._rng("fc fallback")
    x = b.input((2, 8), "int16", scale=1e-3, zero_point=zp)
    return b.build([conv.add_fc_s16(b, rng, x, (2, 8), 3, bias=bias, per_channel=per_channel, qbt=qbt)])


def _conv(w_value=None, bias_value=None, groups=1, cin=4, padding="SAME"):
    b = GraphBuilder("conv")
    x = b.input((1, 3, 3, cin), "int16", scale=1e-3, zero_point=0)
    w = b.const(np.full((2, 3, 3, cin // groups), 1 if w_value is None else w_value), "int8", scale=[0.01, 0.01],
                axis=0)
    bias = b.const(np.full(2, 0 if bias_value is None else bias_value), "int64")
    y = b.activation((1, 3, 3, 2) if padding == "SAME" else (1, 1, 1, 2), "int16", scale=0.5, zero_point=0)
    b.op("conv_2d", [x, w, bias], [y], padding=padding)
    return b.build([y])


@pytest.mark.parametrize("graph, reason", [
    (lambda: _fc(per_channel=True), "takes one multiplier"),
    (lambda: _fc(bias="int32"), "takes an int64 bias"),
    (lambda: _fc(bias=None, qbt="INT32"), "takes an int64 bias"),
    (lambda: _fc(zp=3), "ignores zero points"),
    (lambda: _conv(groups=2), "no grouped convolution"),
    (lambda: _conv(w_value=-128, cin=64), "in int32 first"),
    (lambda: _conv(bias_value=2**47 - 1), "one more bit than TFLM"),
    (lambda: ops.binary_graph("b", "sub", ops._rng("s"), False), "has no sub_s16 kernel"),
    (lambda: ops.binary_graph("b", "add", ops._rng("a"), True), "ignores zero points"),
    (lambda: ops.binary_graph("b", "mul", ops._rng("m"), False), "broadcasts its operands"),
])
def test_cmsis_nn_s16_fallbacks_say_why(graph, reason):
    g = graph()
    if len(g.operators) == 1:
        assert reason in _fallback(g)
    else:
        assert any(reason in c.reason for c in bound_ops(g, "cmsis-nn") if not c.optimized)


def test_int32_sum_rule_is_needed(monkeypatch):
    """Without rules_s16's bound, a row of 576 products of -128 and -32768 (2^31 and more) runs in
    CMSIS-NN, whose int32 partial sum wraps: TFLM's output saturates one way, the library's the other."""
    monkeypatch.setattr(rules_s16, "int32_sum_reason", lambda *a, **k: None)
    monkeypatch.setattr(rules_s16, "requantize_reason", lambda *a, **k: None)
    graph = _conv(w_value=-128, cin=64, padding="VALID")
    (choice,) = bound_ops(graph, "cmsis-nn")
    assert choice.optimized
    compiled, (ours,) = host_run_backend(graph, [[np.full((1, 3, 3, 64), -32768, np.int16)]])
    theirs = tflm_run(compiled.model, [[np.full((1, 3, 3, 64), -32768, np.int16)]])[0][0]
    assert (theirs == 32767).all() and not np.array_equal(ours[0].reshape(theirs.shape), theirs)


def host_run_backend(graph, records):
    """host_run with the cmsis-nn backend."""
    import tempfile
    from pathlib import Path

    from tinyq.build.host import build_host
    from tinyq.codegen import write_output_dir
    from tinyq.ir import DTYPES
    from tinyq.run.host import run_host

    board = get_board("host")
    compiled = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    specs = [(compiled.graph.tensors[i].shape, DTYPES[compiled.graph.tensors[i].dtype][0])
             for i in compiled.graph.outputs]
    with tempfile.TemporaryDirectory(prefix="tinyq-s16-") as tmp:
        exe = build_host(write_output_dir(Path(tmp) / "host", compiled.source.files), compiled.source, board)
        outputs, _ = run_host(exe.path, records, specs)
    return compiled, outputs


# --- arm_softmax_s16: which rows it computes as TFLM does ---------------------------------------

def _lut(values, table):
    """TFLM's and CMSIS-NN's int16 table lookup (slope held in int16)."""
    v = np.asarray(values, dtype=np.int64)
    index, offset = 256 + (v >> 7), v & 0x7F
    slope = (table[index + 1].astype(np.int64) - table[index] + 32768) % 65536 - 32768
    return (table[index] + ((slope * offset + 64) >> 7) + 32768) % 65536 - 32768


def _wrap(x, bits):
    return (x + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)


def test_softmax_s16_rows_of_2_to_8_values_match_tflm_whatever_their_values():
    """The output of a row depends on an element's exp e and the row's sum of exps s only. Every
    s a row of 2 to 8 values can have (from the largest exp plus the smallest to eight largest),
    with the largest e (the monotone worst case), gives the same output both ways; a one-value
    row (s = e) and sums from 262,143 on do not."""
    exp_lut, recip_lut = qmath.softmax_int16_luts()
    e_max, e_min = int(_lut(32767, exp_lut)), int(exp_lut.min())
    s = np.arange(e_max, 40 * e_max, dtype=np.int64)
    headroom = 32 - np.floor(np.log2(s)).astype(np.int64) - 1
    normalised = (s << (headroom - 1)) + (1 << 13)
    recip_tflm = _lut(np.clip((normalised >> 14) - 98304, -32768, 32767), recip_lut)
    recip_cmsis = _lut(_wrap((_wrap(normalised, 32) >> 14) - 98304, 16), recip_lut)
    shift = 31 - headroom
    tflm = np.clip((e_max * recip_tflm + (1 << (shift - 1))) >> shift, 0, 32767)
    cmsis = _wrap((((e_max * recip_cmsis) >> (shift - 1)) + 1) >> 1, 16)
    bad = s[(tflm != cmsis) | (recip_tflm != recip_cmsis)]
    lo, hi = elementwise_s16.SOFTMAX_S16_DEPTHS
    reachable = e_max + (lo - 1) * e_min  # the least sum of a row of `lo` values
    assert bad[0] == e_max  # a one-value row
    assert not ((bad >= reachable) & (bad <= hi * e_max)).any()
    first = bad[bad >= reachable][0]
    assert first == 262143 and (hi + 1) * e_max > first  # reachable from nine values on


def test_arm_softmax_s16_one_value_row_differs(cmsis_so):
    """The library itself on a one-value row: 32768 stored as -32768, where TFLM clamps to 32767."""
    exp_lut, recip_lut = qmath.softmax_int16_luts()

    class Luts(ctypes.Structure):
        _fields_ = [("exp_lut", ctypes.c_void_p), ("one_by_one_lut", ctypes.c_void_p)]

    luts = Luts(exp_lut.ctypes.data, recip_lut.ctypes.data)
    x = np.array([1234], dtype=np.int16)
    out = np.zeros(1, dtype=np.int16)
    multiplier, shift = qmath.softmax_int16_scaling(1.0, 1e-3)
    assert cmsis_so.arm_softmax_s16(x.ctypes.data_as(ctypes.c_void_p), 1, 1, multiplier, shift, ctypes.byref(luts),
                                    out.ctypes.data_as(ctypes.c_void_p)) == 0
    b = GraphBuilder("one")
    i = b.input((1, 1), "int16", scale=1e-3, zero_point=0)
    y = b.activation((1, 1), "int16", scale=1 / 32768, zero_point=0)
    b.op("softmax", [i], [y], beta=1.0)
    assert tflm_run(write_model(b.build([y])), [[x.reshape(1, 1)]])[0][0].item() == 32767
    assert out[0] == -32768


# --- scratch sizes against the library's own functions, per code path ----------------------------

class Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in "nhwc"]


def _params_type(extra=()):
    fields = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32), *extra]
    fields += [(f"{t}_{a}", ctypes.c_int32) for t in ("stride", "padding", "dilation") for a in "wh"]
    fields += [("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]
    return type("Params", (ctypes.Structure,), {"_fields_": fields})


ConvParams = _params_type()
DwParams = _params_type([("ch_mult", ctypes.c_int32)])
SUFFIX = {"scalar": "", "dsp": "_dsp", "mve": "_mve"}
SIZE_FUNCTIONS = ("arm_convolve_wrapper_s16_get_buffer_size", "arm_depthwise_conv_wrapper_s16_get_buffer_size",
                  "arm_avgpool_s16_get_buffer_size", "arm_fully_connected_s16_get_buffer_size")


@pytest.fixture(scope="module")
def cmsis_so(tmp_path_factory) -> ctypes.CDLL:
    """The library compiled for the host as a shared object (its _dsp/_mve size functions answer for
    those code paths)."""
    archive = libraries.build_archive("cmsis-nn", "cc", ("-O1", "-fPIC"))
    so = tmp_path_factory.mktemp("cmsis_s16") / "libcmsis_nn.so"
    subprocess.run(["cc", "-shared", "-o", str(so), "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive"],
                   check=True)
    lib = ctypes.CDLL(str(so))
    for name in SIZE_FUNCTIONS:
        for suffix in SUFFIX.values():
            getattr(lib, name + suffix).restype = ctypes.c_int32
    lib.arm_softmax_s16.restype = ctypes.c_int32
    return lib


@pytest.mark.parametrize("isa", sorted(SUFFIX))
def test_s16_scratch_matches_library(cmsis_so, isa):
    rng = np.random.default_rng(hash(isa) % 2**32)
    for _ in range(300):
        n, h, w, c = (int(rng.integers(1, 3)), int(rng.integers(1, 12)), int(rng.integers(1, 12)),
                      int(rng.choice([1, 2, 3, 4, 8, 17, 64])))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        if rng.random() < 0.1:
            kh, kw = 23, 23  # 529 taps: past the fast depthwise kernel's limit
        dil, mult = int(rng.choice([1, 1, 2])), int(rng.choice([1, 1, 2, 3]))
        params = dict(input_offset=0, output_offset=0, stride_w=1, stride_h=1, padding_w=0, padding_h=0,
                      dilation_w=dil, dilation_h=dil, act_min=-32768, act_max=32767)
        cout = int(rng.integers(1, 20))
        want = getattr(cmsis_so, SIZE_FUNCTIONS[0] + SUFFIX[isa])(
            ctypes.byref(ConvParams(**params)), ctypes.byref(Dims(n, h, w, c)), ctypes.byref(Dims(cout, kh, kw, c)),
            ctypes.byref(Dims(n, h, w, cout)))
        assert rules_s16.conv_scratch_bytes(c, kh, kw, isa) == want, (isa, c, kh, kw)
        want = getattr(cmsis_so, SIZE_FUNCTIONS[1] + SUFFIX[isa])(
            ctypes.byref(DwParams(**params, ch_mult=mult)), ctypes.byref(Dims(n, h, w, c)),
            ctypes.byref(Dims(1, kh, kw, c * mult)), ctypes.byref(Dims(n, h, w, c * mult)))
        fast = isa != "scalar" and rules_s16.depthwise_fast(mult, dil, dil, kh, kw)
        assert rules_s16.depthwise_scratch_bytes(fast, c, kh, kw, isa) == want, (isa, c, kh, kw, mult, dil)
        from tinyq.backends.cmsis_nn import rules
        assert rules.avgpool_scratch_bytes(c, isa) == getattr(cmsis_so, SIZE_FUNCTIONS[2] + SUFFIX[isa])(w, c)
        assert getattr(cmsis_so, SIZE_FUNCTIONS[3] + SUFFIX[isa])(ctypes.byref(Dims(c, 1, 1, cout))) == 0


# --- every int16 op family on the host, qemu-m55 (Helium) and ARMv6-M, with every backend ---------

@pytest.mark.slow
def test_conv_family_on_targets():
    assert_bit_exact_on_targets(conv_family(), n_inputs=4, backends=("reference", "cmsis-nn", "esp-nn"))


def int16_ops_family() -> object:
    """One of every other int16 op (the reference kernels), softmax and sigmoids included, behind
    float QUANTIZE/DEQUANTIZE edges too."""
    graph = ops.binary_graph("fam", "add", ops._rng("fam"), True)
    b = GraphBuilder("ops_s16_family")
    rng = ops._rng("ops family")
    outs = []
    x = b.input((2, 6, 5, 4), "int16", scale=5e-4, zero_point=0)
    for op, options in (("relu", {}), ("relu6", {}), ("leaky_relu", {"alpha": 0.3}), ("logistic", {}), ("tanh", {})):
        y = b.activation((2, 6, 5, 4), "int16", scale=2**-15 if op in ("logistic", "tanh") else 4e-4, zero_point=0)
        b.op(op, [x], [y], **options)
        outs.append(y)
    for op in ("sub", "mul"):
        w = b.input((1, 1, 5, 4), "int16", scale=3e-4, zero_point=0)
        y = b.activation((2, 6, 5, 4), "int16", scale=0.01 if op == "mul" else 6e-4, zero_point=0)
        b.op(op, [x, w], [y], fused_activation_function="RELU")
        outs.append(y)
    y = b.activation((2, 8, 5, 4), "int16", scale=5e-4, zero_point=0)
    b.op("pad", [x, b.const(np.array([[0, 0], [1, 1], [0, 0], [0, 0]]), "int32")], [y])
    outs.append(y)
    for op in ("mean", "sum"):
        y = b.activation((2, 4), "int16", scale=float(rng.uniform(5e-4, 1e-3)) * (30 if op == "sum" else 1),
                         zero_point=0)
        b.op(op, [x, b.const(np.array([1, 2]), "int32")], [y], keep_dims=False)
        outs.append(y)
    y = b.activation((2, 6, 5, 4), "int16", scale=1 / 32768, zero_point=0)
    b.op("softmax", [x], [y], beta=1.0)
    outs.append(y)
    y = b.activation((2, 6, 10, 4), "int16", scale=5e-4, zero_point=0)
    b.op("concatenation", [x, x], [y], axis=2)
    outs.append(y)
    f = b.input((3, 4), "float32")
    q = b.activation((3, 4), "int16", scale=1e-4, zero_point=0)
    b.op("quantize", [f], [q])
    q8 = b.activation((3, 4), "int8", scale=0.01, zero_point=3)
    b.op("quantize", [q], [q8])
    d = b.activation((3, 4), "float32")
    b.op("dequantize", [q], [d])
    outs += [q8, d]
    from backend_models import merge
    return merge([graph, b.build(outs)], "ops_s16")


@pytest.mark.slow
def test_ops_and_elementwise_families_on_targets():
    from backend_models import merge
    graph = merge([int16_ops_family(), elementwise_family()], "ew_s16")
    assert_bit_exact_on_targets(graph, n_inputs=4, backends=("reference", "cmsis-nn", "esp-nn"))


@pytest.mark.slow
def test_families_on_the_dsp_code_path_with_library_scratch_checks():
    """CMSIS-NN's DSP path (Cortex-M4, QEMU mps2-an386), each call first asking the library for its
    scratch size (TQ_CHECK_SCRATCH): the firmware fails unless it is what tinyq planned."""
    from backend_models import merge
    from test_backend_cmsis_nn import _checking_scratch, _qemu_board

    from tinyq.verify import verify_qemu
    for name in ("qemu-m4-an386", "qemu-m55", "qemu-m0-an385"):
        board = _qemu_board(name)
        compiled = compile_graph(merge([conv_family(), elementwise_family()], "s16_dsp"), board, backend="cmsis-nn",
                                 arena="fast")
        report = verify_qemu(_checking_scratch(compiled), board, n_inputs=3)
        assert report.result.ok, f"{name}: " + summarize(report.result, compiled.graph)

