"""Real models, whole, bit-exact with TFLM on their own file bytes.

The converter-made int8 models in tests/data/models (tests/data/make_models.py, TensorFlow 2.21):
an SSD detector ending in TFLite_Detection_PostProcess (regular and fast NMS), a transformer
encoder block and a U-Net; and TFLM's PyTorch-exported MobileNetV2 (TRANSPOSE at its input).
Each test also checks that its model holds the ops it is here for, so a regenerated model that
lost them fails instead of passing vacuously.
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.verify import summarize, verify_host, verify_qemu
from tinyq.verify.compare import compare_outputs, compare_traces
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner

MODELS = Path(__file__).resolve().parent / "data" / "models"
DETECTORS = ["ssd_detector_regular_nms.tflite", "ssd_detector_fast_nms.tflite"]
POSTPROCESS = "custom:TFLite_Detection_PostProcess"

# the ops each converter-made model is here to cover
COVERS = {
    "ssd_detector_regular_nms.tflite": {POSTPROCESS, "dequantize", "logistic", "concatenation", "conv_2d"},
    "ssd_detector_fast_nms.tflite": {POSTPROCESS, "dequantize", "logistic", "concatenation", "conv_2d"},
    "transformer_block.tflite": {"gather", "batch_matmul", "softmax", "transpose", "fully_connected", "mean",
                                 "rsqrt", "sub", "mul", "add", "strided_slice"},
    "unet.tflite": {"transpose_conv", "resize_nearest_neighbor", "resize_bilinear", "concatenation",
                    "max_pool_2d", "conv_2d"},
}
PYTORCH_MOBILENET_V2 = "third_party_xtensa_examples_pytorch_to_tflite_mobilenet_v2_quantized_1x3x224x224.tflite"


def token_records(graph, n: int, seed: int) -> list[list[np.ndarray]]:
    """verify's records, with every int32 input that indexes a GATHER drawn from the valid indices
    (uniform int32 ids are out of range, and both TFLM and the generated code refuse them)."""
    rng = np.random.default_rng(seed)
    records = make_inputs(graph, n, seed)
    for position, t in enumerate(graph.inputs):
        gathers = [op for op in graph.operators if op.op == "gather" and op.inputs[1] == t]
        if graph.tensors[t].dtype != "int32" or not gathers:
            continue
        rows = min(graph.tensors[op.inputs[0]].shape[op.options.axis] for op in gathers)
        for record in records:
            record[position] = rng.integers(0, rows, size=record[position].shape).astype(np.int32)
    return records


def verify_on_host(compiled, records, layers: bool = False):
    """verify's host comparison on records the test chooses: (result, the generated code's outputs)."""
    run = HostRunner(get_board("host")).run(compiled, records, layers)
    if layers:
        producer = {t: pos for pos, k in enumerate(compiled.lowered.ops) for t in k.outputs}
        return compare_traces(compiled.model, compiled.graph, producer, records, run.traces), run.outputs
    return compare_outputs(compiled.model, compiled.graph, records, run.outputs), run.outputs


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
@pytest.mark.parametrize("model", sorted(COVERS))
def test_converted_model_bit_exact_on_host(model, backend):
    board = get_board("host")
    compiled = compile_file(MODELS / model, board, backend=backend)
    assert COVERS[model] <= {op.op for op in compiled.graph.operators}
    result, _ = verify_on_host(compiled, token_records(compiled.graph, 60, seed=11))
    assert result.records == 60
    assert result.ok, summarize(result, compiled.graph)


@pytest.mark.parametrize("model", sorted(COVERS))
def test_converted_model_every_layer_matches(model):
    board = get_board("host")
    compiled = compile_file(MODELS / model, board)
    result, _ = verify_on_host(compiled, token_records(compiled.graph, 5, seed=7), layers=True)
    assert result.tensors_compared > len(compiled.graph.outputs)
    assert result.ok, summarize(result, compiled.graph)


@pytest.mark.parametrize("model", DETECTORS)
def test_detector_detects(model):
    """The detectors find boxes; regular NMS's count varies with the input (its zero padding runs)."""
    compiled = compile_file(MODELS / model, get_board("host"))
    result, outputs = verify_on_host(compiled, make_inputs(compiled.graph, 30, seed=3))
    assert result.ok, summarize(result, compiled.graph)
    position = [compiled.graph.tensors[t].shape for t in compiled.graph.outputs].index((1,))
    counts = {float(record[position][0]) for record in outputs}
    assert max(counts) > 0, counts
    if "regular" in model:
        assert len(counts) > 1, counts


@pytest.mark.parametrize("board", ["qemu-m55", "qemu-m0-an385"])
def test_detector_on_qemu(board):
    """The post-process op's float arithmetic on Arm: hard-float Helium core and soft-float ARMv6-M."""
    b = get_board(board)
    for model in DETECTORS:
        compiled = compile_file(MODELS / model, b)
        report = verify_qemu(compiled, b, n_inputs=8, seed=5)
        assert report.result.ok, f"{model} on {board}: " + summarize(report.result, compiled.graph)


def test_pytorch_mobilenet_v2_bit_exact_on_host():
    path = shared_file("models", "tflm-corpus", PYTORCH_MOBILENET_V2)
    board = get_board("host")
    compiled = compile_file(path, board)
    assert compiled.graph.operators[0].op == "transpose"  # NCHW input, as PyTorch exports it
    result = verify_host(compiled, board, n_inputs=6, seed=1)
    assert result.ok, summarize(result, compiled.graph)
