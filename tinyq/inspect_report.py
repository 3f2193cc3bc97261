"""`tinyq inspect`: what a model holds and what tinyq makes of each op."""

from __future__ import annotations

from tinyq.ir import Graph
from tinyq.lower import support_report
from tinyq.tables import table


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
    rows = op_rows(graph, bound)
    cells = []
    for row in rows:
        out = graph.tensors[row["outputs"][0]] if row["outputs"] else None
        out_text = f"{out.dtype} {_shape(out.shape)}" if out else ""
        if len(row["outputs"]) > 1:  # SPLIT, UNPACK: the first output, and how many follow
            out_text += f" +{len(row['outputs']) - 1}"
        scratch = f"{row['scratch_bytes']:,} B" if row["scratch_bytes"] else ""
        why = "".join(f" ({layer}: {text})" for layer, text in row["passed_over"])
        status = "ok" + why if row["supported"] else f"UNSUPPORTED: {row['reason']}"
        cells.append((str(row["index"]), row["op"], out_text, row["kernel"], scratch, status))
    lines.append(table(("#", "op", "output", "kernel", "scratch", "status"), cells, align="rlllrl", indent="  "))
    bad = sum(1 for row in rows if not row["supported"])
    lines.append("")
    lines.append(f"  {len(rows) - bad} of {len(rows)} ops supported" +
                 ("" if not bad else " - tinyq generate will stop at the first unsupported op"))
    if board is not None:
        lines += _float_lines(graph, path, bound, board)
    lines.append("  tensors:")
    lines.append(table(("tensor", "kind", "type", "shape", "bytes", "quantization", "name"),
                       [(f"t{t.index}", "const" if t.is_const else "act", t.dtype, _shape(t.shape), f"{t.nbytes:,}",
                         _quant(t), t.name) for t in graph.tensors], align="llllrll", indent="    "))
    return "\n".join(lines)


def op_rows(graph: Graph, bound=None) -> list[dict]:
    """Each op: what it is, whether tinyq lowers it (and why not), and its bound kernel when every op lowers."""
    rows = []
    for position, (op, reason) in enumerate(support_report(graph)):
        b = bound.ops[position] if bound is not None and reason is None else None
        rows.append({"index": op.index, "op": op.op, "inputs": [int(t) for t in op.inputs],
                     "outputs": [int(t) for t in op.outputs], "supported": reason is None, "reason": reason,
                     "kernel": f"{b.layer} {b.function}".strip() if b else "",
                     "scratch_bytes": b.scratch_bytes if b else 0,
                     "passed_over": [list(p) for p in b.passed_over] if b else []})
    return rows


def _tensor(t) -> dict:
    quant = None
    if t.quant is not None:
        quant = {"scale": [float(x) for x in t.quant.scale], "zero_point": [int(z) for z in t.quant.zero_point],
                 "axis": t.quant.axis if t.quant.per_channel else None}
    return {"index": t.index, "name": t.name, "dtype": t.dtype, "shape": [int(d) for d in t.shape],
            "bytes": t.nbytes, "constant": t.is_const, "quant": quant}


def inspect_data(graph: Graph, path: str, bound=None, kernels_for: str = "", folded: int = 0) -> dict:
    """`tinyq inspect --json`: what inspect_text shows, as data."""
    rows = op_rows(graph, bound)
    return {"model": path, "op_count": len(graph.operators), "tensor_count": len(graph.tensors), "folded_ops": folded,
            "constant_bytes": sum(t.nbytes for t in graph.tensors if t.is_const),
            "activation_bytes": sum(t.nbytes for t in graph.tensors if not t.is_const),
            "inputs": [_tensor(graph.tensors[i]) for i in graph.inputs],
            "outputs": [_tensor(graph.tensors[i]) for i in graph.outputs],
            "kernels_for": kernels_for, "supported_ops": sum(r["supported"] for r in rows),
            "all_supported": all(r["supported"] for r in rows), "ops": rows,
            "tensors": [_tensor(t) for t in graph.tensors]}
