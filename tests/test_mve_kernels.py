"""tinyq's own Helium kernels (templates/cmsis_nn/kernels/tq_mve_*, chosen by the CMSIS-NN backend
on MVE targets) for convolutions, fully connected, depthwise and add layers: bit-exact with TFLM under
QEMU's Cortex-M55 over shape variants, and the plain C fallback of the same packed data on the host.

The kernels do not call CMSIS-NN, so a model made only of their ops builds and runs without
the library; only the host fallback test (whose build links the backend's library) needs it.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from test_add_mul import binary_graph
from test_conv import add_conv
from test_depthwise_conv import add_depthwise
from test_fully_connected import fc_graph
from tinyq.backends.tq_mve.packing import pack_quads
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.cli import main
from tinyq.driver import compile_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_host

from conftest import shared_file
from backend_models import merge, seeded

needs_qemu = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm")

# (input NHWC, conv options): odd channel counts (not multiples of 4 or 16), 1x1 rows read in
# place (in_d 16, 32) and through im2col (in_d 17), paddings, strides, dilation, batches, an
# odd number of output pixels (a lone last row), a left-shifting requantization, activations
CONV_VARIANTS = [
    ((1, 5, 5, 16), dict(cout=13, kernel=(1, 1), stride=(1, 1), padding="VALID")),
    ((1, 7, 6, 32), dict(cout=8, kernel=(1, 1), stride=(2, 2), activation="RELU")),
    ((2, 3, 5, 16), dict(cout=5, kernel=(1, 1), stride=(1, 1), bias=False, per_channel=False)),
    ((1, 5, 4, 17), dict(cout=19, kernel=(1, 1), stride=(1, 1), activation="RELU6")),
    ((1, 9, 7, 3), dict(cout=6, kernel=(3, 3), stride=(1, 1), padding="SAME", gain=300.0)),
    ((1, 8, 8, 16), dict(cout=16, kernel=(3, 3), stride=(2, 2), padding="SAME", activation="RELU")),
    ((2, 6, 5, 5), dict(cout=7, kernel=(3, 2), stride=(1, 2), dilation=(2, 1), padding="SAME")),
    ((1, 13, 10, 1), dict(cout=11, kernel=(10, 4), stride=(2, 2), padding="SAME")),  # KWS's first layer
    ((1, 6, 9, 2), dict(cout=3, kernel=(2, 5), stride=(3, 1), padding="VALID", bias=False)),
    # windows whose rows are whole chunks are read in place away from the borders
    ((2, 5, 7, 16), dict(cout=6, kernel=(3, 3), stride=(1, 1), padding="SAME", activation="RELU")),
    ((1, 9, 5, 32), dict(cout=4, kernel=(3, 1), stride=(1, 2), dilation=(2, 1), padding="VALID")),
    # long im2col rows (3 x 120 taps, each window row padded: 384 bytes)
    ((1, 6, 5, 40), dict(cout=6, kernel=(3, 3), stride=(1, 1), padding="SAME", activation="RELU")),
]


def conv_variants(cases=CONV_VARIANTS):
    rng = seeded("mve-conv")
    b = GraphBuilder("mve_conv")
    outs = []
    for i, (shape, options) in enumerate(cases):
        x = b.input(shape, scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-60, 60)))
        outs.append(add_conv(b, rng, x, shape, **{"dilation": (1, 1), **options}))
    return b.build(outs)


# fully connected layers run as 1x1 convolutions over their batches: rows read in place (depth 32)
# or copied (odd depths), a lone last row (3 batches), odd unit counts, per-tensor and per-channel
FC_VARIANTS = [dict(batches=1, depth=32, units=21, per_channel=False, activation="RELU"),
               dict(batches=3, depth=37, units=9, per_channel=True, bias=False),
               dict(batches=2, depth=8, units=128, per_channel=False)]


# depthwise (multiplier 1): the 3x3 fast path (channels a multiple of 16, padded borders read a row of
# zero points), and the general path: odd channel counts, other windows, strides, dilation, batches
DEPTHWISE_VARIANTS = [
    ((1, 6, 5, 32), dict(kernel=(3, 3), stride=(1, 1), padding="SAME", activation="RELU")),
    ((2, 7, 4, 16), dict(kernel=(3, 3), stride=(2, 2), padding="SAME", gain=300.0)),
    ((1, 5, 6, 16), dict(kernel=(3, 3), stride=(1, 1), padding="VALID", bias=False)),
    ((1, 7, 7, 21), dict(kernel=(3, 3), stride=(1, 1), padding="SAME", activation="RELU6")),
    ((1, 9, 6, 5), dict(kernel=(5, 4), stride=(2, 1), padding="SAME", per_channel=False)),
    ((2, 6, 7, 19), dict(kernel=(3, 3), stride=(1, 2), dilation=(2, 1), padding="SAME")),
]


def depthwise_variants():
    rng = seeded("mve-depthwise")
    b = GraphBuilder("mve_depthwise")
    outs = []
    for shape, options in DEPTHWISE_VARIANTS:
        x = b.input(shape, scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-60, 60)))
        outs.append(add_depthwise(b, rng, x, shape, multiplier=1, **{"dilation": (1, 1), **options}))
    return b.build(outs)


# adds of equal shapes: element counts not a multiple of 4 (the predicated tail), a constant
# operand, activations; a broadcast goes to the reference kernel
ADD_CASES = [("add", (1, 5, 7, 3), (1, 5, 7, 3), "NONE", False, False),
             ("add", (2, 4, 4, 16), (2, 4, 4, 16), "RELU", False, False),
             ("add", (1, 3, 3, 5), (1, 3, 3, 5), "RELU6", False, True),
             ("add", (1, 2, 6), (1, 1, 6), "NONE", False, False)]


def variants():
    rng = seeded("mve-fc")
    return merge([conv_variants(), *(fc_graph(rng, **options) for options in FC_VARIANTS), depthwise_variants(),
                  binary_graph("mve_add", ADD_CASES, seeded("mve-add"))], "mve_variants")


def test_variants_choose_the_kernel_on_mve_only():
    graph = variants()
    m55 = compile_graph(graph, get_board("qemu-m55"), backend="cmsis-nn").bound.ops
    convs = len(CONV_VARIANTS) + len(FC_VARIANTS)
    assert [c.function for c in m55] == (["tq_mve_conv_s8"] * convs + ["tq_mve_depthwise_s8"] * len(DEPTHWISE_VARIANTS)
                                         + ["tq_mve_add_s8"] * 3 + [""])
    assert "broadcasts" in m55[-1].reason
    # the arena scratch: two im2col rows unless rows are read in place (1x1 over whole chunks), then
    # the held pixel of a pair; a lone row (batch-1 fully connected) needs neither
    assert m55[0].scratch_bytes == 13  # 1x1 over 16 channels: the held pixel only
    assert m55[len(CONV_VARIANTS) - 1].scratch_bytes == 2 * 384 + 6  # 3 x 120 taps, each window row padded
    assert [c.scratch_bytes for c in m55[len(CONV_VARIANTS):convs]] == [0, 2 * 48 + 9, 2 * 16 + 128]
    host = compile_graph(graph, get_board("host"), backend="cmsis-nn").bound.ops
    assert not any(c.function == "tq_mve_conv_s8" for c in host)


@needs_qemu
def test_variants_bit_exact_under_qemu_m55(tmp_path):
    """No CMSIS-NN needed: the generated sources hold tinyq's kernel and no library call."""
    from tinyq.verify import verify_qemu
    board = get_board("qemu-m55")
    compiled = compile_graph(variants(), board, backend="cmsis-nn")
    files = compiled.source.files
    assert "tq_cmsis_nn.h" not in files
    assert {"tq_mve_conv.c", "tq_mve_depthwise.c", "tq_mve_add.c"} <= set(files)
    report = verify_qemu(compiled, board, n_inputs=4, work_dir=tmp_path)
    assert report.result.ok, summarize(report.result, compiled.graph)


