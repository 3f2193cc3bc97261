"""The MLPerf Tiny int8 models, whole: bit-exact with TFLM on the host over 100+ inputs."""

import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.verify import summarize, verify_host

MODELS = ["kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite", "ad_fc_autoencoder_int8.tflite"]


@pytest.mark.parametrize("model", MODELS)
def test_mlperf_model_bit_exact_on_host(model):
    board = get_board("host")
    compiled = compile_file(shared_file("models", "mlperf-tiny", model), board)
    result = verify_host(compiled, board, n_inputs=100, seed=42)
    assert result.records == 100
    assert result.ok, summarize(result, compiled.graph)


@pytest.mark.parametrize("model", MODELS)
def test_mlperf_model_every_layer_matches(model):
    board = get_board("host")
    compiled = compile_file(shared_file("models", "mlperf-tiny", model), board)
    result = verify_host(compiled, board, n_inputs=5, layers=True, seed=7)
    assert result.tensors_compared == len({t for op in compiled.graph.operators for t in op.outputs})
    assert result.ok, summarize(result, compiled.graph)
