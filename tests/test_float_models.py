"""Every float32 model of TFLM's own repository and MLPerf Tiny's float models, bit-exact with TFLM: on the
host, and under QEMU on the Cortex-M55 (hard float) and ARMv6-M (soft float) builds where they fit and run
in a test's time. MLPerf's kws_dscnn_float32 is a hybrid model (int8 convolution weights, float
activations) that TFLM itself refuses; tinyq refuses it with TFLM's reason."""

import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.errors import TinyqError
from tinyq.verify import summarize, verify_host, verify_qemu

CORPUS = ("examples_hello_world_models_hello_world_float", "python_tflite_micro_sine_float",
          "examples_mnist_lstm_trained_lstm", "examples_micro_speech_models_audio_preprocessor_float")
MLPERF = ("ad_fc_autoencoder_float32", "ic_resnet8_float32")
# (model, board): under QEMU; AD's 1 MB of float weights exceed qemu-m55's 512 KB ITCM, ResNet-8 in soft
# float is 2 billion instructions an inference
ON_TARGETS = [(m, b) for m in CORPUS for b in ("qemu-m55", "qemu-m0-an385")] + \
    [("ic_resnet8_float32", "qemu-m55"), ("ad_fc_autoencoder_float32", "qemu-m0-an385")]


def _path(name):
    folder = "tflm-corpus" if name in CORPUS else "mlperf-tiny"
    return shared_file("models", folder, name + ".tflite")


@pytest.mark.parametrize("name", CORPUS + MLPERF)
def test_float_model_on_the_host(name):
    board = get_board("host")
    compiled = compile_file(_path(name), board)
    result = verify_host(compiled, board, n_inputs=8)
    assert result.ok, summarize(result, compiled.graph)


@pytest.mark.parametrize("name, board", ON_TARGETS)
def test_float_model_on_targets(name, board):
    b = get_board(board)
    report = verify_qemu(compile_file(_path(name), b), b, n_inputs=3)
    assert report.result.ok, f"{name} on {board}: " + str(report.result.mismatches[:3])


def test_hybrid_mlperf_kws_is_refused_as_tflm_refuses_it():
    with pytest.raises(TinyqError, match="hybrid model"):
        compile_file(_path("kws_dscnn_float32"), get_board("host"))
