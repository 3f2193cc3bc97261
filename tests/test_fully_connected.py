"""FULLY_CONNECTED against TFLM: per-tensor and per-channel weights, every activation, bias or not."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.tflite.builder import GraphBuilder


def fc_graph(rng, batches=1, depth=24, units=10, per_channel=True, activation="NONE", bias=True,
             keep_num_dims=False, in_shape=None):
    b = GraphBuilder("fc")
    x = b.input(in_shape or (batches, depth), scale=rng.uniform(0.01, 0.2), zero_point=int(rng.integers(-20, 20)))
    scales = rng.uniform(0.002, 0.02, size=units if per_channel else 1)
    w = b.const(rng.integers(-127, 128, size=(units, depth)), "int8", scale=scales, zero_point=0, axis=0)
    in_scale = b._tensors[x].quant.s
    bias_t = b.const(rng.integers(-2000, 2000, size=units), "int32",
                     scale=in_scale * scales, zero_point=0) if bias else -1
    y = b.activation((batches, units), scale=rng.uniform(0.05, 0.5), zero_point=int(rng.integers(-30, 30)))
    b.op("fully_connected", [x, w, bias_t], [y], fused_activation_function=activation,
         keep_num_dims=keep_num_dims)
    return b.build([y])


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_fc_variants(per_channel, activation):
    rng = np.random.default_rng(zlib.crc32(f"{per_channel}{activation}".encode()))
    assert_bit_exact(fc_graph(rng, per_channel=per_channel, activation=activation))


def test_fc_batches_without_bias():
    rng = np.random.default_rng(7)
    assert_bit_exact(fc_graph(rng, batches=3, bias=False, units=5, depth=33))


def test_fc_with_a_dynamic_batch_input_says_to_fix_the_batch():
    """ai-edge-torch with dynamic_shapes stores the input as [1, depth] (signature [-1, depth]) and the layers at
    the example's batch: TFLM fills one row of two. The refusal names the signature and how to re-export."""
    from dataclasses import replace

    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower_graph

    graph = fc_graph(np.random.default_rng(9), batches=2)
    x = graph.inputs[0]
    tensors = list(graph.tensors)
    tensors[x] = replace(tensors[x], shape=(1, 24), shape_signature=(-1, 24))
    with pytest.raises(UnsupportedError) as info:
        lower_graph(replace(graph, tensors=tuple(tensors)))
    assert "holds 1 rows of 24, output [2, 10] 2 of 10" in info.value.what
    assert "signature [-1, 24]" in info.value.what and "fixed batch size" in info.value.hint


def test_fc_flattens_4d_input():
    rng = np.random.default_rng(8)
    assert_bit_exact(fc_graph(rng, depth=48, in_shape=(1, 4, 4, 3)))


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_fc_per_channel_scales_along_another_axis_run_as_tflm_runs_them(dtype):
    """TFLM's FC Prepare wants one scale per entry of the dimension the file's quantized_dimension names and
    computes a multiplier per scale; its kernel reads output unit i's at i. Weights [4, 8] with 8 scales
    along axis 1, or [4, 4] with 4, run on the first 4 scales; tinyq refused them ('must be quantized along
    axis 0'). A count that is not the named dimension's (tinyq stopped with an internal IndexError on 3
    scales along axis 0 of [4, 8]) and fewer scales than output units (TFLM reads past its array) are
    refused in one line."""
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower_graph

    rng = np.random.default_rng(zlib.crc32(b"fc_axis"))
    cases = (((4, 8), 8, 1, None), ((4, 4), 4, 1, None), ((4, 8), 3, 0, "one per entry"), ((4, 2), 2, 1, "past its array"))
    bias_type = "int32" if dtype == "int8" else "int64"
    for shape, n, axis, refusal in cases:
        b = GraphBuilder("fc_axis")
        x = b.input((2, shape[1]), dtype, scale=0.05, zero_point=3 if dtype == "int8" else 0)
        w = b.const(rng.integers(-127, 128, size=shape), "int8", scale=rng.uniform(0.002, 0.02, n), zero_point=0,
                    axis=axis)
        bias = b.const(rng.integers(-300, 300, size=shape[0]), bias_type, scale=0.0005, zero_point=0)
        y = b.activation((2, shape[0]), dtype, scale=0.1, zero_point=-2 if dtype == "int8" else 0)
        b.op("fully_connected", [x, w, bias], [y])
        graph = b.build([y])
        if refusal is None:
            assert_bit_exact(graph, n_inputs=6)
        else:
            with pytest.raises(UnsupportedError, match=refusal):
                lower_graph(graph)
