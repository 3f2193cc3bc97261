"""Cross-layer equalization (Nagel et al., 2019): balance weight ranges of consecutive layers.

For a layer L1 whose output feeds only layer L2 through ReLU or nothing (both
commute with a positive per-channel scale), scaling L1's output channel i by
1/s_i and L2's input channel i by s_i changes nothing in float. With
s_i = sqrt(r1_i / r2_i) (r = max |w| of that channel in each layer) both
channels end with range sqrt(r1_i r2_i), which helps layers whose channels
differ a lot (depthwise convolutions above all). Applied to the float graph
before calibration, so activation ranges follow. Measured (`tinyq bench
quantize --ablation`): higher mean per-layer SQNR on both digits models, KWS
and ResNet-8; neutral on the FC autoencoder.

Near-dead channels (weights ~1e-30 beside a bias, as L2 decay and batch norm
leave them) are left alone like zero ones, and each channel's scale is bounded
over all passes together: otherwise such a channel's constant output is scaled
up pass after pass (1e12 over four passes) until it alone sets its tensor's
range and every other channel rounds to zero. It can still hurt a model; the
pipeline's self-check (selfcheck.py) keeps it only where it helps.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.passes.graph_edit import fused_activation
from tinyq.quantize.weights import bias_tensor, weight_tensor

HOMOGENEOUS = ("NONE", "RELU")  # f(s x) = s f(x) for s > 0; RELU6 clips at a fixed 6, so it is not
PASSES = 4
SCALE_LIMIT = 1e3  # never rescale a channel by more than this either way, over all passes
DEAD_RATIO = 1e-3  # a channel narrower than this times its layer's median one is left alone


def _out_axis(op: Operator) -> int:
    return 3 if op.op == "depthwise_conv_2d" else 0


def _in_axis(op: Operator) -> int:
    return {"conv_2d": 3, "depthwise_conv_2d": 3, "fully_connected": 1}[op.op]


def equalizable_pairs(graph: Graph) -> list[tuple[Operator, Operator]]:
    users = graph.consumers()
    pairs = []
    for op in graph.operators:
        if op.op not in ("conv_2d", "depthwise_conv_2d", "fully_connected") or fused_activation(op) not in HOMOGENEOUS:
            continue
        out = op.outputs[0]
        nxt = users.get(out, [])
        if len(nxt) != 1 or out in graph.outputs or nxt[0].inputs[0] != out:
            continue
        l2 = nxt[0]
        if l2.op not in ("conv_2d", "depthwise_conv_2d", "fully_connected"):
            continue
        w1, w2 = weight_tensor(graph, op), weight_tensor(graph, l2)
        channels = w1.shape[_out_axis(op)]
        if w2.shape[_in_axis(l2)] != channels or (l2.op == "depthwise_conv_2d" and w2.shape[3] != channels):
            continue  # grouped conv, depth multiplier > 1 or a flattening FC: channels do not line up
        if len(w2.shape) != (2 if l2.op == "fully_connected" else 4):
            continue
        pairs.append((op, l2))
    return pairs


def _channel_absmax(w: np.ndarray, axis: int) -> np.ndarray:
    return np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)


def _shape_for(w: np.ndarray, axis: int) -> list[int]:
    shape = [1] * w.ndim
    shape[axis] = -1
    return shape


def live_channels(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Channels worth balancing: on both sides wider than DEAD_RATIO times the layer's typical (median) channel.

    A near-dead channel (weights ~1e-30, as L2 decay leaves them) would get the
    largest scale allowed, inflating its bias-driven activation until it sets the
    whole tensor's range; it is left alone like an exactly-zero one. The median,
    not the widest channel, is the yardstick: one wide channel must not make
    ordinary ones look dead.
    """
    return (r1 > DEAD_RATIO * np.median(r1)) & (r2 > DEAD_RATIO * np.median(r2)) & (r1 > 0) & (r2 > 0)


def equalize(graph: Graph) -> Graph:
    pairs = equalizable_pairs(graph)
    tensors = list(graph.tensors)
    total = [np.ones(weight_tensor(graph, l1).shape[_out_axis(l1)]) for l1, _ in pairs]  # scale so far
    for _ in range(PASSES):
        for k, (l1, l2) in enumerate(pairs):
            w1t, w2t, b1t = weight_tensor(graph, l1), weight_tensor(graph, l2), bias_tensor(graph, l1)
            w1 = np.asarray(tensors[w1t.index].data, dtype=np.float64)
            w2 = np.asarray(tensors[w2t.index].data, dtype=np.float64)
            r1, r2 = _channel_absmax(w1, _out_axis(l1)), _channel_absmax(w2, _in_axis(l2))
            step = np.ones_like(r1)
            live = live_channels(r1, r2)
            step[live] = np.sqrt(r1[live] / r2[live])
            # bound the product over all passes, not each pass: per-pass bounds compound
            new_total = np.clip(total[k] * step, 1 / SCALE_LIMIT, SCALE_LIMIT)
            s, total[k] = new_total / total[k], new_total
            new_w1 = (w1 / s.reshape(_shape_for(w1, _out_axis(l1)))).astype(np.float32)
            new_w2 = (w2 * s.reshape(_shape_for(w2, _in_axis(l2)))).astype(np.float32)
            for t, data in ((w1t, new_w1), (w2t, new_w2)):
                data.flags.writeable = False
                tensors[t.index] = replace(tensors[t.index], data=data)
            if b1t is not None:
                bias = (np.asarray(tensors[b1t.index].data, dtype=np.float64) / s).astype(np.float32)
                bias.flags.writeable = False
                tensors[b1t.index] = replace(tensors[b1t.index], data=bias)
    return replace(graph, tensors=tuple(tensors))
