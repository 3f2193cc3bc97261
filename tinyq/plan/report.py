"""What `tinyq plan` shows: timeline, offsets, aliases, flash layout, fit — as text or JSON.

`plan_report` collects plain values once; `as_text` and `as_json` only format them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from tinyq.bind import BoundGraph
from tinyq.plan.buffers import live_bytes, tensor_lifetimes
from tinyq.plan.fit import Fit
from tinyq.plan.flash import FlashPlan
from tinyq.plan.memory import MemoryPlan

# measured (tinyq build, qemu-m55, CMSIS-NN): the firmware of the MLPerf Tiny AD, ResNet-8 and KWS models links
# 14,888, 21,496 and 23,512 B of code and other constants beside the weights; with less than CODE_ROOM_NOTE left
# where the code goes, the plan says so
TYPICAL_CODE_BYTES = (15_000, 25_000)
CODE_ROOM_NOTE = 64 * 1024


@dataclass(frozen=True)
class Report:
    model: str
    board: str
    backend: str
    code_path: str  # the target's code path the kernels and scratch sizes are for
    fits: bool | None  # None without a board to check against
    arena_bytes: int
    lower_bound_bytes: int
    flash_bytes: int
    baseline_lower_bound_bytes: int
    strategy: str
    proven_optimal: bool
    candidates: list
    reordered: bool
    order: list
    steps: list  # per step: op, kernel, live bytes, tensors written
    buffers: list  # per buffer: name, offset, size, first, last, tensors with their offsets
    aliases: list
    flash: list  # per array: symbol, ctype, bytes, region, offset
    flash_regions: dict
    fit: dict | None
    code_bytes: int | None  # from a built ELF, when given
    # the largest working buffer a kernel keeps on the stack instead of in the arena (RAM beside the arena)


def plan_report(model: str, bound: BoundGraph, plan: MemoryPlan, flash: FlashPlan, fit: Fit | None = None,
                elf_flash_bytes: int | None = None) -> Report:
    lowered = bound.lowered
    graph = lowered.graph
    order = plan.execution_order(len(lowered.ops))
    live = live_bytes(plan.buffers, len(order), plan.overlap_map())
    views = {a.tensor for a in plan.aliases if a.kind == "view"}
    tensors = [lt for t, lt in tensor_lifetimes(lowered, order).items() if t not in views]
    steps = [{"step": s, "op": p, "kernel": lowered.ops[p].kernel, "name": lowered.ops[p].op.op,
              "layer": bound.ops[p].layer, "function": bound.ops[p].function,
              "live_bytes": live[s] if s < len(live) else 0,
              "tensor_bytes": sum(lt.size for lt in tensors if lt.first <= s <= lt.last),
              "writes": list(lowered.ops[p].outputs)}
             for s, p in enumerate(order)]
    buffers = []
    for b, off in sorted(zip(plan.buffers, plan.offsets), key=lambda bo: (bo[1], bo[0].first)):
        buffers.append({"name": b.name, "offset": off, "size": b.size, "first_step": b.first, "last_step": b.last,
                        "tensors": [{"tensor": t, "offset": off + b.place_of(t), "bytes": graph.tensors[t].nbytes,
                                     "name": graph.tensors[t].name} for t in b.tensors]})
    flash_bytes = elf_flash_bytes if elf_flash_bytes is not None else flash.flash_bytes
    return Report(
        model=model, board=bound.target.board, backend=bound.backend.name, code_path=bound.target.isa,
        fits=fit.ok if fit is not None else None, arena_bytes=plan.arena_bytes, lower_bound_bytes=plan.lower_bound_bytes,
        flash_bytes=flash_bytes, baseline_lower_bound_bytes=plan.baseline_lower_bound_bytes,
        strategy=plan.strategy, proven_optimal=plan.proven_optimal,
        candidates=[{"strategy": n, "arena_bytes": a} for n, a in plan.candidates],
        reordered=bool(plan.order), order=list(order), steps=steps, buffers=buffers,
        aliases=[asdict(a) for a in plan.aliases],
        flash=[{"symbol": a.symbol, "ctype": a.ctype, "bytes": a.bytes, "region": a.region, "offset": a.offset}
               for a in flash.arrays],
        flash_regions=flash.region_bytes(), fit=asdict(fit) if fit is not None else None,
        code_bytes=elf_flash_bytes - flash.flash_bytes if elf_flash_bytes is not None else None)


def as_json(report: Report) -> str:
    return json.dumps(asdict(report), indent=2)


def _bar(value: int, peak: int, width: int = 30) -> str:
    return "#" * (round(width * value / peak) if peak else 0)


def as_text(report: Report) -> str:
    from tinyq.tables import table

    r = report
    out = [f"model: {r.model}",
           f"kernels: {r.backend} on {r.board} ({r.code_path} code path)"
           + ("" if r.fit is not None else "; pass --board B for a board's kernels, scratch and fit"),
           f"arena {r.arena_bytes:,} B, lower bound {r.lower_bound_bytes:,} B (this order and aliasing); "
           f"{r.baseline_lower_bound_bytes:,} B with views only in file order",
           f"strategy {r.strategy}{' (optimal for this order and aliasing)' if r.proven_optimal else ''}; tried "
           + ", ".join(f"{c['strategy']} {c['arena_bytes']:,}" for c in r.candidates),
           f"order: {'reordered ' + ' '.join(map(str, r.order)) if r.reordered else 'as in the file'}",
           "", "timeline (live: bytes the plan reserves at each step; tensors: the live tensors' own bytes):"]
    peak = max((s["live_bytes"] for s in r.steps), default=0)
    out.append(table(("step", "op", "kernel", "live", "tensors", ""),
                     [(str(s["step"]), str(s["op"]), s["kernel"], f"{s['live_bytes']:,}", f"{s['tensor_bytes']:,}",
                       _bar(s["live_bytes"], peak)) for s in r.steps], align="rrlrrl", indent="  "))
    out += ["", "buffers:"]
    out.append(table(("offset", "size", "steps", "tensors (offset)"),
                     [(f"{b['offset']:,}", f"{b['size']:,}", f"{b['first_step']}-{b['last_step']}",
                       ", ".join(f"t{t['tensor']}@{t['offset']}" for t in b["tensors"]) or "scratch")
                      for b in r.buffers], align="rrll", indent="  "))
    if r.aliases:
        out += ["", "shared storage:"]
        for a in r.aliases:
            where = "same bytes" if a["shift"] == 0 else f"starting {a['shift']:,} B before it" \
                if a["shift"] > 0 else f"{-a['shift']:,} B into it"
            out.append(f"  t{a['tensor']} over t{a['base']} ({a['kind']} at op {a['position']}, {where})")
    out += ["", f"flash: {r.flash_bytes:,} B" + (f" (ELF; code and other data {r.code_bytes:,} B)"
                                                 if r.code_bytes is not None else
                                                 f" of constants in {len(r.flash)} arrays, 16-byte aligned")]
    for region, used in sorted(r.flash_regions.items()):
        out.append(f"  {region or '(unplaced)'}: {used:,} B")
    biggest = sorted(r.flash, key=lambda a: -a["bytes"])[:8]
    out.append(table(("array", "type", "bytes", "placed at"),
                     [(a["symbol"], a["ctype"], f"{a['bytes']:,}", f"{a['region'] or '-'} +{a['offset']:,}")
                      for a in biggest], align="llrl", indent="    "))
    if len(r.flash) > len(biggest):
        out.append(f"    ... and {len(r.flash) - len(biggest)} smaller arrays (--format json lists all)")
    if r.fit is not None and not r.fits:
        out += ["", f"does NOT fit {r.fit['board']}: " + "; ".join(r.fit["problems"])]
    elif r.fit is not None:
        f = r.fit
        out += ["", f"fits {f['board']}: arena {f['arena_bytes']:,} of {f['arena_room']:,} B in "
                    f"'{f['arena_region']}', constants {f['flash_bytes']:,} of {f['flash_room']:,} B"]
        if f.get("code_room") and f["code_room"][1] < CODE_ROOM_NOTE:
            region, left = f["code_room"]
            low, high = TYPICAL_CODE_BYTES
            out.append(f"  the code goes into '{region}' too and has {left:,} B left there; tinyq's firmware "
                       f"code is typically {low:,}-{high:,} B (tinyq build reports it)")
    return "\n".join(out)
