"""Hybrid graphs: float32 and int8 parts in one memory plan and one generated invoke, joined by QUANTIZE
and DEQUANTIZE: float convolution -> QUANTIZE -> int8 convolution, depthwise, ADD -> DEQUANTIZE -> float
fully connected and SOFTMAX; bit-exact with TFLM on the host and under QEMU with the reference kernels and
CMSIS-NN (which runs the int8 layers; the float ones fall back to tinyq's float kernels with the reason)."""

import numpy as np

from conftest import bound_ops
from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.boards import get_board
from tinyq.tflite.builder import GraphBuilder

BACKENDS = ("reference", "cmsis-nn") if libraries.available("cmsis-nn") else ("reference",)


def hybrid_graph():
    rng = np.random.default_rng(7)
    b = GraphBuilder("hybrid")
    f = dict(dtype="float32")
    x = b.input((1, 8, 8, 3), **f)
    h = b.activation((1, 8, 8, 8), **f)
    b.op("conv_2d", [x, b.const((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "float32"),
                     b.const((rng.standard_normal(8) * 0.1).astype(np.float32), "float32")], [h],
         padding="SAME", fused_activation_function="RELU")
    q = dict(scale=0.02, zero_point=-128)
    hq = b.activation((1, 8, 8, 8), **q)
    b.op("quantize", [h], [hq])
    w = b.const(rng.integers(-127, 128, size=(8, 3, 3, 8)), "int8", scale=[0.004] * 8, zero_point=0, axis=0)
    bias = b.const(rng.integers(-500, 500, size=8), "int32", scale=[0.02 * 0.004] * 8, zero_point=0)
    c = b.activation((1, 8, 8, 8), scale=0.05, zero_point=3)
    b.op("conv_2d", [hq, w, bias], [c], padding="SAME", fused_activation_function="NONE")
    dw = b.activation((1, 8, 8, 8), scale=0.05, zero_point=-2)
    b.op("depthwise_conv_2d", [c, b.const(rng.integers(-127, 128, size=(1, 3, 3, 8)), "int8", scale=[0.01] * 8,
                                          zero_point=0, axis=3),
                               b.const(rng.integers(-300, 300, size=8), "int32", scale=[0.05 * 0.01] * 8, zero_point=0)],
         [dw], padding="SAME", depth_multiplier=1, fused_activation_function="RELU")
    s = b.activation((1, 8, 8, 8), scale=0.06, zero_point=0)
    b.op("add", [dw, c], [s], fused_activation_function="NONE")
    deq = b.activation((1, 8, 8, 8), **f)
    b.op("dequantize", [s], [deq])
    flat = b.activation((1, 512), **f)
    b.op("reshape", [deq, b.const(np.array([1, 512], np.int32), "int32")], [flat], new_shape=(1, 512))
    logits = b.activation((1, 10), **f)
    b.op("fully_connected", [flat, b.const((rng.standard_normal((10, 512)) * 0.05).astype(np.float32), "float32"),
                             b.const(np.zeros(10, np.float32), "float32")], [logits])
    y = b.activation((1, 10), **f)
    b.op("softmax", [logits], [y], beta=1.0)
    return b.build([y])


def test_one_plan_one_invoke_for_float_and_int8_parts():
    compiled = compile_graph(hybrid_graph(), get_board("host"))
    kernels = [op.lowered.kernel for op in compiled.bound.ops]
    assert kernels[0] == "conv_2d_f32" and kernels[2] == "conv_2d" and kernels[-1] == "softmax_f32"
    source = compiled.source.files["hybrid_model.c"]
    assert source.count("static uint8_t tq_arena[") == 1 and "tq_conv_2d_f32(" in source and "tq_conv_2d_s8(" in source


def test_vendor_layers_run_the_int8_part_and_pass_the_float_part():
    if "cmsis-nn" not in BACKENDS:
        return
    ops = bound_ops(hybrid_graph(), "cmsis-nn", isa="mve")
    by_kernel = {op.lowered.kernel: op for op in ops}
    assert by_kernel["conv_2d"].optimized and by_kernel["depthwise_conv_2d"].optimized
    assert not by_kernel["conv_2d_f32"].optimized
    assert "conv_2d_f32" in by_kernel["conv_2d_f32"].reason


def test_hybrid_graph_bit_exact_everywhere():
    graph = hybrid_graph()
    for backend in BACKENDS:
        assert_float_exact(graph, n_inputs=4, boards=("host", *QEMU_BOARDS), backend=backend,
                           ranges={0: (-2.0, 2.0)})