@pytest.mark.skipif(not libraries.available("cmsis-nn"),
                    reason="set TINYQ_CMSIS_NN_DIR: the host build links the backend's library")
def test_plain_c_fallback_bit_exact_on_host():
    """The Helium build's sources compiled for the host (no MVE) run the C fallback."""
    compiled = compile_graph(variants(), get_board("qemu-m55"), backend="cmsis-nn")
    result = verify_host(compiled, get_board("host"), n_inputs=4)
    assert result.ok, summarize(result, compiled.graph)


def test_packing_pads_channels_and_depth():
    rows = np.arange(5 * 20, dtype=np.int64).reshape(5, 20).astype(np.int8)
    columns = [np.arange(5) + 100 * i for i in range(4)]
    words = pack_quads(rows, columns)
    # 2 quads x (2 chunks x 4 channels x 16 bytes + 4 columns x 4 values)
    assert words.dtype == np.int32 and words.size == 2 * (2 * 4 * 16 // 4 + 16)
    quad1 = words[words.size // 2:]
    weights = quad1[:32].view(np.int8).reshape(2, 4, 16)  # chunk, channel, byte
    assert (weights[0, 0] == rows[4, :16]).all() and (weights[1, 0, :4] == rows[4, 16:]).all()
    assert not weights[1, 0, 4:].any() and not weights[:, 1:].any()
    assert quad1[32:].tolist() == [4, 0, 0, 0, 104, 0, 0, 0, 204, 0, 0, 0, 304, 0, 0, 0]


def test_inspect_names_the_kernel(capsys):
    main(["inspect", str(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")), "--board", "qemu-m55",
          "--backend", "cmsis-nn"])
    # the first convolution, the four pointwise ones and the classifier; the four depthwise ones
    out = capsys.readouterr().out
    assert out.count("tq_mve_conv_s8") == 6 and out.count("tq_mve_depthwise_s8") == 4


def test_depth_multipliers_keep_the_library_call():
    rng = seeded("mve-dw-mult")
    b = GraphBuilder("dw_mult")
    x = b.input((1, 5, 5, 4), scale=0.05, zero_point=3)
    y = add_depthwise(b, rng, x, (1, 5, 5, 4), multiplier=2, kernel=(3, 3), stride=(1, 1), dilation=(1, 1))
    choice = compile_graph(b.build([y]), get_board("qemu-m55"), backend="cmsis-nn").bound.ops[0]
    assert choice.function.startswith("arm_depthwise_conv")


def test_weights_with_a_zero_point_keep_the_library_call():
    graph = fc_graph(seeded("mve-fc-zp"), depth=16, units=4, per_channel=False)
    weights = next(t for t in graph.tensors if t.is_const and t.dtype == "int8")
    quant = dataclasses.replace(weights.quant, zero_point=(3,))
    tensors = tuple(dataclasses.replace(t, quant=quant) if t is weights else t for t in graph.tensors)
    graph = dataclasses.replace(graph, tensors=tensors)
    choice = compile_graph(graph, get_board("qemu-m55"), backend="cmsis-nn").bound.ops[0]
    assert choice.function == "arm_fully_connected_s8"


def _with_weight(graph, op_index: int, value: int, taps: tuple[int, ...], channel: int):
    """`graph` with the depthwise weights of op `op_index` set to `value` at `taps` of `channel`."""
    weights_index = graph.operators[op_index].inputs[1]
    tensors = list(graph.tensors)
    data = tensors[weights_index].data.copy()
    for t in taps:
        data.reshape(1, -1, data.shape[-1])[0, t, channel] = value
    tensors[weights_index] = dataclasses.replace(tensors[weights_index], data=data)
    return dataclasses.replace(graph, tensors=tuple(tensors))


@needs_qemu
def test_depthwise_3x3_pairs_taps_only_without_a_weight_of_minus_128(tmp_path):
    """Two taps' int16 products are added before widening only when no weight is -128: with -128 in
    both taps of a pair and an all -128 input record (make_inputs' first), their sum would be 32768."""
    from tinyq.verify import verify_qemu
    rng = seeded("mve-dw-pairs")
    b = GraphBuilder("mve_dw_pairs")
    outs = []
    for _ in range(2):
        x = b.input((1, 5, 4, 16), scale=0.05, zero_point=0)
        outs.append(add_depthwise(b, rng, x, (1, 5, 4, 16), multiplier=1, kernel=(3, 3), stride=(1, 1),
                                  dilation=(1, 1), padding="SAME"))
    graph = _with_weight(b.build(outs), 1, -128, taps=(0, 1), channel=5)
    board = get_board("qemu-m55")
    compiled = compile_graph(graph, board, backend="cmsis-nn")
    model_c = next(text for name, text in compiled.source.files.items() if name.endswith("_model.c"))
    assert model_c.count(".paired_taps = 1") == 1 and model_c.count(".paired_taps = 0") == 1
    report = verify_qemu(compiled, board, n_inputs=4, work_dir=tmp_path)
    assert report.result.ok, summarize(report.result, compiled.graph)


# the guard's convolutions (tinyq/plan/keep_arena.py): the layers in front of one taken out, so it runs
# every conv_2d it can; tq_mve_conv_inplace_s8 leaves 1x1 layers over whole chunks (which copy nothing)
# to the next layer
GUARD_KERNELS = {"tq_mve_conv_inplace_s8": ("tq_mve",), "tq_mve_conv_single_s8": ("tq_mve", "tq_mve_inplace")}


@pytest.fixture(params=sorted(GUARD_KERNELS))
def guard_kernel(request, monkeypatch):
    from tinyq.backends import layer

    for name in GUARD_KERNELS[request.param]:
        monkeypatch.delitem(layer(name)[1], "conv_2d")
    return request.param


# the conv variants both take: all but KWS's first layer, whose 10x4 taps of one channel are packed
# across chunks
WINDOW_VARIANTS = [case for case in CONV_VARIANTS if case[1]["kernel"] != (10, 4)]


def _direct(case) -> bool:
    (_, _, _, channels), options = case
    return options["kernel"] == (1, 1) and channels % 16 == 0  # a 1x1 window never pads


def test_guard_kernels_take_windows_read_in_place(guard_kernel):
    ops = compile_graph(conv_variants(), get_board("qemu-m55"), backend="cmsis-nn").bound.ops
    expected = [guard_kernel if case in WINDOW_VARIANTS and not (guard_kernel == "tq_mve_conv_inplace_s8" and
                                                                 _direct(case))
                else "tq_mve_conv_single_s8" if case in WINDOW_VARIANTS else "arm_convolve_s8" for case in CONV_VARIANTS]
    assert [op.function for op in ops] == expected
    for case, op in zip(CONV_VARIANTS, ops):
        if op.function == "tq_mve_conv_single_s8":
            assert op.scratch_bytes == 0
        if op.function == "tq_mve_conv_inplace_s8":  # the held pixel only
            assert op.scratch_bytes == case[1]["cout"]
        if op.function == "arm_convolve_s8":
            assert "packed across chunks" in op.passed_over[-1][1]


@needs_qemu
def test_guard_kernels_bit_exact_under_qemu_m55(guard_kernel, tmp_path):
    """Borders (zero-point lanes from predicated loads), windows read where they lie, padded window
    rows, a lone channel quad, strides, batches, a lone last pixel: byte for byte with TFLM."""
    from tinyq.verify import verify_qemu
    board = get_board("qemu-m55")
    compiled = compile_graph(conv_variants(), board, backend="cmsis-nn")
    assert sum(op.function == guard_kernel for op in compiled.bound.ops) >= 8
    report = verify_qemu(compiled, board, n_inputs=4, work_dir=tmp_path)
    assert report.result.ok, summarize(report.result, compiled.graph)


@pytest.mark.skipif(not libraries.available("cmsis-nn"),
                    reason="set TINYQ_CMSIS_NN_DIR: the host build links the backend's library")
def test_guard_kernels_plain_c_fallback_bit_exact_on_host(guard_kernel):
    compiled = compile_graph(conv_variants(WINDOW_VARIANTS), get_board("qemu-m55"), backend="cmsis-nn")
    assert {op.function for op in compiled.bound.ops} <= {guard_kernel, "tq_mve_conv_single_s8"}
    result = verify_host(compiled, get_board("host"), n_inputs=4)
    assert result.ok, summarize(result, compiled.graph)
