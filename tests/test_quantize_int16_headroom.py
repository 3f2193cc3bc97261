"""int16 activations hold values past what calibration saw (INT16_HEADROOM): a 16x8 model does not clip
inputs larger than its calibration data, where TFLite's max / 32767 scale would.

The model is positively homogeneous (convolutions, ReLU, max pooling and fully connected layers without
biases): inputs 1.5 times the calibration samples make every activation exactly 1.5 times a value
calibration saw, so any int16 value at a rail would be clipping."""

import numpy as np
import pytest

from conftest import assert_bit_exact, shared_file
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.actparams import INT16_FIXED_OUTPUT, INT16_HEADROOM
from tinyq.quantize.isolated import tflm_run_layers
from tinyq.quantize.report import quantize_inputs
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model_file

RAILS = (-32768, 32767)
BEYOND = 1.5  # test inputs: the calibration samples times this (below INT16_HEADROOM)


def homogeneous(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("homogeneous")
    x = b.input((1, 12, 12, 2), "float32")
    c1, d1, c2 = b.activation((1, 12, 12, 8), "float32"), b.activation((1, 12, 12, 8), "float32"), \
        b.activation((1, 12, 12, 12), "float32")
    pooled, flat, y = b.activation((1, 6, 6, 12), "float32"), b.activation((1, 432), "float32"), \
        b.activation((1, 5), "float32")

    def weights(*shape):
        return b.const((rng.normal(size=shape) * 0.4).astype(np.float32))

    def zeros(n):
        return b.const(np.zeros(n, np.float32))

    b.op("conv_2d", [x, weights(8, 3, 3, 2), zeros(8)], [c1], padding="SAME", fused_activation_function="RELU")
    b.op("depthwise_conv_2d", [c1, weights(1, 3, 3, 8), zeros(8)], [d1], padding="SAME", depth_multiplier=1,
         fused_activation_function="RELU")
    b.op("conv_2d", [d1, weights(12, 1, 1, 8), zeros(12)], [c2], padding="SAME")
    b.op("max_pool_2d", [c2], [pooled], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    b.op("reshape", [pooled, b.const(np.array([1, 432], np.int32))], [flat])
    b.op("fully_connected", [flat, weights(5, 432), zeros(5)], [y])
    data = rng.uniform(-1, 1, size=(48, 12, 12, 2)).astype(np.float32)
    return b.build([y]), data


def int16_values(graph, records):
    """Every int16 activation TFLM computes, per tensor, over all records (fixed-range outputs left out)."""
    fixed = {t for op in graph.operators if op.op in INT16_FIXED_OUTPUT for t in op.outputs}
    runs = tflm_run_layers(graph, [quantize_inputs(graph, r) for r in records])
    values: dict[int, list[np.ndarray]] = {}
    for run in runs:
        for t, v in run.items():
            if graph.tensors[t].dtype == "int16" and t not in fixed:
                values.setdefault(t, []).append(np.ravel(v))
    return {t: np.concatenate(v) for t, v in values.items()}


@pytest.mark.parametrize("config", [QuantizeConfig(activations="int16"),
                                    QuantizeConfig(activations="int16", self_check=False, observer="minmax",
                                                   bias_correction=False, equalize=False)],
                         ids=["default", "plain"])
def test_inputs_past_the_calibration_range_do_not_clip(config):
    graph, calib = homogeneous()
    result = quantize_graph(graph, [calib], config)
    g = result.graph
    seen = int16_values(g, [[x[None]] for x in calib])
    beyond = int16_values(g, [[BEYOND * x[None]] for x in calib])
    assert len(beyond) >= 6  # input, the convolutions, pooling, reshape, fully connected
    for t, v in beyond.items():
        assert not np.isin(v, RAILS).any(), (t, g.tensors[t].name)
        # what calibration saw fills about 1 / INT16_HEADROOM of the range
        peak = np.abs(seen[t]).max() / 32767
        assert 1 / INT16_HEADROOM - 0.05 < peak <= 1 / INT16_HEADROOM + 0.01, (t, peak)
    assert_bit_exact(g, n_inputs=4)


@pytest.mark.parametrize("case", ["mlp_digits", "cnn_digits"])
def test_every_int16_activation_covers_twice_its_calibrated_range(case):
    """The rule on real models: each int16 activation's range is INT16_HEADROOM times the largest magnitude
    calibration saw in it (its tie group's), but the fixed softmax output."""
    graph = read_model_file(shared_file("quant", "models", case, "float32.tflite"))
    shape = graph.tensors[graph.inputs[0]].shape
    calib = np.load(shared_file("quant", "data", "digits") / "x_calib.npy").reshape((-1,) + shape[1:])
    result = quantize_graph(graph, [calib], QuantizeConfig(activations="int16", self_check=False))
    checked = 0
    for t, choice in result.activations.items():
        if choice.dtype != "int16" or choice.reason.endswith("output"):
            continue
        bound = max(abs(choice.observed[0]), abs(choice.observed[1]))
        assert choice.quant.s * 32767 >= INT16_HEADROOM * bound * (1 - 1e-6), (t, choice)
        checked += 1
    assert checked >= 3
