"""The quantizer checks itself: every optional step on and off, measured in TFLM, the best kept.

Equalization, bias correction and clipping search (an observer that clips
activation ranges, MSE-clipped weights) each help on most models and can hurt
on some (equalization once took a MobileNet with near-dead channels from
~50 dB output SQNR to ~14 dB; fixed, it still costs that model ~9 dB alone).
So each combination of the steps the configuration allows is built, run in
TFLM on calibration samples, and compared with the float model at its
outputs (and at the logits under an output softmax, which saturates). The
kept candidate is the best one whose output SQNR is at least that of plain
per-channel min/max quantization (every step off; to TIE_DB), which is always a
candidate: tinyq never returns a model worse than that on its own data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from itertools import product

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.isolated import tflm_run
from tinyq.quantize.qparams import sqnr_db
from tinyq.quantize.recurrent import recurrent_ops
from tinyq.quantize.report import dequantize, quantize_inputs
from tinyq.quantize.rules import RULES
from tinyq.quantize.weights import weight_ops, weight_tensor
from tinyq.tflite.writer import write_model

# calibration samples each candidate runs in TFLM: as many as about CHECK_MACS multiply-accumulates over all
# candidates allow (a softmax output's SQNR hangs on the few near-ties among the samples: more is steadier),
# at least CHECK_MIN (all there are, if fewer) and at most CHECK_MAX
CHECK_MACS = 1e9
CHECK_MIN, CHECK_MAX = 32, 256
TIE_DB = 0.05  # output SQNRs this close (1% of noise power) are equal: below what the check can resolve
STEPS = ("equalization", "bias correction", "clipping search")


def _allows(config: QuantizeConfig, step: str, int8_activations: bool = True) -> bool:
    if step == "equalization":
        return config.equalize
    if step == "bias correction":
        return config.bias_correction
    int4 = config.weights != "int8"  # int4 weights' clip only matters when some weights are int4
    observer = int8_activations and config.observer != "minmax"  # int16 activations are min/max in any case
    return observer or config.int8_clip == "mse" or (int4 and config.int4_clip == "mse")


def _with_steps(config: QuantizeConfig, steps: tuple[str, ...]) -> QuantizeConfig:
    clip = "clipping search" in steps
    return replace(config, equalize="equalization" in steps, bias_correction="bias correction" in steps,
                   observer=config.observer if clip else "minmax", int8_clip=config.int8_clip if clip else "max",
                   int4_clip=config.int4_clip if clip else "max")


def candidate_configs(config: QuantizeConfig, equalizable: bool = True,
                      int8_activations: bool = True) -> list[tuple[tuple[str, ...], QuantizeConfig]]:
    """(steps, config) for every subset of the allowed steps: all of them first, none last.

    Equalization is not tried on a model without a pair of layers it applies to (it would change nothing),
    nor the observer's clipping on one without int8 activations.
    """
    allowed = [s for s in STEPS if _allows(config, s, int8_activations) and (equalizable or s != "equalization")]
    if not config.self_check:
        return [(tuple(allowed), replace(config, equalize=config.equalize and equalizable))]
    subsets = [tuple(s for s, on in zip(allowed, mask) if on) for mask in product((True, False), repeat=len(allowed))]
    return [(steps, _with_steps(config, steps)) for steps in subsets]


def macs_per_sample(graph: Graph) -> int:
    """Multiply-accumulates of the conv, depthwise, fully connected and LSTM ops for one input."""
    total = 0
    for op in weight_ops(graph):
        w, out = weight_tensor(graph, op), graph.tensors[op.outputs[0]]
        total += out.numel * w.numel // max(out.shape[-1], 1)  # outputs x weights per output channel
    for op in recurrent_ops(graph):  # each gate matrix once per step and batch: outputs / units of them
        out = graph.tensors[op.outputs[0]]
        total += sum(out.numel * graph.tensors[op.inputs[w]].numel // max(out.shape[-1], 1)
                     for w, _, _ in RULES[op.op].recurrent.weights)
    return total


def check_sample_count(graph: Graph, candidates: int, available: int) -> int:
    wanted = int(CHECK_MACS // max(candidates * macs_per_sample(graph), 1))
    return min(available, max(CHECK_MIN, min(wanted, CHECK_MAX)))


def steps_text(steps: tuple[str, ...], config: QuantizeConfig | None = None) -> str:
    if not steps:
        return "plain min/max"
    names = [f"clipping search ({config.observer})" if s == "clipping search" and config else s for s in steps]
    return " + ".join(names)


def measure_points(graph: Graph) -> list[int]:
    """The graph outputs, then the input of each output softmax (logits keep what the softmax saturates).

    Works on float and integer graphs alike (a DEQUANTIZE or QUANTIZE before an output is looked
    through), so any integer model of the same float one - tinyq's or the converter's, int8, 16x8
    or mixed - pairs point by point.
    """
    producer = graph.producers()
    logits = []
    for t in graph.outputs:
        op = producer.get(t)
        if op is not None and op.op in ("dequantize", "quantize"):
            op = producer.get(op.inputs[0])
        if op is not None and op.op == "softmax" and op.inputs[0] not in graph.outputs:
            logits.append(op.inputs[0])
    return list(graph.outputs) + logits


@dataclass(frozen=True)
class Reference:
    """The float model's values at the measure points, for the check samples."""

    points: tuple[int, ...]  # float graph tensors
    outputs: int  # the first `outputs` points are graph outputs
    records: tuple
    values: tuple[np.ndarray, ...]  # per point, every sample's values concatenated


