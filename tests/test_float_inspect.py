"""`tinyq inspect` on float models: what the float32 ops cost (float weights, planned arena, estimated
instructions on the board's float ABI) against an int8 version, and the `tinyq quantize` command line."""

import subprocess
import sys

import numpy as np

from tinyq.boards import get_board
from tinyq.float_cost import float_abi, float_cost, macs
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def small_cnn():
    rng = np.random.default_rng(0)
    b = GraphBuilder("cnn")
    x = b.input((1, 8, 8, 3), dtype="float32")
    h = b.activation((1, 8, 8, 4), dtype="float32")
    b.op("conv_2d", [x, b.const(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "float32"),
                     b.const(np.zeros(4, np.float32), "float32")], [h], padding="SAME", fused_activation_function="RELU")
    flat = b.activation((1, 256), dtype="float32")
    b.op("reshape", [h, b.const(np.array([1, 256], np.int32), "int32")], [flat], new_shape=(1, 256))
    y = b.activation((1, 5), dtype="float32")
    b.op("fully_connected", [flat, b.const(rng.standard_normal((5, 256)).astype(np.float32), "float32"), -1], [y])
    return b.build([y])


def test_multiply_accumulates_of_conv_and_fully_connected():
    # conv: 64 outputs x 4 channels x 27 taps; reshape: 256 elements; FC: 5 x 256
    assert macs(small_cnn()) == 8 * 8 * 4 * 27 + 256 + 5 * 256


def test_float_abi_of_the_boards():
    assert float_abi(get_board("qemu-m55")) == "hard"
    assert float_abi(get_board("ra8m1")) == "hard"
    assert float_abi(get_board("rp2040")) == "soft"
    assert float_abi(get_board("qemu-m0-an385")) == "soft"
    assert float_abi(get_board("host")) is None
    assert float_abi(get_board("esp32s3")) is None  # no measurement on Xtensa


def test_cost_scales_with_the_model_and_favours_int8():
    graph = small_cnn()
    hard = float_cost(graph, get_board("qemu-m55"), arena_bytes=4096)
    soft = float_cost(graph, get_board("rp2040"), arena_bytes=4096)
    assert hard.weights_bytes == (4 * 27 + 4 + 5 * 256) * 4
    assert soft.float_instructions > 10 * hard.float_instructions  # soft float pays per operation
    for cost in (hard, soft):
        assert min(cost.int8_instructions.values()) < cost.float_instructions
    int8 = GraphBuilder("int8")
    x = int8.input((4,), scale=0.1, zero_point=0)
    y = int8.activation((4,), scale=0.1, zero_point=0)
    int8.op("relu", [x], [y])
    assert float_cost(int8.build([y]), get_board("qemu-m55"), None) is None


def test_inspect_prints_the_cost_and_the_quantize_command(tmp_path):
    model = tmp_path / "cnn.tflite"
    model.write_bytes(write_model(small_cnn()))
    for board, expect in (("qemu-m55", "Cortex-M55/M85 with its FPU"), ("rp2040", "soft float"),
                          ("host", "instruction estimates: --board")):
        proc = subprocess.run([sys.executable, "-m", "tinyq", "inspect", str(model), "--board", board],
                              capture_output=True, text=True, check=True)
        assert "float32: 3 op(s) run TFLM's float reference arithmetic" in proc.stdout
        assert expect in proc.stdout
        assert f"tinyq quantize {model} --calib DATA.npy -o {tmp_path / 'cnn_int8.tflite'}" in proc.stdout
