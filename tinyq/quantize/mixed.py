"""int4 weights and mixed precision: which conv/FC layers store their weights as int4.

`--weights int4` takes every eligible layer. `--weights mixed` measures each
layer's sensitivity - the model's output SQNR (at the logits when the output is
a softmax) when that layer alone has int4 weights (float activations,
calibration samples, int4 weights rounded as they will be: GPTQ by default,
rounding.py) - and picks the set of int4 layers that fits the flash budget with
the least total output noise. Noise powers of independent layers add, so a set
costs sum(10^(-SQNR_i / 10)): a 0/1 knapsack, solved exactly by dynamic
programming over the bytes saved (pick_int4_layers), not greedily.

Conv, depthwise and fully connected layers can be int4 (TFLM unpacks all three;
tinyq's s4 kernels read them packed). Activations are a separate budget:
`--activations auto --budget-sram N` then moves the layers that gain most to
int16 activations within the arena budget (auto.py); int4 layers stay int8
(TFLM has no 16x4 kernels).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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

INT4_OPS = ("conv_2d", "depthwise_conv_2d", "fully_connected")  # TFLM unpacks int4 filters of all three
SENSITIVITY_SAMPLES = 32
DEFAULT_BUDGET = 0.7  # of the all-int8 model's weight bytes, when --budget-flash is not given (at least all-int4's)
KNAPSACK_STEPS = 1 << 14  # the bytes to save are counted in at most this many steps


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
    int64_biases: bool = False  # int8-weight layers counted with 16x8's int64 bias (activations int16/auto)

    def describe(self) -> str:
        wide = "; int8-weight layers with int64 biases, as 16x8 layers store them" if self.int64_biases else ""
        lines = [f"mixed precision: weights+biases {self.planned_bytes:,} B of budget {self.budget:,} B "
                 f"(all int8: {self.int8_bytes:,} B{wide}); per layer, output SQNR with int4 weights:"]
        for layer in self.layers:
            mark = "int4" if layer.op in self.int4_ops else "int8"
            lines.append(f"    op {layer.op:>3} {layer.op_name:<16} {layer.sqnr_db:6.1f} dB  saves {layer.saving:>7,} B"
                         f"  -> {mark}")
        return "\n".join(lines)


def eligible_ops(graph: Graph) -> list:
    return [op for op in weight_ops(graph) if op.op in INT4_OPS]


def _layer_bytes(graph: Graph, op, dtype: str, activations: str = "int8") -> int:
    """Weights + bias as stored. With int16 activations possible (--activations int16/auto) an int8-weight layer
    is counted with the int64 bias a 16x8 layer stores: the budget holds whatever widths are chosen after."""
    w = weight_tensor(graph, op)
    b = bias_tensor(graph, op)
    w_bytes = (w.numel + 1) // 2 if dtype == "int4" else w.numel
    bias = "int64" if dtype == "int8" and activations != "int8" else "int32"
    return w_bytes + (stored_bytes(replace(b, dtype=bias)) if b is not None else 0)


def with_fake_quant_weights(graph: Graph, op, acts, config: QuantizeConfig, stats, dtype: str,
                            rounder=None) -> Graph:
    """The float graph with one op's weights (and corrected bias) replaced by their quantized values."""
    x_quant = acts[op.inputs[0]].quant
    qw, q_bias, _ = quantize_op_weights(graph, op, x_quant, dtype, config, stats, rounder=rounder)
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
                        progress=None, rounder=None) -> list[LayerSensitivity]:
    size = config.activations
    records = calib.records(graph, SENSITIVITY_SAMPLES)
    points = measure_points(graph)
    reference = FloatRunner(graph)
    # one run per record: a stateful model (LSTM) carries its state from one run to the next
    want = [np.concatenate([np.ravel(values[t]) for t in points]) for values in
            [reference.run(r, points) for r in records]]
    result = []
    ops = eligible_ops(graph)
    for n, op in enumerate(ops):
        runner = FloatRunner(with_fake_quant_weights(graph, op, acts, config, stats, "int4", rounder))
        got = [np.concatenate([np.ravel(values[t]) for t in points]) for values in
               [runner.run(r, points) for r in records]]
        result.append(LayerSensitivity(op.index, op.op, _layer_bytes(graph, op, "int8", size),
                                       _layer_bytes(graph, op, "int4", size),
                                       qparams.sqnr_db(np.concatenate(want), np.concatenate(got))))
        if progress:
            progress(f"int4 sensitivity: {n + 1}/{len(ops)} layers (op {op.index}: {result[-1].sqnr_db:.1f} dB)")
    return result


