"""Where accuracy goes: per-tensor SQNR of the integer (int8, 16x8 or mixed) model against the float one.

The float graph runs in LiteRT, the integer graph in TFLM with every activation
exposed; each int8/int16 tensor is dequantized and compared with its float twin.
`SQNR = 10 log10(sum f^2 / sum (f - dequant(q))^2)`. A layer "loses" the
difference between the SQNR of its input and of its output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import DTYPES, Graph, Tensor
from tinyq.quantize.actparams import saturation_bounds
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.isolated import tflm_run_layers
from tinyq.quantize.prepare import infinitely_padded, without_padded_infinities
from tinyq.quantize.qparams import INT8, INT_RANGES, sqnr_db
from tinyq.quantize.rules import RULES

BOUNDARY_OPS = ("quantize", "dequantize")


@dataclass(frozen=True)
class TensorRow:
    op_index: int | None  # float graph op producing the tensor (None: graph input)
    op: str
    float_tensor: int
    int8_tensor: int
    name: str
    sqnr_db: float
    float_range: tuple[float, float]  # what the float model produced on these samples
    int8_range: tuple[float, float]  # what the int8 parameters can represent
    scale: float
    zero_point: int
    note: str = ""
    dtype: str = "int8"


@dataclass(frozen=True)
class Report:
    rows: tuple[TensorRow, ...]
    samples: int
    output_sqnr_db: tuple[float, ...]  # per graph output
    input_sqnr: dict  # float tensor -> SQNR of the op's (first data) input, for the loss column


def quantize_inputs(qgraph: Graph, record: list[np.ndarray]) -> list[np.ndarray]:
    """A float record as the integer graph takes it (quantized for int8/int16 inputs, unchanged for float ones
    and for integer ones the float model takes too, such as an embedding's int32 token ids)."""
    out = []
    for t, x in zip((qgraph.tensors[i] for i in qgraph.inputs), record):
        if t.dtype in INT_RANGES and t.quant is not None:
            lo, hi = INT_RANGES[t.dtype]
            q = qmath.round_half_away(x / t.quant.s) + t.quant.zp
            out.append(np.clip(q, lo, hi).astype(t.dtype).reshape(t.shape))
        else:
            out.append(np.asarray(x, dtype=DTYPES[t.dtype][0]).reshape(t.shape))
    return out


def dequantize(t: Tensor, values: np.ndarray) -> np.ndarray:
    if t.quant is None or t.dtype in ("float32",):
        return np.asarray(values, dtype=np.float64)
    return (np.asarray(values, dtype=np.float64) - t.quant.zp) * t.quant.s


def tensor_pairs(float_graph: Graph, qgraph: Graph) -> list[tuple[int | None, int, int]]:
    """(float op index, float tensor, integer tensor) for every activation both graphs compute.

    Ops are paired in order once boundary QUANTIZE/DEQUANTIZE ops are set aside
    (the graphs must then list the same op names); graph inputs pair in order.
    """
    f_ops = [op for op in float_graph.operators]
    q_ops = [op for op in qgraph.operators if op.op not in BOUNDARY_OPS]
    pairs: list[tuple[int | None, int, int]] = []
    q_inputs = list(qgraph.inputs)
    for op in qgraph.operators:  # an int8 input behind a QUANTIZE: pair the QUANTIZE output
        if op.op == "quantize" and op.inputs[0] in q_inputs:
            q_inputs[q_inputs.index(op.inputs[0])] = op.outputs[0]
    for f, q in zip(float_graph.inputs, q_inputs):
        pairs.append((None, f, q))
    if [o.op for o in f_ops] != [o.op for o in q_ops]:
        by_name = {t.name: t.index for t in qgraph.tensors if not t.is_const}
        for op in f_ops:
            for t in op.outputs:
                name = float_graph.tensors[t].name
                if name in by_name:
                    pairs.append((op.index, t, by_name[name]))
        return pairs
    for f_op, q_op in zip(f_ops, q_ops):
        for f, q in zip(f_op.outputs, q_op.outputs):
            if float_graph.tensors[f].dtype == "float32" and qgraph.tensors[q].dtype in INT_RANGES:
                pairs.append((f_op.index, f, q))
    return pairs


def sqnr_report(float_graph: Graph, qgraph: Graph, records: list[list[np.ndarray]]) -> Report:
    pairs = tensor_pairs(float_graph, qgraph)
    runner = FloatRunner(float_graph)
    floats = [runner.run(r, [f for _, f, _ in pairs] + list(float_graph.outputs)) for r in records]
    ints = tflm_run_layers(qgraph, [quantize_inputs(qgraph, r) for r in records])
    # graph inputs are not exposed by tflm_run_layers: quantize them here
    q_in = [quantize_inputs(qgraph, r) for r in records]
    rows = []
    sqnr_of: dict[int, float] = {}
    padded = infinitely_padded(float_graph)  # their pad values are the type's end, as in calibration
    saturates = saturation_bounds(float_graph)
    for op_index, f, q in pairs:
        qt = qgraph.tensors[q]
        f_all = np.concatenate([np.asarray(v[f], dtype=np.float64).reshape(-1) for v in floats])
        if f in padded:
            f_all = without_padded_infinities(f_all)
        if f in saturates:  # past the bound its readers answer alike: the values they tell apart are measured
            f_all = np.clip(f_all, *saturates[f][qt.dtype == "int16"])
        q_vals = []
        for r, got in enumerate(ints):
            if q in got:
                q_vals.append(got[q])
            elif q in qgraph.inputs:
                q_vals.append(q_in[r][list(qgraph.inputs).index(q)])
            else:
                break
        if len(q_vals) != len(records) or qt.quant is None:
            continue
        q_all = np.concatenate([dequantize(qt, v).reshape(-1) for v in q_vals])
        s = sqnr_db(f_all, q_all)
        sqnr_of[f] = s
        rng = qmath.real_range(qt.quant.s, qt.quant.zp, *INT_RANGES.get(qt.dtype, INT8))
        op_name = float_graph.operators[op_index].op if op_index is not None else "input"
        rows.append(TensorRow(op_index, op_name, f, q, float_graph.tensors[f].name, s,
                              (float(f_all.min()), float(f_all.max())), rng, qt.quant.s, qt.quant.zp,
                              dtype=qt.dtype))
    input_sqnr = {}
    for op in float_graph.operators:
        ins = [t for t in op.inputs if t in sqnr_of]
        for t in op.outputs:
            if ins:
                input_sqnr[t] = sqnr_of[ins[0]]
    outputs = tuple(sqnr_of[t] if t in sqnr_of else _unpaired_output_sqnr(k, float_graph, qgraph, floats, ints)
                    for k, t in enumerate(float_graph.outputs))
    return Report(rows=tuple(rows), samples=len(records), output_sqnr_db=outputs, input_sqnr=input_sqnr)


def _unpaired_output_sqnr(k: int, float_graph: Graph, qgraph: Graph, floats: list, ints: list) -> float:
    """Graph output k where no op pairs with the float one (an op TFLM runs in float32 only, last: the
    quantized model computes it between DEQUANTIZE and QUANTIZE, or leaves it float): measured as it
    comes out; nan where there is nothing to pair."""
    q = qgraph.outputs[k] if k < len(qgraph.outputs) else None
    t = qgraph.tensors[q] if q is not None else None
    if t is None or not all(q in got for got in ints) or \
            not (t.dtype == "float32" or (t.dtype in INT_RANGES and t.quant is not None)):
        return float("nan")
    f = float_graph.outputs[k]
    got = [got[q] if t.dtype == "float32" else dequantize(t, got[q]) for got in ints]
    return sqnr_db(np.concatenate([np.asarray(v[f], dtype=np.float64).reshape(-1) for v in floats]),
                   np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in got]))


