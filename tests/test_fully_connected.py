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