def float_reference(float_graph: Graph, records: list[list[np.ndarray]]) -> Reference:
    points = measure_points(float_graph)
    runner = FloatRunner(float_graph)
    runs = [runner.run(r, points) for r in records]
    values = tuple(np.concatenate([np.ravel(run[t]).astype(np.float64) for run in runs]) for t in points)
    return Reference(tuple(points), len(float_graph.outputs), tuple(records), values)


def point_values(qgraph: Graph, ref: Reference) -> list[np.ndarray]:
    """An int8 graph's dequantized values at each measure point (run in TFLM), like ref.values."""
    points = measure_points(qgraph)
    if len(points) != len(ref.points):
        raise TinyqError(f"the int8 model has {len(points)} measure points, the float one {len(ref.points)}",
                         where=qgraph.name, hint="are these the float and int8 versions of one model?")
    exposed = qgraph.with_outputs(tuple(points))
    runs = tflm_run(write_model(exposed), [quantize_inputs(qgraph, list(r)) for r in ref.records], exposed)
    return [np.concatenate([np.ravel(dequantize(qgraph.tensors[t], run[k])) for run in runs])
            for k, t in enumerate(points)]


def point_sqnrs(qgraph: Graph, ref: Reference) -> tuple[float, ...]:
    """SQNR at each measure point of an int8 graph against the float reference."""
    return tuple(sqnr_db(want, got) for want, got in zip(ref.values, point_values(qgraph, ref)))


@dataclass(frozen=True)
class Candidate:
    steps: tuple[str, ...]
    config: QuantizeConfig
    sqnr_db: tuple[float, ...]  # per measure point
    outputs: int  # how many of them are graph outputs

    @property
    def output_sqnr_db(self) -> float:
        """The worst graph output."""
        return min(self.sqnr_db[:self.outputs])

    @property
    def score(self) -> float:
        """Mean SQNR over outputs and logits: ranks the candidates that pass the plain floor."""
        finite = [min(s, 200.0) for s in self.sqnr_db]
        return float(np.mean(finite))


@dataclass(frozen=True)
class SelfCheck:
    candidates: tuple[Candidate, ...]
    kept: int
    samples: int
    seconds: float

    @property
    def kept_steps(self) -> tuple[str, ...]:
        return self.best.steps

    @property
    def best(self) -> Candidate:
        return self.candidates[self.kept]

    def why(self) -> str:
        best = self.best
        plain = self.candidates[-1]
        if len(self.candidates) == 1:
            return "the only candidate"
        if best is plain:
            return "no optional step beat plain min/max"
        what = ("mean of output and logits SQNR" if len(best.sqnr_db) > best.outputs else
                "mean SQNR over the outputs" if best.outputs > 1 else "output SQNR")
        return (f"highest {what} ({best.score:.1f} dB) of the candidates whose output SQNR is at least plain "
                f"min/max's ({plain.output_sqnr_db:.1f} dB, to {TIE_DB} dB)")

    def describe(self) -> str:
        labels = ["output"] * self.best.outputs + ["logits"] * (len(self.best.sqnr_db) - self.best.outputs)
        lines = [f"self-check: every optional step on and off, {len(self.candidates)} candidates in TFLM on "
                 f"{self.samples} calibration samples ({self.seconds:.1f} s); SQNR vs float, dB:"]
        for i, c in enumerate(self.candidates):
            mark = "kept" if i == self.kept else ""
            sqnrs = "  ".join(f"{label} {s:6.1f}" for label, s in zip(labels, c.sqnr_db))
            lines.append(f"    {steps_text(c.steps, c.config):<58} {sqnrs}  {mark}")
        lines.append(f"  kept: {steps_text(self.best.steps, self.best.config)} ({self.why()})")
        return "\n".join(lines)


def pick(candidates: list[Candidate]) -> int:
    """The best-scoring candidate whose output SQNR is at least plain's (the last candidate), to TIE_DB."""
    floor = candidates[-1].output_sqnr_db - TIE_DB
    eligible = [i for i, c in enumerate(candidates) if c.output_sqnr_db >= floor]
    return max(eligible, key=lambda i: (candidates[i].score, -i))


def check_candidates(candidates: list[tuple[tuple[str, ...], QuantizeConfig]], graphs: list[Graph], float_graph: Graph,
                     records: list[list[np.ndarray]], progress=None) -> SelfCheck:
    """Run every candidate int8 graph in TFLM on `records` and keep the best (see pick)."""
    start = time.perf_counter()
    ref = float_reference(float_graph, records)
    scored = []
    for n, ((steps, config), graph) in enumerate(zip(candidates, graphs)):
        scored.append(Candidate(steps, config, point_sqnrs(graph, ref), ref.outputs))
        if progress:
            progress(f"self-check {n + 1}/{len(candidates)}: {steps_text(steps, config)}: output SQNR "
                     f"{scored[-1].output_sqnr_db:.1f} dB")
    return SelfCheck(tuple(scored), pick(scored), len(records), time.perf_counter() - start)
