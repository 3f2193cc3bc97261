"""`tinyq inspect`: what a model holds and what tinyq makes of each op."""

from __future__ import annotations

from tinyq.ir import Graph
from tinyq.lower import support_report


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _quant(t) -> str:
    if t.quant is None:
        return ""
    if t.quant.per_channel:
        return f"per-channel[{len(t.quant.scale)}] axis {t.quant.axis}"
    return f"s={t.quant.s:.6g} zp={t.quant.zp}"


def _float_lines(graph: Graph, path: str, bound, board) -> list[str]:
    """What the float32 part costs, and the int8 version's estimate (tinyq/float_cost.py)."""
    from tinyq.float_cost import float_cost
    from tinyq.plan.memory import plan_memory

    arena = plan_memory(bound).arena_bytes if bound is not None else None
    cost = float_cost(graph, board, arena)
    return [""] + cost.lines(path) if cost is not None else []


def inspect_text(graph: Graph, path: str, bound=None, kernels_for: str = "", folded: int = 0, board=None) -> str:
    """`graph` as tinyq compiles it (after folding; `folded` ops of the file became constants),
    with each op's bound kernel when every op lowers, and for a model with float32 ops what
    they cost on `board` against an int8 version."""
    consts = [t for t in graph.tensors if t.is_const]
    acts = [t for t in graph.tensors if not t.is_const]
    lines = [f"model: {path}",
             f"  {len(graph.operators)} ops, {len(graph.tensors)} tensors "
             f"({len(consts)} constant: {sum(t.nbytes for t in consts):,} B; "
             f"{len(acts)} activations: {sum(t.nbytes for t in acts):,} B)"
             + (f"; {folded} op(s) of the file fold into constants" if folded else "")]
    for label, indices in (("input", graph.inputs), ("output", graph.outputs)):
        for i in indices:
            t = graph.tensors[i]
            lines.append(f"  {label:6} t{i} '{t.name}' {t.dtype} {_shape(t.shape)} {_quant(t)}")
    lines.append("")
    if kernels_for:
        lines.append(f"  kernels: {kernels_for}")
    lines.append(f"  {'#':>3}  {'op':<20} {'output':<26} {'kernel':<42} {'scratch':>8}  status")
    report = support_report(graph)
    for (op, reason), position in zip(report, range(len(report))):
        out = graph.tensors[op.outputs[0]] if op.outputs else None
        out_text = f"{out.dtype} {_shape(out.shape)}" if out else ""
        if len(op.outputs) > 1:  # SPLIT, UNPACK: the first output, and how many follow
            out_text += f" +{len(op.outputs) - 1}"
        kernel, scratch, why = "", "", ""
        if bound is not None and reason is None:
            b = bound.ops[position]
            kernel = f"{b.layer} {b.function}".strip()
            scratch = f"{b.scratch_bytes:,} B" if b.scratch_bytes else ""
            why = "".join(f" ({layer}: {text})" for layer, text in b.passed_over)
        status = "ok" + why if reason is None else f"UNSUPPORTED: {reason}"
        lines.append(f"  {op.index:>3}  {op.op:<20} {out_text:<26} {kernel:<42} {scratch:>8}  {status}")
    bad = sum(1 for _, r in report if r)
    lines.append("")
    lines.append(f"  {len(report) - bad} of {len(report)} ops supported" +
                 ("" if not bad else " - tinyq generate will stop at the first unsupported op"))
    if board is not None:
        lines += _float_lines(graph, path, bound, board)
    lines.append("  tensors:")
    for t in graph.tensors:
        kind = "const" if t.is_const else "act"
        lines.append(f"    t{t.index:<4} {kind:<5} {t.dtype:<8} {_shape(t.shape):<16} {t.nbytes:>9,} B  "
                     f"{_quant(t):<28} {t.name}")
    return "\n".join(lines)
