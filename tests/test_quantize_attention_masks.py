"""Masked attention as litert-torch exports it (nn.MultiheadAttention's attn_mask and key_padding_mask,
F.scaled_dot_product_attention(is_causal=True)): an ADD of the scores and a constant holding 0 and -inf, then
the SOFTMAX. tinyq refused it as 'constant tensor holds NaN/Inf (the float model is broken)'; the -inf now
becomes a finite value just below the scores' calibrated range (tinyq/quantize/masks.py), the masked positions
still get 0 and the quantized model follows the original float one, -inf included."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.data import check_calibration
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.masks import MASK_MARGIN, finite_masks
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

RNG = np.random.default_rng(11)
CAUSAL = np.triu(np.full((6, 6), -np.inf, np.float32), 1)
KEY_PADDING = np.where(np.arange(6) >= 4, -np.inf, 0.0).astype(np.float32)[None]  # the last two keys masked


def masked_softmax(mask, shared=False, fill=None):
    """Scores (an FC of each of 6 tokens against 6 keys) plus the mask, then softmax: one head, or two sharing
    the mask; with `fill`, SELECT_V2 puts it where the mask is -inf instead (masked_fill)."""
    b = GraphBuilder("masked_attention")
    x = b.input((6, 16), dtype="float32")
    m = b.const(mask, "float32") if fill is None else b.const(np.isneginf(mask), "bool")
    outs = []
    for head in range(2 if shared else 1):
        scores, masked, y = (b.activation((6, 6), dtype="float32") for _ in range(3))
        b.op("fully_connected", [x, b.const(RNG.normal(0, 0.6 + head, (6, 16)).astype(np.float32), "float32"),
                                 b.const(np.zeros(6, np.float32), "float32")], [scores])
        if fill is None:
            b.op("add", [scores, m], [masked])
        else:
            b.op("select_v2", [m, b.const(np.full((), fill, np.float32), "float32"), scores], [masked])
        b.op("softmax", [masked], [y], beta=1.0)
        outs.append(y)
    return b.build(outs)


def dequantized_outputs(q, x):
    qin = q.tensors[q.inputs[0]].quant
    info = np.iinfo(np.dtype(q.tensors[q.inputs[0]].dtype))
    xq = np.clip(np.round(x / qin.s) + qin.zp, info.min, info.max).astype(q.tensors[q.inputs[0]].dtype)
    outs = tflm_run(write_model(q), [[xq]])[0]
    return [(o.astype(np.float64) - q.tensors[t].quant.zp) * q.tensors[t].quant.s for o, t in zip(outs, q.outputs)]


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("mask", [CAUSAL, KEY_PADDING], ids=["causal", "key_padding"])
@pytest.mark.parametrize("how", ["-inf", "-FLT_MAX", "masked_fill"])
def test_a_minus_inf_mask_quantizes(mask, activations, how):
    """-inf (PyTorch's bool masks), -FLT_MAX (nn.Transformer's masks as the converter writes them), and
    masked_fill(mask, -1e9) as a SELECT_V2 (which quantized with -1e9 in range, every score one level)."""
    if how == "-FLT_MAX":
        mask = np.where(np.isneginf(mask), np.finfo(np.float32).min, mask)
    graph = masked_softmax(mask, fill=-1e9 if how == "masked_fill" else None)
    calib = RNG.normal(0, 1, (48, 6, 16)).astype(np.float32)
    q = quantize_graph(graph, [calib], QuantizeConfig(activations=activations)).graph
    runner = FloatRunner(graph)  # the original, -inf and all
    masked = np.broadcast_to(mask < -1e30, (6, 6))
    num = err = 0.0
    for x in RNG.normal(0, 1, (8, 6, 16)).astype(np.float32):
        want, (got,) = runner.outputs([x])[0], dequantized_outputs(q, x)
        assert np.all(want[masked] == 0) and np.all(np.abs(got[masked]) <= 1e-4)  # TFLM's int16 exp stops at -10
        num, err = num + np.sum(want ** 2), err + np.sum((want - got) ** 2)
    assert 10 * np.log10(num / err) > (30 if activations == "int8" else 40)
    assert_bit_exact(q, n_inputs=8)


def test_a_shared_mask_sits_below_every_heads_scores():
    graph = masked_softmax(CAUSAL, shared=True)
    calib = check_calibration([RNG.normal(0, 1, (16, 6, 16)).astype(np.float32)], graph)
    finite = finite_masks(graph, calib)
    runner = FloatRunner(graph)
    spans = []
    for op in graph.operators:
        if op.op == "add":
            values = np.stack([runner.run(r, [op.inputs[0]])[op.inputs[0]] for r in calib.records(graph, 16)])
            spans.append(values.max() - values.min())
    mask = next(t for t in finite.tensors if t.is_const and t.shape == (6, 6) and t.data.min() < 0)
    assert np.all(np.isfinite(mask.data)) and mask.data.min() <= -max(spans) - MASK_MARGIN + 1e-4


def test_minus_inf_without_a_softmax_is_still_refused():
    b = GraphBuilder("plain_add")
    x = b.input((6, 6), dtype="float32")
    y = b.activation((6, 6), dtype="float32")
    b.op("add", [x, b.const(CAUSAL, "float32")], [y])
    with pytest.raises(TinyqError, match="holds NaN/Inf"):
        quantize_graph(b.build([y]), [RNG.normal(0, 1, (8, 6, 6)).astype(np.float32)])


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_a_mask_built_at_run_time_from_a_bool_quantizes(activations):
    """torchaudio's Conformer (LiteRT's torchaudio_conformer.tflite) builds its key padding mask at run time:
    SELECT_V2(padding, -FLT_MAX, 0) of a bool input, reshaped, added to the scores before the softmax. Its
    -FLT_MAX was refused as 'beyond the 2^60 ... (the float model is broken)'."""
    b = GraphBuilder("run_time_mask")
    x = b.input((1, 6, 16), dtype="float32")
    padding = b.input((1, 6), dtype="bool")
    fill = b.const(np.full((), np.finfo(np.float32).min, np.float32), "float32")
    mask, row = b.activation((1, 6), dtype="float32"), b.activation((1, 1, 6), dtype="float32")
    b.op("select_v2", [padding, fill, b.const(np.zeros((), np.float32), "float32")], [mask])
    b.op("reshape", [mask, b.const(np.array([1, 1, 6], np.int32), "int32")], [row], new_shape=(1, 1, 6))
    scores, masked, y = (b.activation((1, 6, 6), dtype="float32") for _ in range(3))
    b.op("fully_connected", [x, b.const(RNG.normal(0, 0.6, (6, 16)).astype(np.float32), "float32"),
                             b.const(np.zeros(6, np.float32), "float32")], [scores], keep_num_dims=True)
    b.op("add", [scores, row], [masked])
    b.op("softmax", [masked], [y], beta=1.0)
    graph = b.build([y])
    pads = np.zeros((48, 6), bool)
    pads[:, 4:] = True  # the last two keys padded
    q = quantize_graph(graph, [RNG.normal(0, 1, (48, 6, 16)).astype(np.float32), pads],
                       QuantizeConfig(activations=activations)).graph
    assert_bit_exact(q, n_inputs=8)
    xin, out = q.tensors[q.inputs[0]], q.tensors[q.outputs[0]]
    info = np.iinfo(np.dtype(xin.dtype))
    xq = np.clip(np.round(RNG.normal(0, 1, (1, 6, 16)) / xin.quant.s) + xin.quant.zp, info.min, info.max)
    (got,), = tflm_run(write_model(q), [[xq.astype(xin.dtype), pads[:1].reshape(1, 6)]])
    probs = (got.astype(np.float64) - out.quant.zp) * out.quant.s
    assert np.all(np.abs(probs[..., 4:]) <= 1e-4) and np.allclose(probs.sum(-1), 1, atol=0.05)
