"""Whole 16x8 models against TFLM: TFLM's own 127 int16 SEANet layers (../shared/models/tflm-corpus) side by
side in one build, and a converter-made 16x8 DS-CNN keyword spotter (tests/data/models/kws_dscnn_16x8.tflite,
made by tests/data/make_int16_model.py) on the host, every layer, and under QEMU with each backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_models import merge
from conftest import SHARED, assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.tflite.reader import read_model_file
from tinyq.verify import summarize, verify_host

CORPUS = SHARED / "models" / "tflm-corpus"
DSCNN = Path(__file__).resolve().parent / "data" / "models" / "kws_dscnn_16x8.tflite"
# the SEANet layers by op
SEANET_KINDS = ("add", "conv", "leaky_relu", "pad", "quantize", "strided_slice", "sub", "transpose_conv")


def seanet_models(kinds=SEANET_KINDS) -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (tests that use ../shared models skip without it)")
    return sorted(p for kind in kinds for p in CORPUS.glob(f"integration_tests_seanet_{kind}_{kind}*.tflite"))


def test_seanet_int16_layers_bit_exact():
    """Every int16 SEANet layer TFLM ships (conv, add, sub, leaky_relu, pad, strided_slice, quantize,
    transpose_conv) in one graph, bit-exact on the host with the reference kernels and with CMSIS-NN."""
    paths = seanet_models()
    assert len(paths) == 127
    graph = merge([read_model_file(p) for p in paths], "seanet")
    assert {t.dtype for t in graph.tensors if not t.is_const} >= {"int16", "int32"}
    assert_bit_exact(graph, n_inputs=3)
    compiled = assert_bit_exact(graph, n_inputs=3, backend="cmsis-nn")
    convs = [c for c in compiled.bound.ops if c.lowered.kernel == "conv_2d_s16"]
    assert convs and all(c.optimized for c in convs), [c.reason for c in convs if not c.optimized]


def test_dscnn_16x8_is_the_converters_16x8_model():
    graph = read_model_file(DSCNN)
    assert [op.op for op in graph.operators] == (["conv_2d"] + ["depthwise_conv_2d", "conv_2d"] * 4 +
                                                 ["average_pool_2d", "fully_connected", "softmax"])
    activations = {t.dtype for t in graph.tensors if not t.is_const}
    biases = {graph.tensors[op.inputs[2]].dtype for op in graph.operators if len(op.inputs) > 2 and op.inputs[2] >= 0}
    assert activations == {"int16"} and biases == {"int64"}


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_dscnn_16x8_bit_exact_every_layer(backend):
    board = get_board("host")
    compiled = compile_file(DSCNN, board, backend=backend)
    result = verify_host(compiled, board, n_inputs=20, layers=True)
    assert result.ok, summarize(result, compiled.graph)


def test_dscnn_16x8_on_cmsis_nn_binds_the_library_kernels():
    """On Helium every convolution, depthwise convolution and the pooling run in CMSIS-NN; the
    per-channel classifier and the 12-value softmax fall back, each with its reason."""
    bound = bound_ops(read_model_file(DSCNN), "cmsis-nn", "mve")
    assert [c.function for c in bound[:10]] == (["arm_convolve_wrapper_s16"] +
                                                ["arm_depthwise_conv_fast_s16", "arm_convolve_wrapper_s16"] * 4 +
                                                ["arm_avgpool_s16"])
    assert "one multiplier" in bound[10].reason and "rows of length 12" in bound[11].reason


@pytest.mark.slow
def test_dscnn_16x8_on_targets():
    assert_bit_exact_on_targets(read_model_file(DSCNN), n_inputs=3, backends=("reference", "cmsis-nn", "esp-nn"))


def test_dscnn_16x8_on_esp_nn_falls_back_with_the_reason():
    """ESP-NN (1.2) has no int16 kernels: every op runs tinyq's reference kernel and says why."""
    bound = bound_ops(read_model_file(DSCNN), "esp-nn", "esp32s3")
    assert not any(c.optimized for c in bound)
    assert [c.reason for c in bound[:2]] == ["esp-nn has no conv_2d_s16 kernel",
                                             "esp-nn has no depthwise_conv_2d_s16 kernel"]
