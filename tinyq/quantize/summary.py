"""The few lines `tinyq quantize` prints: what was written, sizes, and what went int4."""

from __future__ import annotations

from tinyq.ir import Graph
from tinyq.quantize.selfcheck import steps_text
from tinyq.quantize.weights import weight_ops


def stored_bytes(t) -> int:
    return (t.numel + 1) // 2 if t.dtype == "int4" else t.nbytes


def weight_bytes(graph: Graph) -> int:
    """Bytes of the weights (and biases) of conv, depthwise and FC ops, as stored."""
    return sum(stored_bytes(graph.tensors[i]) for op in weight_ops(graph) for i in op.inputs[1:3] if i >= 0)


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
