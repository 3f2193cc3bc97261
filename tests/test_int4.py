"""int4 weights end to end: packed two per byte in flash, read by tinyq's s4 kernels (and
CMSIS-NN's), bit-exact with TFLM, which unpacks them into its arena before its int8 kernels.

The layers use the whole int4 range (-8 included: the sign extension of nibble 0x8) and
odd element counts (a half-used last byte, rows that straddle bytes)."""

import ctypes
import re
import subprocess
import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, bound_ops, shared_file
from tinyq.backends.cmsis_nn import rules as ck
from tinyq.backends.cmsis_nn import s4
from tinyq.ops.geometry import ConvWindow
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.ops.geometry import output_size
from tinyq.ops.int4 import pack_int4, unpack_int4
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize

needs_cmsis_nn = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                    reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout")


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(("int4",) + key).encode()))


def _weights(b, rng, shape, dtype, scales, axis, zero_point=0):
    return b.const(rng.integers(-8, 8, size=shape), dtype, scale=scales, zero_point=zero_point, axis=axis)


def _output(b, rng, shape):
    return b.activation(shape, scale=float(rng.uniform(0.05, 0.4)), zero_point=int(rng.integers(-40, 40)))


def _input(b, rng, shape):
    return b.input(shape, scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.integers(-40, 40)))


