"""float32 FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, pooling, SOFTMAX and LOG_SOFTMAX against TFLM's
reference float kernels: every option, bit for bit (the same summation order, no fused multiply-add),
on the host, and under QEMU on the Cortex-M55 (hard float) and ARMv6-M (soft float) builds."""

import zlib

import numpy as np
import pytest

from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH"]  # TANH: TFLM's float kernels clamp to the float range


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _weights(rng, shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def fc_graph(rng, name="fc"):
    b = GraphBuilder(name)
    outs = []
    cases = [((1, 16), 8, True, "NONE"), ((3, 10), 5, True, "RELU"), ((2, 300), 4, True, "RELU6"),
             ((4, 7), 3, False, "RELU_N1_TO_1"), ((1, 5), 6, True, "TANH"), ((2, 3, 7), 4, True, "NONE")]
    for shape, units, bias, act in cases:
        depth = shape[-1]
        x = b.input(shape, dtype="float32")
        w = b.const(_weights(rng, (units, depth)), "float32")
        bias_t = b.const(_weights(rng, (units,)), "float32") if bias else -1
        keep = len(shape) == 3
        out_shape = shape[:-1] + (units,) if keep else (int(np.prod(shape[:-1])), units)
        y = b.activation(out_shape, dtype="float32", name=f"fc{shape}{units}{act}")
        b.op("fully_connected", [x, w, bias_t], [y], fused_activation_function=act, keep_num_dims=keep)
        outs.append(y)
    return b.build(outs)


def _out_size(padding, size, k, stride, dilation=1):
    eff = (k - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size - eff + stride) // stride


CONV_CASES = [  # input NHWC, out channels, filter hw, stride hw, dilation hw, padding, activation, bias
    ((1, 7, 9, 3), 4, (3, 3), (1, 1), (1, 1), "SAME", "NONE", True),
    ((2, 8, 6, 2), 5, (3, 2), (2, 1), (1, 1), "VALID", "RELU", True),
    ((1, 9, 9, 4), 3, (3, 3), (2, 2), (2, 2), "SAME", "RELU6", False),
    ((1, 5, 5, 6), 4, (1, 1), (1, 1), (1, 1), "SAME", "RELU_N1_TO_1", True),
    ((1, 6, 7, 8), 6, (2, 3), (1, 2), (1, 1), "SAME", "TANH", True),
    ((1, 4, 4, 64), 2, (3, 3), (1, 1), (1, 1), "SAME", "NONE", True),  # 576-term sums
]


def conv_graph(rng, name="conv", groups_case=True):
    b = GraphBuilder(name)
    outs = []
    for shape, oc, (fh, fw), (sh, sw), (dh, dw), pad, act, bias in CONV_CASES:
        x = b.input(shape, dtype="float32")
        w = b.const(_weights(rng, (oc, fh, fw, shape[3])), "float32")
        bias_t = b.const(_weights(rng, (oc,)), "float32") if bias else -1
        oh, ow = _out_size(pad, shape[1], fh, sh, dh), _out_size(pad, shape[2], fw, sw, dw)
        y = b.activation((shape[0], oh, ow, oc), dtype="float32")
        b.op("conv_2d", [x, w, bias_t], [y], padding=pad, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
             dilation_w_factor=dw, fused_activation_function=act)
        outs.append(y)
    if groups_case:  # grouped: 6 input channels in 3 groups of 2, 6 outputs
        x = b.input((1, 5, 5, 6), dtype="float32")
        w = b.const(_weights(rng, (6, 3, 3, 2)), "float32")
        y = b.activation((1, 5, 5, 6), dtype="float32")
        b.op("conv_2d", [x, w, b.const(_weights(rng, (6,)), "float32")], [y], padding="SAME")
        outs.append(y)
    return b.build(outs)


DEPTHWISE_CASES = [  # input, multiplier, filter, stride, dilation, padding, activation, bias
    ((1, 7, 8, 4), 1, (3, 3), (1, 1), (1, 1), "SAME", "RELU", True),
    ((2, 6, 6, 3), 2, (3, 3), (2, 2), (1, 1), "VALID", "NONE", True),
    ((1, 9, 9, 2), 3, (3, 2), (1, 2), (2, 2), "SAME", "RELU6", False),
    ((1, 5, 4, 5), 1, (5, 5), (1, 1), (1, 1), "SAME", "RELU_N1_TO_1", True),
]


def depthwise_graph(rng, name="dw"):
    b = GraphBuilder(name)
    outs = []
    for shape, mult, (fh, fw), (sh, sw), (dh, dw), pad, act, bias in DEPTHWISE_CASES:
        oc = shape[3] * mult
        x = b.input(shape, dtype="float32")
        w = b.const(_weights(rng, (1, fh, fw, oc)), "float32")
        # without a bias: two inputs (TFLM's Prepare crashes on a third input of -1)
        operands = [x, w, b.const(_weights(rng, (oc,)), "float32")] if bias else [x, w]
        oh, ow = _out_size(pad, shape[1], fh, sh, dh), _out_size(pad, shape[2], fw, sw, dw)
        y = b.activation((shape[0], oh, ow, oc), dtype="float32")
        b.op("depthwise_conv_2d", operands, [y], padding=pad, stride_h=sh, stride_w=sw, depth_multiplier=mult,
             dilation_h_factor=dh, dilation_w_factor=dw, fused_activation_function=act)
        outs.append(y)
    return b.build(outs)


POOL_CASES = [  # input, filter, stride, padding, activation
    ((1, 8, 8, 3), (2, 2), (2, 2), "VALID", "NONE"),
    ((2, 7, 9, 4), (3, 3), (2, 2), "SAME", "RELU"),
    ((1, 5, 6, 2), (3, 2), (1, 1), "SAME", "RELU6"),
    ((1, 6, 6, 5), (6, 6), (1, 1), "VALID", "RELU_N1_TO_1"),
]


def pool_graph(name="pool", ops=("average_pool_2d", "max_pool_2d", "l2_pool_2d")):
    b = GraphBuilder(name)
    outs = []
    for op in ops:
        for shape, (fh, fw), (sh, sw), pad, act in POOL_CASES:
            x = b.input(shape, dtype="float32")
            oh, ow = _out_size(pad, shape[1], fh, sh), _out_size(pad, shape[2], fw, sw)
            y = b.activation((shape[0], oh, ow, shape[3]), dtype="float32", name=f"{op}{shape}{act}")
            b.op(op, [x], [y], padding=pad, stride_h=sh, stride_w=sw, filter_height=fh, filter_width=fw,
                 fused_activation_function=act)
            outs.append(y)
    return b.build(outs)


def softmax_graph(name="softmax"):
    b = GraphBuilder(name)
    outs = []
    for shape, beta in (((1, 10), 1.0), ((3, 7), 0.37), ((2, 2, 5), 2.5), ((1, 1), 1.0), ((4, 33), 1e-3)):
        x = b.input(shape, dtype="float32")
        y = b.activation(shape, dtype="float32", name=f"softmax{shape}{beta}")
        b.op("softmax", [x], [y], beta=beta)
        outs.append(y)
    for shape in ((1, 10), (3, 6), (2, 1, 9)):
        x = b.input(shape, dtype="float32")
        y = b.activation(shape, dtype="float32", name=f"log_softmax{shape}")
        b.op("log_softmax", [x], [y])
        outs.append(y)
    return b.build(outs)


def test_fully_connected():
    assert_float_exact(fc_graph(_rng("fc")), n_inputs=12)
    assert_float_exact(fc_graph(_rng("fc-special"), "fc_special"), n_inputs=8, special=True, seed=1)


def test_conv_2d():
    assert_float_exact(conv_graph(_rng("conv")), n_inputs=8)
    assert_float_exact(conv_graph(_rng("conv-special"), "conv_special"), n_inputs=4, special=True, seed=1)


def test_depthwise_conv_2d():
    assert_float_exact(depthwise_graph(_rng("dw")), n_inputs=10)
    assert_float_exact(depthwise_graph(_rng("dw-special"), "dw_special"), n_inputs=4, special=True, seed=1)


def test_pooling():
    assert_float_exact(pool_graph(), n_inputs=10)
    assert_float_exact(pool_graph("pool_special"), n_inputs=6, special=True, seed=1)


def test_softmax_and_log_softmax():
    assert_float_exact(softmax_graph(), n_inputs=16, scale=30.0)
    assert_float_exact(softmax_graph("softmax_special"), n_inputs=8, special=True, seed=1)


def test_conv_family_on_targets():
    """One build per target: FC, conv, depthwise, pooling and softmax side by side, hard float
    (Cortex-M55) and soft float (ARMv6-M) against TFLM's x86 results."""
    rng = _rng("targets")
    b = GraphBuilder("float_targets")
    outs = []
    for graph in (fc_graph(rng), softmax_graph(), pool_graph(ops=("average_pool_2d", "max_pool_2d", "l2_pool_2d"))):
        outs += _merge(b, graph)
    assert_float_exact(b.build(outs), n_inputs=4, boards=("host", *QEMU_BOARDS))


def test_convolutions_on_targets():
    rng = _rng("conv-targets")
    b = GraphBuilder("conv_targets")
    outs = _merge(b, conv_graph(rng)) + _merge(b, depthwise_graph(rng))
    assert_float_exact(b.build(outs), n_inputs=3, boards=("host", *QEMU_BOARDS))


def _merge(b: GraphBuilder, graph) -> list[int]:
    """Copy graph's tensors and ops into builder b; returns b's indices of graph's outputs."""
    index = {}
    for t in graph.tensors:
        if t.index in graph.inputs:
            index[t.index] = b.input(t.shape, dtype=t.dtype, name=t.name + f"_{len(index)}")
        elif t.is_const:
            index[t.index] = b.const(t.data, t.dtype)
        else:
            index[t.index] = b.activation(t.shape, dtype=t.dtype, name=t.name + f"_{len(index)}")
    for op in graph.operators:
        b._ops.append(type(op)(index=len(b._ops), op=op.op, inputs=tuple(index[i] if i >= 0 else -1 for i in op.inputs),
                               outputs=tuple(index[i] for i in op.outputs), options=op.options, version=op.version))
    return [index[i] for i in graph.outputs]


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def test_hybrid_weights_are_refused_as_tflm_refuses_them():
    b = GraphBuilder("hybrid")
    x = b.input((1, 4, 4, 2), dtype="float32")
    w = b.const(np.ones((3, 1, 1, 2), np.int8), "int8", scale=0.1, zero_point=0)
    y = b.activation((1, 4, 4, 3), dtype="float32")
    b.op("conv_2d", [x, w, -1], [y], padding="SAME")
    with pytest.raises(TinyqError, match="hybrid model"):
        _compile(b.build([y]))


def test_mixed_input_and_output_types_are_refused():
    b = GraphBuilder("mixed")
    x = b.input((1, 4), dtype="float32")
    w = b.const(np.ones((2, 4), np.float32), "float32")
    y = b.activation((1, 2), dtype="int8", scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    with pytest.raises(TinyqError, match="int8 beside float32"):
        _compile(b.build([y]))


def test_fully_connected_with_computed_weights_and_bias():
    """TFLM's float FULLY_CONNECTED reads weights and bias wherever they are: computed ones too."""
    b = GraphBuilder("fc_computed")
    x = b.input((3, 6), dtype="float32")
    w = b.input((4, 6), dtype="float32")
    bias = b.input((4,), dtype="float32")
    y1 = b.activation((3, 4), dtype="float32", name="computed")
    b.op("fully_connected", [x, w, bias], [y1], fused_activation_function="RELU")
    y2 = b.activation((3, 4), dtype="float32", name="computed_weights_const_bias")
    b.op("fully_connected", [x, w, b.const(np.arange(4, dtype=np.float32), "float32")], [y2])
    assert_float_exact(b.build([y1, y2]), n_inputs=8, boards=("host", QEMU_BOARDS[1]))
