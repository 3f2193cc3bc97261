"""Flash plan: which memory each constant array (weights, biases, requantization
tables) goes to, at which offset, with which alignment.

The arrays are the ones the bound kernels' calls read (`BoundOp.consts`),
deduplicated (same C type and bytes: one symbol, named after its first user);
the code generator emits exactly this table, each array `TQ_ALIGNED(16)`.
They fill the board's weights region first (its [firmware] placement, else the
first flash-like region); arrays that do not fit spill, largest first, into the
other regions that keep contents: internal flash, external XIP flash, ITCM.
The generated C puts every array in one `TQ_WEIGHTS_SECTION`; a spill is the
plan's advice to the build (a second section) and what the fit check counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from tinyq.bind import BoundGraph
from tinyq.boards import Board, Memory
from tinyq.ops.base import ConstArray
from tinyq.plan.buffers import align_up

WEIGHT_ALIGNMENT = 16  # TQ_ALIGNED(16) on every array in model.c.j2
PERSISTENT_KINDS = ("flash", "xip", "itcm")  # where constants can live (ITCM is loaded at boot)
C_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4, "float": 4,
           "int64_t": 8, "uint64_t": 8, "double": 8}


@dataclass(frozen=True)
class FlashArray:
    symbol: str  # C symbol, as generate.py names it
    ctype: str
    bytes: int
    users: tuple[int, ...]  # op positions reading it
    region: str = ""  # board memory region, "" before placement or when nothing fits
    offset: int = 0  # byte offset inside the weights block of that region


@dataclass(frozen=True)
class FlashPlan:
    arrays: tuple[FlashArray, ...]
    alignment: int = WEIGHT_ALIGNMENT

    @property
    def flash_bytes(self) -> int:
        """Weights plus alignment padding, as laid out."""
        return sum(align_up(a.bytes, self.alignment) for a in self.arrays)

    @property
    def data_bytes(self) -> int:
        return sum(a.bytes for a in self.arrays)

    def region_bytes(self) -> dict[str, int]:
        used: dict[str, int] = {}
        for a in self.arrays:
            used[a.region] = used.get(a.region, 0) + align_up(a.bytes, self.alignment)
        return used


@dataclass(frozen=True)
class ArrayTable:
    """Every distinct array the calls read, and which symbol each op's array names are."""

    arrays: tuple[FlashArray, ...]  # in emission order (the first op using an array names it)
    contents: tuple[ConstArray, ...]  # the values of arrays[i]
    symbols: tuple[dict[str, str], ...]  # per op position: array name -> symbol
    subgraph_symbols: tuple[tuple[dict[str, str], ...], ...] = ()  # the same per op of subgraph 1, 2, ...


def array_table(bound: BoundGraph) -> ArrayTable:
    """The arrays of the main graph's ops, then of the other subgraphs' (named tq_sg<k>_op<p>_...;
    `users` lists main-graph op positions only)."""
    by_key: dict[tuple[str, str], int] = {}
    arrays: list[FlashArray] = []
    contents: list[ConstArray] = []
    tables: list[tuple[dict[str, str], ...]] = []
    for k, graph in enumerate((bound, *bound.subgraphs)):
        prefix = f"tq_sg{k}_op" if k else "tq_op"
        symbols: list[dict[str, str]] = []
        for position, op in enumerate(graph.ops):
            names = {}
            users = () if k else (position,)
            for c in op.consts:
                raw = np.ascontiguousarray(c.values)
                key = (c.ctype, hashlib.sha256(raw.tobytes() + str(raw.dtype).encode()).hexdigest())
                if key in by_key:
                    i = by_key[key]
                    arrays[i] = dataclasses.replace(arrays[i], users=arrays[i].users + users)
                else:
                    by_key[key] = i = len(arrays)
                    size = max(raw.size, 1) * C_SIZES.get(c.ctype, raw.itemsize)  # the C array: count x sizeof(ctype)
                    arrays.append(FlashArray(f"{prefix}{position}_{c.name}", c.ctype, size, users))
                    contents.append(c)
                names[c.name] = arrays[i].symbol
            symbols.append(names)
        tables.append(tuple(symbols))
    return ArrayTable(tuple(arrays), tuple(contents), tables[0], tuple(tables[1:]))


def weight_regions(board: Board | None) -> list[Memory]:
    """Regions for constants, preferred first."""
    if board is None:
        return []
    firmware = getattr(board, "firmware", None)
    preferred = firmware.placement.get("weights") if firmware is not None else None
    regions = [m for m in board.memory if m.kind in PERSISTENT_KINDS]
    if not regions:  # a host: everything is RAM
        regions = sorted(board.memory, key=lambda m: -m.size)[:1]
    return sorted(regions, key=lambda m: (m.name != preferred, PERSISTENT_KINDS.index(m.kind)
                                          if m.kind in PERSISTENT_KINDS else 9, -m.size))


def plan_flash(bound: BoundGraph, board: Board | None = None, reserved: dict[str, int] | None = None) -> FlashPlan:
    """Place the arrays; `reserved[region]` bytes are already taken there (code, other data)."""
    arrays = list(array_table(bound).arrays)
    regions = weight_regions(board)
    if not regions:
        offset, placed = 0, []
        for a in arrays:
            placed.append(FlashArray(a.symbol, a.ctype, a.bytes, a.users, "", offset))
            offset += align_up(a.bytes, WEIGHT_ALIGNMENT)
        return FlashPlan(tuple(placed))
    free = {m.name: m.size - (reserved or {}).get(m.name, 0) for m in regions}
    used = {m.name: 0 for m in regions}
    where: dict[int, tuple[str, int]] = {}
    first = regions[0].name
    total = sum(align_up(a.bytes, WEIGHT_ALIGNMENT) for a in arrays)
    spill_order = range(len(arrays)) if total <= free[first] else \
        sorted(range(len(arrays)), key=lambda i: arrays[i].bytes)  # small ones stay, big ones spill
    for i in spill_order:
        need = align_up(arrays[i].bytes, WEIGHT_ALIGNMENT)
        target = next((m.name for m in regions if used[m.name] + need <= free[m.name]), "")
        where[i] = (target, used.get(target, 0))
        if target:
            used[target] += need
    return FlashPlan(tuple(FlashArray(a.symbol, a.ctype, a.bytes, a.users, *where[i]) for i, a in enumerate(arrays)))
