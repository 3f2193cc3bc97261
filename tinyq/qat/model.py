"""tinyq's float IR as a differentiable torch module, fake-quantized where the integer model rounds.

The trainable values are the float weights and biases of conv, depthwise and fully connected ops (batch
norm is already folded into them in a .tflite, and stays so), one weight clip ratio per output channel,
and the int8 range [lo, hi] of every group of activations that TFLM makes share parameters (tinyq's
tie groups: a pooling or reshape output and its input, a concatenation's inputs and output). Ranges
fixed by the op (softmax and logistic outputs) stay fixed. Tensor indices are the IR's, so the result
maps back onto the graph one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tinyq.ir import NO_TENSOR, Graph
from tinyq.qat import fakequant as fq
from tinyq.qat.ops import OPS, fused
from tinyq.quantize.actparams import activation_positions, quantized_tensors, tie_groups
from tinyq.quantize.qparams import WEIGHT_QMAX
from tinyq.quantize.rules import RULES
from tinyq.quantize.weights import weight_ops

ROUNDS_STORED = ("average_pool_2d",)  # int8 kernels that round the stored values, zero point included


@dataclass(frozen=True)
class Start:
    """Where fine-tuning starts: a float graph and the quantizer's choices for it (tinyq quantize's result)."""

    graph: Graph  # the prepared float graph (equalized if the quantizer kept that)
    weights: dict  # weighted op index -> float weights to start from (the quantizer's, dequantized)
    weight_dtypes: dict  # weighted op index -> "int8" | "int4"
    weight_steps: dict  # weighted op index -> float32 steps (one per channel, or one)
    biases: dict  # weighted op index -> float bias to start from (bias correction applied)
    ranges: dict  # quantized tensor -> (lo, hi) its int8 parameters cover


class QatGraph(torch.nn.Module):
    def __init__(self, start: Start):
        super().__init__()
        graph = start.graph
        self.graph = graph
        self.weights = torch.nn.ParameterDict()
        self.biases = torch.nn.ParameterDict()
        self.ratios = torch.nn.ParameterDict()
        self.layers = {}  # op index -> (weight position, bias position, channel axis, dtype)
        self.start_steps = {}  # op index -> the quantizer's weight steps, exactly
        for op in weight_ops(graph):
            rule = RULES[op.op]
            w = np.asarray(start.weights[op.index], dtype=np.float32)
            key = str(op.index)
            self.weights[key] = torch.nn.Parameter(torch.from_numpy(w.copy()))
            bias_pos = rule.bias if rule.bias is not None and rule.bias < len(op.inputs) \
                and op.inputs[rule.bias] != NO_TENSOR else None
            if bias_pos is not None:
                self.biases[key] = torch.nn.Parameter(torch.from_numpy(
                    np.asarray(start.biases[op.index], dtype=np.float32).reshape(-1).copy()))
            dtype = start.weight_dtypes.get(op.index, "int8")
            steps = np.asarray(start.weight_steps[op.index], dtype=np.float64)
            rows = np.moveaxis(w, rule.channel_axis, 0).reshape(w.shape[rule.channel_axis], -1) \
                if steps.size > 1 else w.reshape(1, -1)
            absmax = np.abs(rows).max(axis=1)
            ratio = np.where(absmax > 0, steps * WEIGHT_QMAX[dtype] / np.maximum(absmax, 1e-30), 1.0)
            self.ratios[key] = torch.nn.Parameter(torch.from_numpy(np.clip(ratio, fq.R_MIN, 1.0).astype(np.float32)))
            self.layers[op.index] = (rule.weights, bias_pos, rule.channel_axis, dtype)
            self.start_steps[op.index] = np.asarray(start.weight_steps[op.index], dtype=np.float32)

        ties = tie_groups(graph)
        self.group_of = dict(ties.group_of)
        self.fixed = {}  # group -> (scale, zero point) an op fixes
        for t, name in ties.fixed_by.items():
            self.fixed[ties.group_of[t]] = RULES[name].fixed_output
        self.lo = torch.nn.ParameterDict()
        self.hi = torch.nn.ParameterDict()
        self.grad_scale = {}
        self.start_ranges = {}  # group -> the quantizer's range, exactly (the parameters hold float32)
        for g, members in enumerate(ties.members):
            if g in self.fixed:
                continue
            lo = min(start.ranges[t][0] for t in members)
            hi = max(start.ranges[t][1] for t in members)
            self.lo[str(g)] = torch.nn.Parameter(torch.tensor(min(lo, 0.0), dtype=torch.float32))
            self.hi[str(g)] = torch.nn.Parameter(torch.tensor(max(hi, 0.0), dtype=torch.float32))
            self.start_ranges[g] = (min(lo, 0.0), max(hi, 0.0))
            numel = max(int(np.prod(graph.tensors[members[0]].shape)), 1)
            self.grad_scale[g] = 1.0 / (numel * 127) ** 0.5
        self.quantized = set(quantized_tensors(graph))
        self.data_positions = {op.index: set(activation_positions(graph, op)) for op in graph.operators}

    # --- parameters -------------------------------------------------------------------------------------
    def weight_params(self):
        return list(self.weights.values()) + list(self.biases.values())

    def range_params(self):
        return list(self.ratios.values()) + list(self.lo.values()) + list(self.hi.values())

    def group_params(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, zero point) of group g, differentiable in its range."""
        if g in self.fixed:
            scale, zp = self.fixed[g]
            return torch.tensor(scale), torch.tensor(float(zp))
        factor = self.grad_scale[g]
        return fq.affine(fq.scale_grad(self.lo[str(g)], factor), fq.scale_grad(self.hi[str(g)], factor))

    def ranges(self) -> dict[int, tuple[float, float]]:
        """Every quantized tensor's learned range (a fixed group: the range its parameters cover)."""
        result = {}
        for t, g in self.group_of.items():
            if g in self.fixed:
                scale, zp = self.fixed[g]
                result[t] = ((-128 - zp) * scale, (127 - zp) * scale)
            else:
                learned = (min(float(self.lo[str(g)].detach()), 0.0), max(float(self.hi[str(g)].detach()), 0.0))
                start = self.start_ranges[g]
                moved = any(float(np.float32(a)) != b for a, b in zip(start, learned))
                result[t] = learned if moved else start  # a range training left alone stays the quantizer's
        return result

    def quantized_weights(self, op_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, axis, dtype = self.layers[op_index]
        key = str(op_index)
        return fq.fake_quant_weights(self.weights[key], self.ratios[key], axis, dtype)

    # --- forward ----------------------------------------------------------------------------------------
    def forward(self, inputs: list[torch.Tensor], quantize: bool = True) -> tuple[list[torch.Tensor], list]:
        """(the graph's outputs, each output's logits: the input of a final softmax, else the output)."""
        values, logits = self.run(inputs, quantize)
        outs = [values[t] for t in self.graph.outputs]
        return outs, [logits.get(t, values[t]) for t in self.graph.outputs]

    def run(self, inputs: list[torch.Tensor], quantize: bool = True, given: dict | None = None
            ) -> tuple[dict, dict]:
        """Every tensor's value (IR index -> tensor), and the inputs of softmax ops by their output.
        `given`: values that ops read in place of the computed ones (each op then runs alone on them)."""
        graph = self.graph
        params: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def qparams(t: int):
            g = self.group_of[t]
            if g not in params:
                params[g] = self.group_params(g)
            return params[g]

        def quant(t: int, x: torch.Tensor, round_stored: bool = False) -> torch.Tensor:
            if not quantize or t not in self.quantized:
                return x
            return fq.fake_quant_affine(x, *qparams(t), round_stored=round_stored)

        values: dict[int, torch.Tensor] = {}
        for t, x in zip(graph.inputs, inputs):
            values[t] = quant(t, x)
        feed = values if given is None else {**values, **given}
        logits: dict[int, torch.Tensor] = {}
        for op in graph.operators:
            ins, steps = self._inputs(op, feed, quantize, quant, qparams)
            stored = quantize and op.op in ROUNDS_STORED and self._shares_parameters(op)
            if stored:  # the kernel averages the int8 values: on integers, its ties are exact ties
                scale, zp = qparams(op.inputs[0])
                ins = [fq.round_ste(ins[0] / scale) + zp] + ins[1:]
            y = OPS[op.op](op, ins, graph)
            if stored:
                y = (fq.round_ste(y) - zp) * scale
            if steps is not None and op.outputs[0] in self.quantized:  # the int32 sum requantized as TFLM does
                x = op.inputs[RULES[op.op].activation_inputs[0]]
                y = fq.requantize(y, qparams(x)[0], steps, qparams(op.outputs[0])[0])
            y = fused(op)(y)
            if op.op == "softmax":
                logits[op.outputs[0]] = ins[0] * op.options.beta
            values[op.outputs[0]] = quant(op.outputs[0], y, op.op in ROUNDS_STORED)
            if given is not None and op.outputs[0] not in given:
                feed[op.outputs[0]] = values[op.outputs[0]]
        return values, logits

    def _shares_parameters(self, op) -> bool:
        x, y = op.inputs[0], op.outputs[0]
        return x in self.quantized and y in self.quantized and self.group_of[x] == self.group_of[y]

    def _inputs(self, op, values, quantize, quant, qparams) -> tuple[list, torch.Tensor | None]:
        """(the op's inputs, its weight steps when they are fake-quantized)."""
        graph = self.graph
        layer = self.layers.get(op.index)
        ins: list = []
        for pos, t in enumerate(op.inputs):
            if t == NO_TENSOR:
                ins.append(None)
            elif t in values:
                ins.append(values[t])
            elif pos in self.data_positions[op.index]:  # a float constant used as data (an ADD operand)
                ins.append(quant(t, torch.from_numpy(np.asarray(graph.tensors[t].data, dtype=np.float32))))
            else:
                ins.append(None)  # shapes, axes, paddings: the op reads them from the graph
        if layer is None:
            return ins, None
        w_pos, b_pos, _, _ = layer
        key = str(op.index)
        if quantize:
            w, steps = self.quantized_weights(op.index)
            ins[w_pos] = w
            if b_pos is not None:
                x_scale = qparams(op.inputs[RULES[op.op].activation_inputs[0]])[0]
                ins[b_pos] = fq.fake_quant_bias(self.biases[key], x_scale, steps)
            return ins, steps
        ins[w_pos] = self.weights[key]
        if b_pos is not None:
            ins[b_pos] = self.biases[key]
        return ins, None
