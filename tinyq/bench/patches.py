"""`tinyq bench patches`: what patch-based execution saves in SRAM and costs in recomputation.

For each model and each `--patches` request: the arena without patches (the input in it), the
arena with the first layers run patch by patch (the streamed input's band and the patch workspace
in it: the model's whole SRAM), the stage the planner chose, and the multiply-accumulates of the
stage and of the network's convolutions against the untiled run. With `--qemu BOARD` both builds
also run under QEMU, bit-exact against TFLM, and the table adds instructions per inference (the
recomputation and the patch loop's copies as the CPU executes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.errors import TinyqError

REQUESTS = ("auto", "min", "4x2")


@dataclass(frozen=True)
class PatchRow:
    model: str
    request: str
    untiled_arena: int | None
    arena: int | None
    stage: str = ""  # "ops 0-7", grid
    grid: str = ""
    band_bytes: int = 0
    workspace_bytes: int = 0
    stage_macs_ratio: float = 0.0  # the stage's MACs over its untiled MACs
    network_macs_ratio: float = 0.0  # the network's convolution MACs over its untiled MACs
    untiled_instructions: int | None = None  # median per inference under QEMU
    instructions: int | None = None
    bit_exact: bool | None = None
    note: str = ""


def _instructions(compiled, board, n_inputs: int) -> tuple[int, bool]:
    from tinyq.verify import verify_qemu

    report = verify_qemu(compiled, board, n_inputs=n_inputs)
    return report.summary()["instructions_per_inference"]["median"], report.ok


def patch_rows(model: Path, requests=REQUESTS, board_name: str = "host", backend: str | None = None,
               qemu: str | None = None, n_inputs: int = 3) -> list[PatchRow]:
    from tinyq import driver
    from tinyq.boards import get_board
    from tinyq.plan.patched import choose
    from tinyq.plan.patches import network_macs, parse_request

    board = get_board(qemu or board_name)
    try:
        _, graph = driver.read(model)
        bound = driver.front(graph, board, backend)
        untiled = driver.plan(bound)
    except TinyqError as exc:
        return [PatchRow(model.name, r, None, None, note=f"not planned: {exc.what}") for r in requests]
    base_ins = None
    if qemu:
        base = driver.compile_file(model, board, backend)
        base_ins, exact = _instructions(base, board, n_inputs)
        if not exact:
            return [PatchRow(model.name, r, untiled.arena_bytes, None, note="untiled build not bit-exact")
                    for r in requests]
    rows = []
    total = network_macs(bound.lowered)
    for request in requests:
        try:
            patched = choose(bound, parse_request(request))
        except TinyqError as exc:
            rows.append(PatchRow(model.name, request, untiled.arena_bytes, None, note=exc.what))
            continue
        s = patched.stage
        ins, exact = None, None
        if qemu:
            compiled = driver.compile_file(model, board, backend, patches=request)
            ins, exact = _instructions(compiled, board, n_inputs)
        rows.append(PatchRow(
            model.name, request, untiled.arena_bytes, patched.plan.arena_bytes,
            stage=f"ops {s.layers[0].position}-{s.layers[-1].position}",
            grid="lines" if s.lines else f"{s.grid[0]}x{s.grid[1]}",
            band_bytes=s.band_bytes, workspace_bytes=s.workspace_bytes,
            stage_macs_ratio=s.macs / max(s.untiled_macs, 1),
            network_macs_ratio=(total + s.macs - s.untiled_macs) / max(total, 1),
            untiled_instructions=base_ins, instructions=ins, bit_exact=exact))
    return rows


def _num(v) -> str:
    return "-" if v is None else f"{v:,}"


def format_patch_table(rows: list[PatchRow]) -> str:
    from tinyq.tables import table

    header = ("model", "patches", "untiled", "patched", "saved", "stage", "grid", "band", "workspace", "stage MACs",
              "net MACs")
    qemu = any(r.untiled_instructions is not None for r in rows)
    if qemu:
        header += ("instr untiled", "instr patched", "ratio", "exact")
    cells = []
    for r in rows:
        if r.arena is None:  # a note row
            cells.append((r.model, r.request, _num(r.untiled_arena), r.note))
            continue
        saved = f"{1 - r.arena / r.untiled_arena:.0%}" if r.untiled_arena else "-"
        row = (r.model, r.request, _num(r.untiled_arena), _num(r.arena), saved, r.stage, r.grid, _num(r.band_bytes),
               _num(r.workspace_bytes), f"{r.stage_macs_ratio:.2f}x", f"{r.network_macs_ratio:.2f}x")
        if qemu:
            both = r.instructions and r.untiled_instructions
            row += (_num(r.untiled_instructions), _num(r.instructions),
                    f"{r.instructions / r.untiled_instructions:.2f}x" if both else "-", "yes" if r.bit_exact else "NO")
        cells.append(row)
    lines = [table(header, cells, align="l" + "r" * (len(header) - 2) + ("l" if qemu else "r"))]
    lines += ["",
              "untiled: the arena with the whole input in it. patched: the arena with the first layers (stage) run",
              "  patch by patch (grid RxC: tiles of the stage's output, overlaps recomputed) or line by line (lines:",
              "  every layer a row at a time, each row computed once); it holds the input's band (the input rows being",
              "  read, each fetched once) and the workspace (a tile's regions; lines: each layer's window of rows):",
              "  the model's whole SRAM. stage MACs / net MACs: multiply-accumulates of the stage / of every",
              "  convolution, over the untiled run. auto: the smallest arena with net MACs <= 1.5x; min: the smallest."]
    if qemu:
        lines.append("  instr: median instructions per inference under QEMU (instructions, not cycles or time).")
    return "\n".join(lines)