def pick_int4_layers(layers: list[LayerSensitivity], must_save: int) -> tuple[int, ...]:
    """The set of layers saving at least `must_save` bytes with the least summed noise: a 0/1 knapsack solved
    exactly by dynamic programming over the bytes saved, in steps of ceil(must_save / KNAPSACK_STEPS) bytes.
    Each layer's saving is rounded down to whole steps, so a set that reaches the target in steps saves at
    least `must_save` bytes; with steps of 1 byte (targets up to KNAPSACK_STEPS) it is the exact optimum."""
    if must_save <= 0:
        return ()
    if sum(layer.saving for layer in layers) < must_save:
        return tuple(layer.op for layer in layers)
    step = -(-must_save // KNAPSACK_STEPS)
    while step > 1 and sum(layer.saving // step for layer in layers) < -(-must_save // step):
        step //= 2  # rounding each saving down lost the slack there was: finer steps
    need = -(-must_save // step)
    best = np.full(need + 1, np.inf)  # best[j]: least noise of a set saving j steps (need: at least need)
    best[0] = 0.0
    came_from = []  # per layer: for each j, the j before taking it (-1: not taken)
    for layer in layers:
        units = layer.saving // step
        take = np.full(need + 1, np.inf)
        before = np.full(need + 1, -1)
        if units < need:
            take[units:need] = best[:need - units]
            before[units:need] = np.arange(need - units)
        low = max(0, need - units)  # every j from here reaches the target when this layer is taken
        k = low + int(np.argmin(best[low:]))
        take[need], before[need] = best[k], k
        take = take + layer.noise + 1e-15 * layer.saving  # ties: the set saving fewer bytes
        took = take < best
        came_from.append(np.where(took, before, -1))
        best = np.where(took, take, best)
    chosen, j = [], need
    for layer, back in zip(reversed(layers), reversed(came_from)):
        if back[j] >= 0:
            chosen.append(layer.op)
            j = int(back[j])
    return tuple(sorted(chosen))


def choose_weight_dtypes(graph: Graph, calib: CalibrationSet, config: QuantizeConfig, acts, stats,
                         progress=None, rounder=None) -> tuple[dict[int, str], MixedPlan | None]:
    ops = eligible_ops(graph)
    if config.weights == "int4":
        return {op.index: "int4" for op in ops}, None
    size = config.activations
    all_int8 = sum(_layer_bytes(graph, op, "int8", size) for op in weight_ops(graph))
    int8_model = sum(_layer_bytes(graph, op, "int8") for op in weight_ops(graph))  # int8 weights and activations
    floor = all_int8 - sum(_layer_bytes(graph, op, "int8", size) - _layer_bytes(graph, op, "int4", size) for op in ops)
    # the default never asks for less than all-int4 can give: biases and weights int4 cannot pack can be most of it
    budget = config.flash_budget if config.flash_budget is not None else max(int(int8_model * DEFAULT_BUDGET), floor)
    if budget < floor:
        raise TinyqError(f"--budget-flash {budget:,} B is below the smallest mixed size {floor:,} B "
                         f"(every conv, depthwise and FC weight in int4; all int8 is {all_int8:,} B)",
                         hint="raise the budget or use --weights int4")
    layers = layer_sensitivities(graph, calib, config, acts, stats, progress, rounder)
    int4 = pick_int4_layers(layers, all_int8 - budget)
    planned = all_int8 - sum(layer.saving for layer in layers if layer.op in int4)
    plan = MixedPlan(tuple(layers), int4, budget, all_int8, planned, size != "int8")
    return {op: "int4" for op in int4}, plan
