"""The few lines `tinyq quantize` prints: what was written, sizes, and what went int4."""

from __future__ import annotations

import math
from dataclasses import asdict

from tinyq.ir import Graph
from tinyq.quantize.recurrent import recurrent_lines
from tinyq.quantize.rules import RULES, parameter_positions
from tinyq.quantize.selfcheck import steps_text
from tinyq.quantize.weights import weight_ops


def stored_bytes(t) -> int:
    return (t.numel + 1) // 2 if t.dtype == "int4" else t.nbytes


def weight_bytes(graph: Graph) -> int:
    """Bytes of the weights and biases the quantizer rounds (conv, depthwise, FC, LSTM ...), as stored."""
    return sum(stored_bytes(graph.tensors[op.inputs[p]]) for op in graph.operators if op.op in RULES
               for p, _ in parameter_positions(RULES[op.op]) if p < len(op.inputs) and op.inputs[p] >= 0)


def const_bytes(graph: Graph) -> int:
    return sum(stored_bytes(t) for t in graph.tensors if t.is_const)


def _types(graph: Graph, tensors) -> str:
    return "/".join(sorted({graph.tensors[t].dtype for t in tensors}))


def summary_text(result, out_path: str, file_bytes: int) -> str:
    g = result.graph
    int4 = [op for op in weight_ops(result.float_graph) if result.weight_dtypes.get(op.index) == "int4"]
    float_bytes = const_bytes(result.float_graph)
    lines = [f"wrote {out_path}: {file_bytes:,} B, {len(g.operators)} ops, constants {const_bytes(g):,} B "
             f"(float {float_bytes:,} B), {result.samples} samples, {result.seconds:.2f} s",
             f"  io {result.config.io} ({_types(g, g.inputs)} in, {_types(g, g.outputs)} out), "
             f"activations {result.config.activations}, weights {result.config.weights} "
             f"({'per-channel' if result.config.per_channel else 'per-tensor'}), observer {result.config.observer}, "
             f"bias correction {'on' if result.config.bias_correction else 'off'}, "
             f"equalization {'on' if result.config.equalize else 'off'}"]
    check = result.check
    if check is not None:
        best = check.best
        lines.append(f"  self-check ({len(check.candidates)} candidates, {check.seconds:.1f} s): kept "
                     f"{steps_text(best.steps, best.config)}, output SQNR {best.output_sqnr_db:.1f} dB on "
                     f"{check.samples} calibration samples ({check.why()})")
    else:
        lines.append("  self-check off: the optional steps as configured, not measured against plain min/max")
    for warning in result.warnings:
        lines.append(f"  warning: {warning.describe()}")
    if int4:
        lines.append(f"  int4 weights in {len(int4)} of {len(weight_ops(result.float_graph))} layers: "
                     + ", ".join(f"op {op.index} ({op.op})" for op in int4))
    for line in recurrent_lines(result):
        lines.append("  " + line)
    if getattr(result, "rounding", ()):
        from tinyq.quantize.rounding import describe

        lines.append("  " + describe(result.rounding))
    if result.mixed is not None:
        lines.append("  " + result.mixed.describe())
    if result.widths is not None:
        lines.append("  " + result.widths.describe().replace("\n", "\n  "))
    inputs = [g.tensors[i] for i in g.inputs]
    for t in inputs:
        if t.quant is not None:
            zp = t.quant.zp
            lines.append(f"  input '{t.name}' {t.dtype} scale {t.quant.s:.6g} zero point {zp}: "
                         f"q = round(x / {t.quant.s:.6g}) {'-' if zp < 0 else '+'} {abs(zp)}")
    return "\n".join(lines)


def _db(x: float) -> float | None:
    """A dB figure for JSON: an exact match (infinite SQNR) is null."""
    return round(float(x), 3) if math.isfinite(x) else None


def _io(g: Graph, tensors) -> list[dict]:
    return [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape),
             "scale": float(t.quant.s) if t.quant else None, "zero_point": int(t.quant.zp) if t.quant else None}
            for t in (g.tensors[i] for i in tensors)]


def summary_data(result, out_path: str, file_bytes: int, report=None) -> dict:
    """`tinyq quantize --json`: what summary_text says (and --report's rows), as data."""
    g = result.graph
    check = result.check
    data = {"output": out_path, "file_bytes": file_bytes, "ops": len(g.operators), "constant_bytes": const_bytes(g),
            "float_constant_bytes": const_bytes(result.float_graph), "weight_bytes": weight_bytes(g),
            "samples": result.samples, "seconds": round(result.seconds, 3), "config": asdict(result.config),
            "inputs": _io(g, g.inputs), "outputs": _io(g, g.outputs),
            "int4_layers": sorted(i for i, d in result.weight_dtypes.items() if d == "int4"),
            "warnings": [w.describe() for w in result.warnings], "self_check": None, "report": None}
    if check is not None:
        data["self_check"] = {
            "samples": check.samples, "seconds": round(check.seconds, 3), "kept": check.kept, "why": check.why(),
            "candidates": [{"steps": steps_text(c.steps, c.config), "output_sqnr_db": _db(c.output_sqnr_db),
                            "sqnr_db": [_db(x) for x in c.sqnr_db]} for c in check.candidates]}
    if report is not None:
        data["report"] = {"samples": report.samples, "output_sqnr_db": [_db(x) for x in report.output_sqnr_db],
                          "tensors": [{**asdict(r), "sqnr_db": _db(r.sqnr_db)} for r in report.rows]}
    return data