def add_conv(b, rng, x, x_shape, cout, kernel, stride=(1, 1), dilation=(1, 1), padding="SAME", groups=1,
             per_channel=True, bias=True, activation="NONE", dtype="int4"):
    n, h, w, cin = x_shape
    oh = output_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = output_size(padding, w, kernel[1], stride[1], dilation[1])
    scales = rng.uniform(0.002, 0.03, size=cout if per_channel else 1)
    wt = _weights(b, rng, (cout, *kernel, cin // groups), dtype, scales, 0)
    in_scale = b._tensors[x].quant.s
    bt = b.const(rng.integers(-3000, 3000, size=cout), "int32", scale=in_scale * scales, zero_point=0) if bias else -1
    y = _output(b, rng, (n, oh, ow, cout))
    b.op("conv_2d", [x, wt, bt], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dilation[0], dilation_w_factor=dilation[1], fused_activation_function=activation)
    return y


def add_depthwise(b, rng, x, x_shape, multiplier, kernel, stride=(1, 1), dilation=(1, 1), padding="SAME",
                  per_channel=True, bias=True, activation="NONE", dtype="int4"):
    n, h, w, cin = x_shape
    cout = cin * multiplier
    oh = output_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = output_size(padding, w, kernel[1], stride[1], dilation[1])
    scales = rng.uniform(0.002, 0.03, size=cout if per_channel else 1)
    inputs = [x, _weights(b, rng, (1, *kernel, cout), dtype, scales, 3)]
    if bias:  # TFLM crashes on an omitted (-1) depthwise bias: leave it out entirely
        inputs.append(b.const(rng.integers(-3000, 3000, size=cout), "int32", scale=b._tensors[x].quant.s * scales,
                              zero_point=0, axis=0))
    y = _output(b, rng, (n, oh, ow, cout))
    b.op("depthwise_conv_2d", inputs, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dilation[0], dilation_w_factor=dilation[1], fused_activation_function=activation,
         depth_multiplier=multiplier)
    return y


def add_fc(b, rng, x, x_shape, units, bias=True, activation="NONE", per_channel=False, dtype="int4", zero_point=0):
    depth = x_shape[-1] if len(x_shape) == 2 else int(np.prod(x_shape[1:]))
    batches = int(np.prod(x_shape)) // depth
    scales = rng.uniform(0.002, 0.03, size=units if per_channel else 1)
    wt = _weights(b, rng, (units, depth), dtype, scales, 0, zero_point)
    bt = b.const(rng.integers(-3000, 3000, size=units), "int32", scale=b._tensors[x].quant.s * scales,
                 zero_point=0) if bias else -1
    y = _output(b, rng, (batches, units))
    b.op("fully_connected", [x, wt, bt], [y], fused_activation_function=activation)
    return y


def conv_graph():
    """Every CMSIS-NN s4 convolution path and the reference's extras (groups, dilation, per tensor)."""
    rng = seeded("conv")
    b = GraphBuilder("conv_s4")
    image, batch, row, odd, odd_row = (1, 7, 9, 3), (2, 6, 5, 8), (1, 1, 12, 4), (1, 5, 6, 6), (1, 1, 13, 3)
    x, xb, r, xo, ro = (_input(b, rng, s) for s in (image, batch, row, odd, odd_row))
    outs = [add_conv(b, rng, x, image, 5, (3, 3)),  # 27 columns: rows straddle bytes, 135 nibbles
            add_conv(b, rng, x, image, 4, (3, 2), stride=(2, 1), padding="VALID", per_channel=False, bias=False),
            add_conv(b, rng, x, image, 3, (2, 3), stride=(1, 2), dilation=(2, 2), activation="RELU6"),
            add_conv(b, rng, xb, batch, 7, (3, 3), stride=(2, 2), activation="RELU"),  # 72: Helium's even kernel
            add_conv(b, rng, xb, batch, 5, (1, 1)),  # 1x1, stride 1
            add_conv(b, rng, xb, batch, 3, (1, 1), stride=(2, 2), bias=False),  # 1x1 strided
            add_conv(b, rng, r, row, 5, (1, 3)),  # 1xN
            add_conv(b, rng, r, row, 3, (1, 5), stride=(1, 2), padding="VALID", per_channel=False),
            add_conv(b, rng, x, image, 5, (1, 1)),  # 1x1 over 3 channels: rows of 3 nibbles
            add_conv(b, rng, ro, odd_row, 5, (1, 3), stride=(1, 4), padding="VALID"),  # 1xN, rows of 9 nibbles
            add_conv(b, rng, ro, odd_row, 3, (1, 3), stride=(1, 4)),
            add_conv(b, rng, xo, odd, 9, (3, 3), groups=3)]  # grouped: reference only
    return b.build(outs)


def depthwise_graph():
    """Depth multipliers 1-5, strides, dilation, batches; odd depths where CMSIS-NN's generic s4
    kernel reproduces TFLM (no clipped window, multiplier 1) and where it does not (fallbacks)."""
    rng = seeded("depthwise")
    b = GraphBuilder("depthwise_s4")
    image, batch, odd, mono = (1, 8, 7, 6), (2, 5, 6, 3), (1, 7, 5, 5), (1, 6, 5, 1)
    x, xb, xo, m = (_input(b, rng, s) for s in (image, batch, odd, mono))
    outs = [add_depthwise(b, rng, x, image, 1, (3, 3), activation="RELU6"),  # the opt kernel (not on Helium)
            add_depthwise(b, rng, x, image, 1, (3, 3), stride=(2, 2), per_channel=False, bias=False),
            add_depthwise(b, rng, x, image, 2, (3, 2), stride=(1, 2)),
            add_depthwise(b, rng, x, image, 3, (2, 2), padding="VALID"),
            add_depthwise(b, rng, x, image, 1, (3, 3), dilation=(2, 2)),
            add_depthwise(b, rng, xb, batch, 1, (3, 3), padding="VALID", activation="RELU"),  # odd, unclipped
            add_depthwise(b, rng, xo, odd, 1, (3, 3)),  # 45 nibbles; padded: only the opt kernel gets it right
            add_depthwise(b, rng, m, mono, 5, (3, 3), stride=(2, 1))]  # odd depth with a multiplier
    return b.build(outs)


def fc_graph():
    rng = seeded("fc")
    b = GraphBuilder("fc_s4")
    shapes = [(1, 37), (3, 21), (2, 40), (1, 2, 3, 5), (2, 13)]
    x = [_input(b, rng, s) for s in shapes]
    outs = [add_fc(b, rng, x[0], shapes[0], 5),  # odd depth and 185 nibbles
            add_fc(b, rng, x[1], shapes[1], 9, bias=False, activation="RELU"),
            add_fc(b, rng, x[2], shapes[2], 16, activation="RELU6"),
            add_fc(b, rng, x[3], shapes[3], 3),  # 4-D input flattened
            add_fc(b, rng, x[4], shapes[4], 6, zero_point=3)]  # a weight zero point: TFLM's filter offset
    return b.build(outs)


GRAPHS = {"conv_2d": conv_graph, "depthwise_conv_2d": depthwise_graph, "fully_connected": fc_graph}


def random_graph(seed: int, layers: int = 24):
    """Random int4 conv / depthwise / FC layers side by side: shapes, strides, dilations, padding,
    multipliers, per-tensor or per-channel, bias or not."""
    rng = seeded("random", seed)
    b = GraphBuilder(f"random_s4_{seed}")
    outs = []
    while len(outs) < layers:
        kind = rng.choice(["conv", "depthwise", "fc"], p=[0.45, 0.4, 0.15])
        if kind == "fc":
            shape = (int(rng.integers(1, 4)), int(rng.integers(1, 41)))
            outs.append(add_fc(b, rng, _input(b, rng, shape), shape, int(rng.integers(1, 21)),
                               bias=bool(rng.integers(0, 2))))
            continue
        shape = (int(rng.choice([1, 1, 2])), int(rng.choice([1, 1, 3, 5, 8])), int(rng.integers(1, 10)),
                 int(rng.integers(1, 10)))
        kernel = (1 if shape[1] == 1 else int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        stride = (int(rng.integers(1, 3)), int(rng.choice([1, 2, 3, 4])))
        dilation = (1, 1) if rng.random() < 0.7 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = str(rng.choice(["SAME", "VALID"]))
        if min(output_size(padding, shape[1 + a], kernel[a], stride[a], dilation[a]) for a in (0, 1)) <= 0:
            continue
        x = _input(b, rng, shape)
        common = dict(stride=stride, dilation=dilation, padding=padding, per_channel=bool(rng.integers(0, 2)),
                      bias=bool(rng.integers(0, 2)))
        if kind == "conv":
            outs.append(add_conv(b, rng, x, shape, int(rng.integers(1, 12)), kernel, **common))
        else:
            outs.append(add_depthwise(b, rng, x, shape, int(rng.choice([1, 1, 2, 3])), kernel, **common))
    return b.build(outs)


# --- packing ---------------------------------------------------------------------------------------

def test_packing_is_tflites_int4_layout():
    values = np.array([-8, 7, -1, 0, 1, -7, 3], dtype=np.int8)  # odd count: the last byte is half used
    packed = pack_int4(values)
    assert packed.view(np.uint8).tolist() == [0x78, 0x0F, 0x91, 0x03]
    assert unpack_int4(packed, len(values)).tolist() == values.tolist()
    # the same bytes as the .tflite writer stores and the reader unpacks
    b = GraphBuilder("pack")
    w = b.const(values.reshape(7, 1), "int4", scale=[0.1], zero_point=[0])
    x = b.input((1, 1), scale=0.1, zero_point=0)
    y = b.activation((1, 7), scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    graph = read_model(write_model(b.build([y])))
    assert graph.tensors[w].data.reshape(-1).tolist() == values.tolist()


@pytest.mark.parametrize("op", sorted(GRAPHS))
def test_int4_layers_lower_to_packed_s4_kernels(op):
    graph = GRAPHS[op]()
    for k in lower_graph(graph).ops:
        w = graph.tensors[k.op.inputs[1]]
        assert k.kernel == f"{op}_s4"
        filt = next(c for c in k.consts if c.name == "filter")
        assert filt.ctype == "int8_t" and filt.values.size == (w.numel + 1) // 2
        assert unpack_int4(filt.values, w.numel).tolist() == w.data.reshape(-1).tolist()


def test_generated_flash_array_is_half_the_int8_one():
    """The same layer with int8 and with int4 weights: the generated filter array halves (rounded up),
    and the arena stays the same (TFLM unpacks int4 weights into its arena; tinyq never does)."""
    sizes, arenas = {}, {}
    for dtype in ("int8", "int4"):
        rng = seeded("flash")
        b = GraphBuilder(f"flash_{dtype}")
        x = _input(b, rng, (1, 6, 6, 7))
        y = add_conv(b, rng, x, (1, 6, 6, 7), 11, (3, 3), dtype=dtype)  # 693 weights: odd
        compiled = compile_graph(b.build([y]), get_board("host"))
        model_c = compiled.source.files[f"{compiled.source.name}_model.c"]
        # the int8 kernel may take its weights reordered (tq_op0_filter_blocked): count every weights array
        sizes[dtype] = sum(int(n) for n in re.findall(r"static const int8_t tq_op0_filter\w*\[(\d+)\]", model_c))
        arenas[dtype] = compiled.plan.arena_bytes
    assert sizes == {"int8": 693, "int4": 347}
    assert arenas["int4"] == arenas["int8"]


# --- reference kernels against TFLM ----------------------------------------------------------------

@pytest.mark.parametrize("op", sorted(GRAPHS))
def test_reference_s4_kernels_bit_exact(op):
    compiled = assert_bit_exact(GRAPHS[op](), n_inputs=8)
    assert {f"{op}_s4"} == {k.kernel for k in compiled.lowered.ops}


def test_s4_chain_writes_in_place():
    """conv -> depthwise -> conv with int4 weights: the planner lets each output overwrite its dying
    input (the s4 kernels keep the int8 kernels' loop order), checked layer by layer."""
    rng = seeded("chain")
    b = GraphBuilder("chain_s4")
    x = _input(b, rng, (1, 12, 10, 8))
    h = add_conv(b, rng, x, (1, 12, 10, 8), 16, (3, 3), activation="RELU")
    d = add_depthwise(b, rng, h, (1, 12, 10, 16), 1, (3, 3), activation="RELU6")
    y = add_conv(b, rng, d, (1, 12, 10, 16), 8, (3, 3), stride=(2, 2))
    compiled = assert_bit_exact(b.build([y]), n_inputs=4, layers=True)
    in_place = {compiled.lowered.ops[a.position].kernel for a in compiled.plan.aliases if a.kind == "in-place"}
    assert in_place & {"conv_2d_s4", "depthwise_conv_2d_s4"}


@pytest.mark.parametrize("backend", ["reference", pytest.param("cmsis-nn", marks=needs_cmsis_nn)])
def test_random_s4_layers_bit_exact(backend):
    """random_graph(0..7) also passed with CMSIS-NN under QEMU on the M55 and the M4 (scratch checked) when
    written; one graph on the host keeps the suite fast."""
    assert_bit_exact(random_graph(0), n_inputs=4, backend=backend)


def test_per_channel_int4_fully_connected_is_refused_with_the_reason():
    rng = seeded("per-channel fc")
    b = GraphBuilder("fc_pc")
    x = _input(b, rng, (1, 9))
    y = add_fc(b, rng, x, (1, 9), 4, per_channel=True)
    with pytest.raises(UnsupportedError, match="per tensor only"):
        lower_graph(b.build([y]))


def test_esp_nn_runs_int4_in_the_reference_kernels_and_says_why():
    for op, make in GRAPHS.items():
        choices = bound_ops(make(), "esp-nn")
        assert all(not c.optimized and "ESP-NN has no int4 kernels" in c.reason for c in choices), op


# --- CMSIS-NN s4 kernels ---------------------------------------------------------------------------

EXPECTED = {"scalar": {"arm_convolve_s4", "arm_convolve_1x1_s4_fast", "arm_convolve_1x1_s4", "arm_convolve_1_x_n_s4",
                       "arm_depthwise_conv_s4_opt", "arm_depthwise_conv_s4", "arm_fully_connected_s4"}}
# Helium: the even-columns convolution; no optimized depthwise (its results differ from TFLM under QEMU)
EXPECTED["mve"] = EXPECTED["scalar"] - {"arm_depthwise_conv_s4_opt"} | {"arm_convolve_even_s4"}
GROUPED = "grouped convolution: CMSIS-NN's s4 convolutions take no groups"
MULTIPLIER = "arm_depthwise_conv_s4 misreads the packed filter of an odd input depth with a depth multiplier"
PADDED = "arm_depthwise_conv_s4 misreads the packed filter of an odd input depth at padded windows"
OFFSET = "int4 weights with a zero point: arm_fully_connected_s4 ignores the filter offset"


@pytest.mark.parametrize("isa", sorted(EXPECTED))
def test_cmsis_nn_s4_kernel_choice(isa):
    """The models reach every s4 kernel; what the library gets wrong stays in the reference, with the reason."""
    choices = [c for make in GRAPHS.values() for c in bound_ops(make(), "cmsis-nn", isa)]
    assert {c.function for c in choices if c.optimized} == EXPECTED[isa]
    fallbacks = [c.reason for c in choices if not c.optimized]
    assert fallbacks == [GROUPED, MULTIPLIER, OFFSET] if isa == "scalar" else [GROUPED, PADDED, MULTIPLIER, OFFSET]


@needs_cmsis_nn
@pytest.mark.parametrize("op", sorted(GRAPHS))
def test_cmsis_nn_s4_bit_exact_on_host(op):
    """Pure C CMSIS-NN s4 kernels (the host has no DSP or Helium) against TFLM."""
    assert_bit_exact(GRAPHS[op](), n_inputs=6, backend="cmsis-nn")


@pytest.fixture(scope="module")
def cmsis_so(tmp_path_factory) -> ctypes.CDLL:
    archive = libraries.build_archive("cmsis-nn", "cc", ("-O1", "-fPIC"))
    so = tmp_path_factory.mktemp("cmsis") / "libcmsis_nn.so"
    subprocess.run(["cc", "-shared", "-o", str(so), "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive"],
                   check=True)
    return ctypes.CDLL(str(so))


class Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in "nhwc"]


def _params_type(extra=()):
    fields = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32), *extra]
    fields += [(f"{t}_{a}", ctypes.c_int32) for t in ("stride", "padding", "dilation") for a in "wh"]
    fields += [("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]
    return type("Params", (ctypes.Structure,), {"_fields_": fields})


def _random_shape(rng, depthwise: bool) -> ConvWindow:
    in_h, in_w = (1 if rng.random() < 0.3 else int(rng.integers(1, 10))), int(rng.integers(1, 10))
    in_d = int(rng.choice([1, 2, 3, 4, 8, 17]))
    fh, fw = (1 if in_h == 1 and rng.random() < 0.7 else int(rng.integers(1, 5))), int(rng.integers(1, 5))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    dh, dw = (1, 1) if rng.random() < 0.7 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad_h, pad_w = (0, 0) if rng.random() < 0.4 else (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
    out_h, out_w = max(1, (in_h + sh - 1) // sh), max(1, (in_w + sw - 1) // sw)
    out_d = in_d * int(rng.choice([1, 2, 3])) if depthwise else int(rng.integers(1, 20))
    return ConvWindow(batches=int(rng.choice([1, 1, 2])), in_h=in_h, in_w=in_w, in_d=in_d, out_h=out_h,
                        out_w=out_w, out_d=out_d, filter_h=fh, filter_w=fw, filter_d=out_d if depthwise else in_d,
                        stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, pad_h=pad_h, pad_w=pad_w)


def _args(s: ConvWindow, depthwise: bool):
    params = _params_type([("ch_mult", ctypes.c_int32)] if depthwise else [])(
        stride_w=s.stride_w, stride_h=s.stride_h, padding_w=s.pad_w, padding_h=s.pad_h, dilation_w=s.dilation_w,
        dilation_h=s.dilation_h, act_min=-128, act_max=127, **({"ch_mult": s.out_d // s.in_d} if depthwise else {}))
    filt = Dims(1, s.filter_h, s.filter_w, s.out_d) if depthwise else Dims(s.out_d, s.filter_h, s.filter_w, s.in_d)
    return (ctypes.byref(params), ctypes.byref(Dims(s.batches, s.in_h, s.in_w, s.in_d)), ctypes.byref(filt),
            ctypes.byref(Dims(s.batches, s.out_h, s.out_w, s.out_d)))


@needs_cmsis_nn
@pytest.mark.parametrize("isa", ["scalar", "dsp", "mve"])
def test_cmsis_nn_s4_scratch_matches_library(cmsis_so, isa):
    """tinyq's s4 scratch sizes against the library's wrapper sizes for each code path (Helium's
    1xN rows are checked under QEMU against arm_convolve_1_x_n_s4_get_buffer_size)."""
    suffix = {"scalar": "", "dsp": "_dsp", "mve": "_mve"}[isa]
    conv = getattr(cmsis_so, "arm_convolve_wrapper_s4_get_buffer_size" + suffix)
    depthwise = getattr(cmsis_so, "arm_depthwise_conv_wrapper_s4_get_buffer_size" + suffix)
    conv.restype = depthwise.restype = ctypes.c_int32
    rng = seeded("scratch", isa)
    for _ in range(300):
        s = _random_shape(rng, depthwise=False)
        if not (isa == "mve" and ck._is_1_x_n(s)):
            assert s4.conv_scratch_bytes(s, isa) == conv(*_args(s, False)), (isa, s)
        s = _random_shape(rng, depthwise=True)
        if isa == "mve":  # the generic kernel, which takes no buffer
            assert s4.depthwise_scratch_bytes(s, isa) == 0
        else:
            assert s4.depthwise_scratch_bytes(s, isa) == depthwise(*_args(s, True)), (isa, s)


@needs_cmsis_nn
@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["qemu-m55", "qemu-m4-an386", "qemu-m0-an385"])
def test_cmsis_nn_s4_bit_exact_in_qemu(board_name):
    """The s4 kernels on Cortex-M55 (Helium), M4 (DSP) and ARMv6-M (pure C) under QEMU, each call
    first checking its scratch with the library compiled for that target."""
    from backend_models import merge
    from test_backend_cmsis_nn import _checking_scratch, _qemu_board
    from tinyq.verify import verify_qemu

    board = _qemu_board(board_name)
    compiled = compile_graph(merge([make() for make in GRAPHS.values()], "s4_paths"), board, backend="cmsis-nn",
                             arena="fast")
    if board_name == "qemu-m55":
        assert {c.function for c in compiled.bound.ops if c.optimized} == EXPECTED["mve"]
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=4)
    assert report.result.ok, summarize(report.result, compiled.graph)


# --- a quantized model: every conv and FC weight in int4 -------------------------------------------

def test_all_int4_digits_model_halves_the_weight_flash():
    """tinyq quantize --weights int4 on the digits MLP: every FC runs the s4 kernel and the weight arrays
    take half the bytes (bit-exactness: test_quantize_models.py::test_quantized_digits_models_are_bit_exact)."""
    from tinyq.passes.fold import fold_constants
    from tinyq.quantize import QuantizeConfig, quantize_graph
    from tinyq.tflite.reader import read_model_file

    graph = read_model_file(shared_file("quant", "models", "mlp_digits", "float32.tflite"))
    calib = np.load(shared_file("quant", "data", "digits", "x_calib.npy"))
    calib = calib.reshape((-1,) + graph.tensors[graph.inputs[0]].shape[1:])
    flash, kernels = {}, {}
    for weights in ("int8", "int4"):
        quantized = quantize_graph(fold_constants(graph), [calib[:64]], QuantizeConfig(weights=weights)).graph
        ops = lower_graph(quantized).ops
        flash[weights] = sum(c.values.nbytes for k in ops for c in k.consts if c.name == "filter")
        kernels[weights] = {k.kernel for k in ops if k.op.op == "fully_connected"}
    assert kernels == {"int8": {"fully_connected"}, "int4": {"fully_connected_s4"}}
    assert flash["int4"] * 2 == flash["int8"]  # 64x32, 32x32 and 32x10: even counts
