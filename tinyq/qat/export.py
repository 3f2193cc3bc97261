"""Between tinyq's quantizer and the trainable graph: where training starts and what it writes.

Training starts from the model `tinyq quantize` builds (its float graph, equalized when its self-check kept
that; its weight types, steps, bias correction and activation ranges), so the first epoch's model is the
post-training one. The result goes back through the quantizer's own rewrite (tinyq.quantize.rewrite):
weights on their learned grid, written as float so that the quantizer's max-abs step per channel is the
learned one; biases as float (quantized at s_in * s_w as always); activation parameters from the learned
ranges through the quantizer's tie groups and affine_params. No step of the quantizer that would move the
learned values runs again (equalization, bias correction and the clipping search are off for the rewrite).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np

from tinyq.ir import Graph
from tinyq.qat.model import QatGraph, Start
from tinyq.quantize import QuantizeConfig
from tinyq.quantize.actparams import Ranges, choose_activation_params
from tinyq.quantize.pipeline import METADATA_NAME, QuantizeResult
from tinyq.quantize.qparams import WEIGHT_QMAX
from tinyq.quantize.rewrite import build_quantized_graph
from tinyq.quantize.weights import bias_tensor, weight_ops, weight_tensor


def start_from(result: QuantizeResult) -> Start:
    graph = result.float_graph
    steps, biases, weights = {}, {}, {}
    for op in weight_ops(graph):
        choice = result.weights[op.index]
        weights[op.index] = choice.weights.dequantized.reshape(weight_tensor(graph, op).shape)
        steps[op.index] = np.asarray(choice.weights.scales, dtype=np.float32)
        b = bias_tensor(graph, op)
        if b is not None:
            shift = choice.bias_shift_removed
            biases[op.index] = np.asarray(b.data, dtype=np.float64) - (0.0 if shift is None else shift)
    ranges = {t: tuple(c.chosen) for t, c in result.activations.items()}
    dtypes = {op.index: result.weight_dtypes.get(op.index, "int8") for op in weight_ops(graph)}
    return Start(graph=graph, weights=weights, weight_dtypes=dtypes, weight_steps=steps, biases=biases, ranges=ranges)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def finetuned_float_graph(model: QatGraph) -> Graph:
    """The float graph with the fine-tuned weights (on their integer grid) and biases."""
    import torch

    graph = model.graph
    tensors = list(graph.tensors)
    with torch.no_grad():
        for op in weight_ops(graph):
            w, steps = model.quantized_weights(op.index)
            _, _, axis, dtype = model.layers[op.index]
            t = weight_tensor(graph, op)
            steps = kept_steps(steps.double().numpy().astype(np.float32), model.start_steps[op.index])
            data = on_grid(w.double().numpy(), steps, axis, WEIGHT_QMAX[dtype])
            tensors[t.index] = replace(t, data=_frozen(data))
            b = bias_tensor(graph, op)
            if b is not None:
                value = model.biases[str(op.index)].numpy().astype(np.float32).reshape(b.shape)
                tensors[b.index] = replace(b, data=_frozen(value))
    return replace(graph, tensors=tuple(tensors))


def kept_steps(steps: np.ndarray, start: np.ndarray) -> np.ndarray:
    """A step within float32 rounding of where it started (the ratio and max are float32 in training) is the
    quantizer's step: a channel training did not move keeps its parameters exactly."""
    start = np.asarray(start, dtype=np.float32).reshape(steps.shape)
    close = np.abs(steps.astype(np.float64) - start) <= 4 * np.spacing(start)
    return np.where(close, start, steps).astype(np.float32)


def on_grid(w: np.ndarray, steps: np.ndarray, axis: int, qmax: int) -> np.ndarray:
    """float32 weights k * s whose max-abs step, as the quantizer computes it (float32(max|w| / qmax)), is s
    itself: the +-qmax entries take the float32 nearest qmax * s for which that holds. (For some s no
    float32 does - qmax * s has coarser spacing than s - and the quantizer's step is then the float32 next
    to s: every integer stays, the bias scale moves by 1e-7.)"""
    per_channel = steps.size > 1
    moved = np.moveaxis(w, axis, 0) if per_channel else w.reshape(1, -1)
    q = np.rint(moved.reshape(moved.shape[0], -1) / steps.astype(np.float64).reshape(-1, 1))
    out = (q * steps.astype(np.float64).reshape(-1, 1)).astype(np.float32)
    for c, s in enumerate(steps):
        edge = np.float32(qmax * np.float64(s))
        ulp = np.spacing(edge)
        for candidate in sorted((edge + k * ulp for k in range(-3, 4)), key=lambda v: abs(float(v) - qmax * float(s))):
            if np.float32(np.float64(candidate) / qmax) == s:
                edge = np.float32(candidate)
                break
        top = np.abs(q[c]) == qmax
        out[c, top] = np.sign(q[c, top]) * edge
    out = out.reshape(moved.shape)
    return np.ascontiguousarray(np.moveaxis(out, 0, axis) if per_channel else out.reshape(w.shape))


def rewrite_config(config: QuantizeConfig) -> QuantizeConfig:
    """The weights are on their grid already: any rounding keeps them, the max-abs step is the learned one."""
    config = replace(config, bias_correction=False, equalize=False, int4_clip="max", int8_clip="max",
                     self_check=False)
    return replace(config, rounding="nearest") if hasattr(config, "rounding") else config


def quantized_graph(model: QatGraph, result: QuantizeResult, epochs: int) -> Graph:
    """The integer graph of the fine-tuned model, as tinyq quantize writes one."""
    float_graph = finetuned_float_graph(model)
    learned = model.ranges()
    observed = {t: tuple(c.observed) for t, c in result.activations.items()}
    acts = choose_activation_params(float_graph, {}, result.config.observer,
                                    ranges=Ranges(observed={t: observed.get(t, r) for t, r in learned.items()},
                                                  chosen=learned))
    config = rewrite_config(result.config)
    qgraph, _ = build_quantized_graph(float_graph, acts, model_dtypes(model), config, {})
    # inspect --compare pairs tensors with the float graph the quantizer started from (equalized or not)
    made_with = dict(asdict(replace(config, equalize=result.config.equalize)), finetune_epochs=epochs)
    return replace(qgraph, description="tinyq finetune",
                   metadata=((METADATA_NAME, json.dumps(made_with, sort_keys=True).encode()),))


def model_dtypes(model: QatGraph) -> dict[int, str]:
    return {index: layer[3] for index, layer in model.layers.items()}