WARN_DROP_DB = 20.0  # a layer this far below the layers it reads is flagged
# what an int8 tensor can be expected to reach: 8-bit rounding of a full-scale signal (6.02 * 8 + 1.76 dB);
# inputs above it (exact, or dominated by a large constant) are taken at this level
INT8_CEILING_DB = 49.9
# an output this much smaller than what its op reads is float32 rounding (the mean of a tensor a layer norm
# already centred: 1e-8 of its values): there is no signal to measure its quantization against
FLOAT_NOISE_RATIO = 64 * float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class LayerWarning:
    op_index: int
    op: str
    name: str
    sqnr_db: float
    input_sqnr_db: float  # the worst of the op's data inputs, capped at INT8_CEILING_DB

    def describe(self) -> str:
        return (f"op {self.op_index} ({self.op}) '{_short(self.name, 48)}': output SQNR {self.sqnr_db:.1f} dB, "
                f"{self.input_sqnr_db - self.sqnr_db:.1f} dB below its inputs' ({self.input_sqnr_db:.1f} dB): this "
                "layer's quantization fails (its ranges and weights: --report)")


def layer_warnings(report: Report, graph: Graph, drop_db: float = WARN_DROP_DB) -> tuple[LayerWarning, ...]:
    """Layers whose output SQNR is more than `drop_db` below the worst of the tensors they read.

    Noise only accumulates, so a layer cannot be blamed for its inputs' noise; a
    sudden drop is that layer's own parameters failing (a range blown up by one
    channel, a scale that rounds everything to zero).
    """
    sqnr = {r.float_tensor: r.sqnr_db for r in report.rows}
    magnitude = {r.float_tensor: max(abs(r.float_range[0]), abs(r.float_range[1])) for r in report.rows}
    result = []
    for r in report.rows:
        if r.op_index is None:
            continue
        op = graph.operators[r.op_index]
        if op.op in RULES and RULES[op.op].fixed_output is not None:
            continue  # softmax, logistic, tanh: TFLM fixes their output parameters, there is nothing to choose
        if op.op in RULES and RULES[op.op].output_as_input:
            # split, slice, max pool...: values kept at the input's parameters add no error; a part's SQNR
            # is lower than the whole's when its values are smaller (an LSTM gate's quarter of the sums)
            continue
        ins = [min(sqnr[t], INT8_CEILING_DB) for t in op.inputs if t in sqnr]
        read = max((magnitude[t] for t in op.inputs if t in magnitude), default=0.0)
        if magnitude[r.float_tensor] <= FLOAT_NOISE_RATIO * read:
            continue
        if ins and r.sqnr_db < min(ins) - drop_db:
            result.append(LayerWarning(r.op_index, r.op, r.name, r.sqnr_db, min(ins)))
    return tuple(result)


