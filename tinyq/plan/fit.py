"""Does a planned model fit a board? One line saying what, how much, and what could help.

The arena goes into the board's [firmware] placement region for it, else its
largest SRAM/DTCM region; a stack placed in the same region is subtracted. The
weights go where the flash plan put them (flash.py); any array left without a
region means the flash is full.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.bind import BoundGraph
from tinyq.boards import Board, Memory
from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.plan.flash import FlashPlan, plan_flash, weight_regions
from tinyq.plan.memory import MemoryPlan

RAM_KINDS = ("dtcm", "sram")


@dataclass(frozen=True)
class Fit:
    board: str
    arena_region: str
    arena_room: int  # bytes the arena may use there
    arena_bytes: int
    flash_room: int  # bytes for constants across the regions that can hold them
    flash_bytes: int
    problems: tuple[str, ...]
    io_bytes: int = 0  # the firmware's input/output buffers counted against the arena's region
    # (region, bytes the constants leave there) where the board puts the code beside the weights: the plan
    # cannot size the code, so a tight fit says how much room the code has (a build tells what it takes)
    code_room: tuple[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


IO_ALIGNMENT = 16  # the harness's in_buf and out_buf are aligned(16)


def firmware_io_bytes(graph: Graph) -> int:
    """Static bytes every board firmware keeps for one record of the model's inputs and outputs (in_buf and
    out_buf of firmware/tq_harness.c and tq_dut.c, packed back to back): a float 1x128x160x3 input is 245,760 B
    beside the arena (MCUNet's detection model linked 92,864 B over a DTCM its plan said it fitted)."""
    return sum(-(-sum(graph.tensors[i].nbytes for i in indices) // IO_ALIGNMENT) * IO_ALIGNMENT
               for indices in (graph.inputs, graph.outputs))


def arena_room(board: Board, io_bytes: int = 0) -> tuple[Memory | None, int, str]:
    """(region, bytes available for the arena, note on what else uses the region): the stack, and the
    firmware's `io_bytes` of input/output buffers where its static data goes there too."""
    firmware = getattr(board, "firmware", None)
    named = firmware.placement.get("arena") if firmware is not None else None
    candidates = [m for m in board.memory if m.name == named] or \
        sorted((m for m in board.memory if m.kind in RAM_KINDS), key=lambda m: -m.size)
    if not candidates:
        return None, 0, ""
    region = candidates[0]
    placed_here = firmware is not None and firmware.placement
    stack = firmware.stack_bytes if placed_here and firmware.placement.get("stack") == region.name else 0
    io = io_bytes if placed_here and firmware.placement.get("data") == region.name else 0
    notes = [f"{stack:,} B of it for the stack"] if stack else []
    notes += [f"{io:,} B for the firmware's input/output buffers"] if io else []
    return region, region.size - stack - io, (", " + " and ".join(notes)) if notes else ""


def _fits_elsewhere(arena: int, flash: int, io_bytes: int) -> list[str]:
    from tinyq.boards import all_boards

    names = []
    for b in all_boards():
        if b.runner == "host":
            continue
        _, room, _ = arena_room(b, io_bytes)
        flash_room = sum(m.size for m in weight_regions(b))
        if room >= arena and flash_room >= flash:
            names.append(b.name)
    return names


def check_fit(plan: MemoryPlan, flash: FlashPlan, board: Board, io_bytes: int = 0) -> Fit:
    """`io_bytes`: the firmware's input/output buffers (firmware_io_bytes), which share the arena's region
    where the board places the firmware's data there."""
    region, room, note = arena_room(board, io_bytes)
    flash_room = sum(m.size for m in weight_regions(board))
    problems = []
    if region is None:
        problems.append(f"the arena needs {plan.arena_bytes:,} B of RAM but board {board.name} lists no SRAM region")
    elif plan.arena_bytes > room:
        bound = f" (lower bound {plan.lower_bound_bytes:,} B)" if plan.lower_bound_bytes < plan.arena_bytes else ""
        problems.append(f"the arena needs {plan.arena_bytes:,} B of RAM{bound} "
                        f"but region '{region.name}' has {region.size:,} B{note}")
    unplaced = [a for a in flash.arrays if not a.region]
    if unplaced:
        problems.append(f"the weights need {flash.flash_bytes:,} B of flash but board {board.name} has "
                        f"{flash_room:,} B for them ({len(unplaced)} array{'s' if len(unplaced) > 1 else ''} left over)")
    return Fit(board.name, region.name if region else "", room, plan.arena_bytes, flash_room, flash.flash_bytes,
               tuple(problems), io_bytes, _code_room(flash, board))


def _code_room(flash: FlashPlan, board: Board) -> tuple[str, int] | None:
    firmware = getattr(board, "firmware", None)
    named = firmware.placement.get("code") if firmware is not None else None
    region = next((m for m in board.memory if m.name == named), None)
    used = flash.region_bytes().get(named, 0) if region is not None else 0
    return (region.name, region.size - used) if used else None


def int8_weight_bytes(graph: Graph) -> int:
    """Bytes of the int8 weight tensors `tinyq quantize --weights int4` would halve: the model's, not the
    flash arrays', which kernels reorder or pack under their own names (blocked, MVE-packed)."""
    from tinyq.quantize.weights import weight_ops, weight_tensor  # the refusal path only: the quantizer is big

    tensors = (weight_tensor(graph, op) for op in weight_ops(graph))
    shared_once = {t.index: t for t in tensors if t.is_const and t.dtype == "int8"}
    return sum(t.nbytes for t in shared_once.values())


def _hints(fit: Fit, board: Board, graph: Graph) -> str:
    hints = []
    psram = board.memories("psram")
    if fit.arena_bytes > fit.arena_room and psram:
        hints.append(f"place the arena in PSRAM ('{psram[0].name}', {psram[0].size:,} B, slower)")
    int8 = int8_weight_bytes(graph)
    if fit.flash_bytes > fit.flash_room and int8:
        hints.append(f"int4 weights (about {fit.flash_bytes - int8 // 2:,} B)")
    others = _fits_elsewhere(fit.arena_bytes, fit.flash_bytes, fit.io_bytes)
    hints.append(f"a board it fits: {', '.join(others)}" if others else "a smaller model or input resolution")
    return "could help: " + "; ".join(hints)


def fit_error(fit: Fit, board: Board, graph: Graph) -> TinyqError:
    return TinyqError("; ".join(fit.problems), where=f"board {board.name}", hint=_hints(fit, board, graph))


def require_fit(plan: MemoryPlan, bound: BoundGraph, board: Board, flash: FlashPlan | None = None) -> Fit:
    """The Fit, or TinyqError with one line when the model does not fit."""
    flash = flash or plan_flash(bound, board)
    fit = check_fit(plan, flash, board, firmware_io_bytes(bound.graph))
    if not fit.ok:
        raise fit_error(fit, board, bound.graph)
    return fit
