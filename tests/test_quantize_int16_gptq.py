"""`--rounding auto` under int16 activations: GPTQ rounds the int8 weights of the layers whose activations
are int16 (16x8, where the weights' rounding is most of the noise) and leaves int8 layers at nearest; the
models stay bit-exact with TFLM."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from test_quantize_int16 import funnel
from tinyq.quantize import QuantizeConfig, quantize_graph

WEIGHTED = ("conv_2d", "depthwise_conv_2d", "fully_connected")


def test_the_rule():
    auto, int16, mixed = QuantizeConfig(), QuantizeConfig(activations="int16"), QuantizeConfig(activations="auto")
    assert auto.gptq_rounds("int4", "int8") and auto.gptq_rounds("int8", "int16")
    assert not auto.gptq_rounds("int8", "int8")
    assert QuantizeConfig(rounding="gptq").gptq_rounds("int8", "int8")
    assert not any(QuantizeConfig(rounding="nearest").gptq_rounds(d, w) for d in ("int4", "int8")
                   for w in ("int8", "int16"))
    assert auto.gptq_dtypes == ("int4",) and int16.gptq_dtypes == mixed.gptq_dtypes == ("int4", "int8")


def weight_layers(result) -> list[tuple[int, str, bytes]]:
    """Per weighted layer, in order: (its op in the float graph, its input activation's width, its weights'
    bytes)."""
    g = result.graph
    quantized = [op for op in g.operators if op.op in WEIGHTED]
    original = [op.index for op in result.float_graph.operators if op.op in WEIGHTED]
    return [(i, g.tensors[op.inputs[0]].dtype, g.tensors[op.inputs[1]].data.tobytes())
            for i, op in zip(original, quantized, strict=True)]


@pytest.fixture(scope="module")
def funnel_data():
    return funnel()


@pytest.mark.parametrize("activations", ["int16", "auto"])
def test_gptq_rounds_the_int16_layers_only(funnel_data, activations):
    """Against nearest rounding with the same steps and widths: the int16 layers are the ones GPTQ rounded
    (changed integers where a channel kept it, never a higher held-back error), the int8 layers' integers
    are nearest's; bit-exact with TFLM."""
    graph, calib, _ = funnel_data
    base = QuantizeConfig(activations=activations, self_check=False)
    ours = quantize_graph(graph, [calib], base)
    nearest = quantize_graph(graph, [calib], QuantizeConfig(activations=activations, self_check=False,
                                                            rounding="nearest"))
    layers, plain = weight_layers(ours), weight_layers(nearest)
    assert [w for _, w, _ in layers] == [w for _, w, _ in plain]
    widths = {w for _, w, _ in layers}
    assert "int16" in widths and (activations == "int16" or "int8" in widths), widths
    rounded = {r.op: r for r in ours.rounding}
    assert all(r.error <= r.nearest_error for r in rounded.values())
    for (op, width, q), (_, _, q_nearest) in zip(layers, plain):
        if width == "int16":
            assert op in rounded, op
        else:
            assert q == q_nearest and op not in rounded, op
    assert any(q != q_nearest for (_, w, q), (_, _, q_nearest) in zip(layers, plain) if w == "int16")
    assert_bit_exact(ours.graph, n_inputs=5)


def test_int8_activations_keep_nearest_int8_weights(funnel_data):
    graph, calib, _ = funnel_data
    result = quantize_graph(graph, [calib], QuantizeConfig(self_check=False))
    nearest = quantize_graph(graph, [calib], QuantizeConfig(self_check=False, rounding="nearest"))
    assert result.rounding == () and weight_layers(result) == weight_layers(nearest)