def _db(x: float) -> str:
    return "   inf" if x == float("inf") else f"{x:6.1f}"


def _short(name: str, width: int = 34) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3):]


def format_report(report: Report, choices: dict | None = None, worst: int = 3) -> str:
    """The table the CLI prints; `choices` (tensor -> ActivationChoice) adds why each range was chosen."""
    from tinyq.tables import table

    rows = []
    for r in report.rows:
        loss = report.input_sqnr.get(r.float_tensor)
        loss_text = f"{loss - r.sqnr_db:.1f}" if loss is not None and np.isfinite(loss) and np.isfinite(r.sqnr_db) else ""
        why = choices[r.float_tensor].reason if choices and r.float_tensor in choices else ""
        rows.append(("in" if r.op_index is None else str(r.op_index), r.op, _short(r.name), r.dtype,
                     "[%.3g, %.3g]" % r.float_range, "[%.3g, %.3g]" % r.int8_range, f"{r.scale:.4g}",
                     str(r.zero_point), _db(r.sqnr_db).strip(), loss_text, why))
    lines = [table(("op", "kind", "tensor", "type", "float range", "quantized range", "scale", "zp", "SQNR dB", "loss",
                    "range from"), rows, align="rlllrrrrrrl", indent="  ",
                   title=f"per-tensor SQNR, quantized (TFLM) vs float (LiteRT), over {report.samples} sample(s):")]
    lines.append("  output SQNR: " + ", ".join(f"{s:.1f} dB" for s in report.output_sqnr_db))
    losses = [(report.input_sqnr[r.float_tensor] - r.sqnr_db, r) for r in report.rows
              if r.float_tensor in report.input_sqnr and np.isfinite(report.input_sqnr[r.float_tensor])
              and np.isfinite(r.sqnr_db)]
    losses.sort(key=lambda x: -x[0])
    if losses:
        lines.append("  layers that lose the most (SQNR in -> out):")
        for loss, r in losses[:worst]:
            lines.append(f"    op {r.op_index} ({r.op}) '{_short(r.name, 48)}': "
                         f"{report.input_sqnr[r.float_tensor]:.1f} -> {r.sqnr_db:.1f} dB (-{loss:.1f})")
    return "\n".join(lines)
