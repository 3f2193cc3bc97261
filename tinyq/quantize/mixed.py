"""int4 weights and mixed precision: which conv/FC layers store their weights as int4.

`--weights int4` takes every eligible layer. `--weights mixed` measures each
layer's sensitivity - the model's output SQNR (at the logits when the output is
a softmax) when that layer alone has int4 weights (float activations,
calibration samples) - and picks the set of int4
layers that fits the flash budget with the least total output noise. Noise
powers of independent layers add, so a set costs sum(10^(-SQNR_i / 10)); with
up to 16 layers every set is tried, beyond that the cheapest noise per byte
saved goes first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.quantize import qparams
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.rewrite import quantize_op_weights
from tinyq.quantize.summary import stored_bytes
from tinyq.quantize.weights import bias_tensor, weight_ops, weight_tensor

INT4_OPS = ("conv_2d", "fully_connected")  # TFLM unpacks int4 filters for these (and depthwise)
SENSITIVITY_SAMPLES = 32
DEFAULT_BUDGET = 0.7  # of the int8 weight bytes, when --flash-budget is not given
EXHAUSTIVE_LAYERS = 16


@dataclass(frozen=True)
class LayerSensitivity:
    op: int
    op_name: str
    int8_bytes: int  # weights + bias with int8 weights
    int4_bytes: int  # weights + bias with int4 weights
    sqnr_db: float  # model output SQNR with only this layer's weights in int4

    @property
    def saving(self) -> int:
        return self.int8_bytes - self.int4_bytes

    @property
    def noise(self) -> float:
        return 0.0 if self.sqnr_db == float("inf") else 10.0 ** (-self.sqnr_db / 10.0)


@dataclass(frozen=True)
class MixedPlan:
    layers: tuple[LayerSensitivity, ...]
    int4_ops: tuple[int, ...]
    budget: int
    int8_bytes: int  # all weight ops with int8 weights
    planned_bytes: int

    def describe(self) -> str:
        lines = [f"mixed precision: weights+biases {self.planned_bytes:,} B of budget {self.budget:,} B "
                 f"(all int8: {self.int8_bytes:,} B); per layer, output SQNR with int4 weights:"]
        for layer in self.layers:
            mark = "int4" if layer.op in self.int4_ops else "int8"
            lines.append(f"    op {layer.op:>3} {layer.op_name:<16} {layer.sqnr_db:6.1f} dB  saves {layer.saving:>7,} B"
                         f"  -> {mark}")
        return "\n".join(lines)


def eligible_ops(graph: Graph) -> list:
    return [op for op in weight_ops(graph) if op.op in INT4_OPS]


def _layer_bytes(graph: Graph, op, dtype: str) -> int:
    w = weight_tensor(graph, op)
    b = bias_tensor(graph, op)
    w_bytes = (w.numel + 1) // 2 if dtype == "int4" else w.numel
    return w_bytes + (stored_bytes(replace(b, dtype="int32")) if b is not None else 0)


def with_fake_quant_weights(graph: Graph, op, acts, config: QuantizeConfig, stats, dtype: str) -> Graph:
    """The float graph with one op's weights (and corrected bias) replaced by their quantized values."""
    x_quant = acts[op.inputs[0]].quant
    qw, q_bias, _ = quantize_op_weights(graph, op, x_quant, dtype, config, stats)
    tensors = list(graph.tensors)
    w = weight_tensor(graph, op)
    tensors[w.index] = replace(w, data=qw.dequantized.reshape(w.shape))
    b = bias_tensor(graph, op)
    if b is not None:
        real = q_bias.astype(np.float64) * qparams.bias_scales(x_quant.s, qw.scales)
        tensors[b.index] = replace(b, data=real.astype(np.float32).reshape(b.shape))
    return replace(graph, tensors=tuple(tensors))


def measure_points(graph: Graph) -> list[int]:
    """Where sensitivity is measured: the outputs, or the logits of an output softmax (which saturates)."""
    producer = graph.producers()
    return [producer[t].inputs[0] if t in producer and producer[t].op == "softmax" else t for t in graph.outputs]


def layer_sensitivities(graph: Graph, calib: CalibrationSet, config: QuantizeConfig, acts, stats,
                        progress=None) -> list[LayerSensitivity]:
    records = calib.records(graph, SENSITIVITY_SAMPLES)
    points = measure_points(graph)
    reference = FloatRunner(graph)
    want = [np.concatenate([np.ravel(reference.run(r, points)[t]) for t in points]) for r in records]
    result = []
    ops = eligible_ops(graph)
    for n, op in enumerate(ops):
        runner = FloatRunner(with_fake_quant_weights(graph, op, acts, config, stats, "int4"))
        got = [np.concatenate([np.ravel(runner.run(r, points)[t]) for t in points]) for r in records]
        result.append(LayerSensitivity(op.index, op.op, _layer_bytes(graph, op, "int8"),
                                       _layer_bytes(graph, op, "int4"),
                                       qparams.sqnr_db(np.concatenate(want), np.concatenate(got))))
        if progress:
            progress(f"int4 sensitivity: {n + 1}/{len(ops)} layers (op {op.index}: {result[-1].sqnr_db:.1f} dB)")
    return result


def pick_int4_layers(layers: list[LayerSensitivity], must_save: int) -> tuple[int, ...]:
    """The set of layers saving at least `must_save` bytes with the least summed noise."""
    if must_save <= 0:
        return ()
    if sum(layer.saving for layer in layers) < must_save:
        return tuple(layer.op for layer in layers)
    if len(layers) <= EXHAUSTIVE_LAYERS:
        saving = np.array([layer.saving for layer in layers], dtype=np.int64)
        noise = np.array([layer.noise for layer in layers])
        masks = np.array(list(product((0, 1), repeat=len(layers))), dtype=bool)
        ok = masks @ saving >= must_save
        cost = np.where(ok, masks @ noise + 1e-12 * (masks @ saving), np.inf)  # ties: save less
        best = masks[int(np.argmin(cost))]
        return tuple(layer.op for layer, m in zip(layers, best) if m)
    chosen, saved = [], 0
    for layer in sorted(layers, key=lambda x: x.noise / max(x.saving, 1)):
        if saved >= must_save:
            break
        chosen.append(layer.op)
        saved += layer.saving
    return tuple(chosen)


def choose_weight_dtypes(graph: Graph, calib: CalibrationSet, config: QuantizeConfig, acts, stats,
                         progress=None) -> tuple[dict[int, str], MixedPlan | None]:
    ops = eligible_ops(graph)
    if config.weights == "int4":
        return {op.index: "int4" for op in ops}, None
    all_int8 = sum(_layer_bytes(graph, op, "int8") for op in weight_ops(graph))
    budget = config.flash_budget if config.flash_budget is not None else int(all_int8 * DEFAULT_BUDGET)
    floor = all_int8 - sum(_layer_bytes(graph, op, "int8") - _layer_bytes(graph, op, "int4") for op in ops)
    if budget < floor:
        raise TinyqError(f"--flash-budget {budget:,} B is below the smallest mixed size {floor:,} B "
                         f"(every conv/FC weight in int4; all int8 is {all_int8:,} B)",
                         hint="raise the budget or use --weights int4")
    layers = layer_sensitivities(graph, calib, config, acts, stats, progress)
    int4 = pick_int4_layers(layers, all_int8 - budget)
    planned = all_int8 - sum(layer.saving for layer in layers if layer.op in int4)
    plan = MixedPlan(tuple(layers), int4, budget, all_int8, planned)
    return {op: "int4" for op in int4}, plan
