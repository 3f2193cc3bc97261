"""Defects that published .tflite files made by others exposed (Coral's test_data, TF's hosted models,
tflite-support's test models, TinyMaix, MCUNet, MLPerf Tiny submissions). Each test builds its own model with
tinyq's writer in the pattern the file had; none reads the published file."""

import numpy as np
import pytest

from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model


def _uint8_conv():
    """TF1's uint8 quantization (Coral's and TF's hosted mobilenet_v1_*_quant.tflite): uint8 activations and
    asymmetric uint8 weights in the conv itself."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("uint8_conv")
    x = b.input((1, 4, 4, 2), "uint8", scale=0.0078125, zero_point=128)
    w = b.const(rng.integers(0, 256, (3, 3, 3, 2)), "uint8", scale=0.02, zero_point=120)
    bias = b.const(rng.integers(-500, 500, 3), "int32", scale=0.0078125 * 0.02, zero_point=0)
    y = b.activation((1, 4, 4, 3), "uint8", scale=0.05, zero_point=0)
    b.op("conv_2d", [x, w, bias], [y], padding="SAME")
    return b.build([y])


def test_a_uint8_model_is_not_sent_round_in_circles():
    """verify said 'quantize the model to int8 first (tinyq quantize)', and tinyq quantize said the model is
    already quantized and that 'tinyq generate/verify take this one as it is'. Both now point at the float model."""
    from tinyq.api import compile as compile_model
    from tinyq.quantize import quantize_graph

    model = write_model(_uint8_conv())
    with pytest.raises(TinyqError):  # the refusal is right: TFLM cannot run it either
        tflm_run(model, [[np.zeros((1, 4, 4, 2), np.uint8)]])
    with pytest.raises(TinyqError, match="TFLM has no uint8 kernels either") as lowered:
        compile_model(model)
    assert "tinyq quantize" in str(lowered.value)
    with pytest.raises(TinyqError, match="already quantized") as quantized:
        quantize_graph(read_model(model), [np.zeros((4, 4, 4, 2), np.float32)])
    assert "float model it came from" in str(quantized.value)
    assert "take this one as it is" not in str(quantized.value)


@pytest.mark.parametrize("float_tail", [None, "log_softmax"])
def test_a_model_float_only_around_integer_ops_is_already_quantized(float_tail):
    """GreenWaves' MLPerf ToyCar_quant_fullint.tflite takes and returns float32 around an int8 graph, MCUNet's
    ptq_mnist_lenet-300-100.tflite adds a float LOG_SOFTMAX after the DEQUANTIZE: tinyq quantize said 'float op
    quantize cannot be quantized by tinyq' and to generate the float model as it is (it is not a float model);
    now it says the model is already quantized."""
    from tinyq.api import verify
    from tinyq.quantize import quantize_graph

    rng = np.random.default_rng(1)
    b = GraphBuilder("float_edges")
    x = b.input((1, 8), "float32")
    xq = b.activation((1, 8), "int8", scale=0.02, zero_point=-3)
    b.op("quantize", [x], [xq])
    w = b.const(rng.integers(-127, 128, (4, 8)), "int8", scale=0.01, zero_point=0)
    yq = b.activation((1, 4), "int8", scale=0.05, zero_point=2)
    b.op("fully_connected", [xq, w, -1], [yq])
    y = b.activation((1, 4), "float32")
    b.op("dequantize", [yq], [y])
    if float_tail:
        y, tail_input = b.activation((1, 4), "float32"), y
        b.op(float_tail, [tail_input], [y])
    model = write_model(b.build([y]))
    assert verify(model, inputs=4).ok  # what the refusal sends the user to
    with pytest.raises(TinyqError, match="already quantized .its ops compute in int8, float only around them") \
            as refused:
        quantize_graph(read_model(model), [rng.normal(0, 1, (8, 8)).astype(np.float32)])
    assert "cannot be quantized" not in str(refused.value)


def _wide_input(floats: int):
    """A float input of `floats` values, of which the model returns the first four: the arena is about the
    input, the board firmware's input/output buffers as large again."""
    b = GraphBuilder("wide_input")
    x = b.input((1, floats), "float32")
    y = b.activation((1, 4), "float32")
    b.op("slice", [x, b.const(np.array([0, 0]), "int32"), b.const(np.array([1, 4]), "int32")], [y])
    return b.build([y])


def test_the_fit_check_counts_the_firmware_input_and_output_buffers():
    """MCUNet's detection model (float 1x128x160x3 input) passed the fit check on qemu-m55 and then failed in
    the linker, 92,864 B over DTCM: the firmware's in_buf/out_buf (245,760 + 30,240 B) share the arena's
    region. The check counts them now, in compile (generate, verify --board) and plan alike."""
    from tinyq.api import plan
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph
    from tinyq.plan.fit import arena_room

    board = get_board("qemu-m55")
    _, room, _ = arena_room(board)  # the region less the stack
    too_wide = _wide_input(room // 4 // 2 + 1024)  # the arena fits alone, not beside a copy of the input
    with pytest.raises(TinyqError, match="for the firmware's input/output buffers"):
        compile_graph(too_wide, board)
    report = plan(write_model(too_wide), board="qemu-m55")
    assert not report.fits and report.arena_bytes <= room
    fits = _wide_input(room // 4 // 2 - 1024)
    compile_graph(fits, board)
    assert plan(write_model(fits), board="qemu-m55").fits
