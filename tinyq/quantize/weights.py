"""Weights and biases of conv, depthwise and fully connected ops: symmetric int8/int4 and int32.

Weights: zero point 0, range [-127, 127] (int8) or [-7, 7] (int4), one scale per
output channel on TFLite's axis (conv 0, depthwise 3, FC 0) or one per tensor.
Bias: int32, scale s_in * s_w per channel, zero point 0. Bias correction moves
the float bias by the mean output shift the rounded weights cause:
E[(Wq - W) x] = (Wq - W) E[x], with E[x] per input channel from calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.quantize import qparams
from tinyq.quantize.rules import RULES


@dataclass(frozen=True, eq=False)
class QuantizedWeights:
    q: np.ndarray  # int8 values (int4 ones in [-7, 7], unpacked)
    scales: np.ndarray  # float32, one per channel or one
    axis: int
    dtype: str  # "int8" | "int4"

    @property
    def dequantized(self) -> np.ndarray:
        return qparams.dequantize_symmetric(self.q, self.scales, self.axis).astype(np.float32)

    @property
    def nbytes(self) -> int:
        return (self.q.size + 1) // 2 if self.dtype == "int4" else self.q.size


def quantize_weights(w: np.ndarray, axis: int, dtype: str, per_channel: bool, clip: str = "max",
                     min_scales=None) -> QuantizedWeights:
    qmax = qparams.WEIGHT_QMAX[dtype]
    ratios = qparams.mse_clip_ratios(w, axis, qmax, per_channel) if clip == "mse" else None
    scales = qparams.symmetric_scales(w, axis, qmax, per_channel, ratios)
    if min_scales is not None:
        scales = np.maximum(scales, np.asarray(min_scales, dtype=np.float32))
    return QuantizedWeights(q=qparams.quantize_symmetric(w, scales, axis, qmax), scales=scales, axis=axis,
                            dtype=dtype)


def output_shift(op: Operator, w: np.ndarray, w_deq: np.ndarray, input_mean: np.ndarray) -> np.ndarray:
    """(Wq - W) E[x] per output channel, for conv_2d, depthwise_conv_2d and fully_connected; none for
    transpose_conv, whose output pixels sum a varying number of taps (strides, edges)."""
    delta = np.asarray(w_deq, dtype=np.float64) - np.asarray(w, dtype=np.float64)
    mean = np.asarray(input_mean, dtype=np.float64)
    if op.op == "depthwise_conv_2d":  # filter [1, kh, kw, in_ch * multiplier]
        multiplier = w.shape[3] // mean.size
        return delta.sum(axis=(0, 1, 2)) * np.repeat(mean, multiplier)
    if op.op == "transpose_conv":
        return np.zeros(w.shape[0])
    if op.op == "conv_2d":  # filter [out, kh, kw, in_ch / groups]
        if w.shape[3] != mean.size:
            return np.zeros(w.shape[0])  # grouped conv: skip rather than guess the grouping
        return delta.sum(axis=(1, 2)) @ mean
    return delta.reshape(w.shape[0], -1) @ np.resize(mean, delta.reshape(w.shape[0], -1).shape[1])


def weight_ops(graph: Graph) -> list[Operator]:
    return [op for op in graph.operators if op.op in RULES and RULES[op.op].weights is not None]


def weight_tensor(graph: Graph, op: Operator):
    return graph.tensors[op.inputs[RULES[op.op].weights]]


def bias_tensor(graph: Graph, op: Operator):
    rule = RULES[op.op]
    if rule.bias is None or rule.bias >= len(op.inputs):
        return None
    return graph.tensor(op.inputs[rule.bias])
