"""UF2, the drag-and-drop flashing format of the RP2040 boot ROM (and many others).

A UF2 file is a sequence of independent 512-byte blocks: a 32-byte header
(two magic words, flags, target address, payload size, block number, block
count, family id), 476 bytes of data of which the first `payload size` count,
and a closing magic word. The RP2040 boot ROM wants 256-byte payloads at
256-byte aligned flash addresses and the family id 0xe48bff56; bytes a page
does not get from the ELF are written as zeros.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tinyq.errors import TinyqError
from tinyq.flash.elfimage import Segment

MAGIC_START0 = 0x0A324655  # "UF2\n"
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY_ID = 0x00002000
FLAG_NOT_MAIN_FLASH = 0x00000001
RP2040_FAMILY_ID = 0xE48BFF56
BLOCK_BYTES = 512
DATA_BYTES = 476
PAGE_BYTES = 256
HEADER = struct.Struct("<IIIIIIII")


@dataclass(frozen=True)
class Block:
    flags: int
    target: int
    payload: bytes
    block_no: int
    num_blocks: int
    family_id: int


def pages_of(segments: list[Segment], page: int = PAGE_BYTES) -> dict[int, bytes]:
    """Page-aligned pages covering every segment byte; gaps inside a page are zero."""
    pages: dict[int, bytearray] = {}
    for seg in segments:
        for offset, byte in enumerate(seg.data):
            addr = seg.address + offset
            base = addr - addr % page
            pages.setdefault(base, bytearray(page))[addr - base] = byte
    return {base: bytes(data) for base, data in sorted(pages.items())}


def check_ranges(segments: list[Segment], ranges: list[tuple[int, int, str]], what: str) -> None:
    """Every segment lies in one of `ranges` (start, size, name), else a one-line error."""
    for seg in segments:
        end = seg.address + len(seg.data)
        if not any(start <= seg.address and end <= start + size for start, size, _ in ranges):
            names = ", ".join(f"{name} 0x{start:08x}-0x{start + size:08x}" for start, size, name in ranges)
            raise TinyqError(f"{len(seg.data)} bytes at 0x{seg.address:08x} lie outside {what} ({names})",
                             hint="this ELF was linked for another board")


def write_uf2(segments: list[Segment], family_id: int = RP2040_FAMILY_ID) -> bytes:
    pages = pages_of(segments)
    blocks = []
    for n, (target, data) in enumerate(pages.items()):
        header = HEADER.pack(MAGIC_START0, MAGIC_START1, FLAG_FAMILY_ID, target, len(data), n, len(pages), family_id)
        blocks.append(header + data.ljust(DATA_BYTES, b"\0") + struct.pack("<I", MAGIC_END))
    return b"".join(blocks)


def parse_uf2(data: bytes) -> list[Block]:
    """The blocks of a UF2 file, checked: magic words, payload size, block numbering."""
    if len(data) % BLOCK_BYTES or not data:
        raise TinyqError(f"a UF2 file is whole 512-byte blocks, this one has {len(data)} bytes")
    blocks = []
    for n in range(len(data) // BLOCK_BYTES):
        raw = data[n * BLOCK_BYTES:(n + 1) * BLOCK_BYTES]
        m0, m1, flags, target, size, block_no, num_blocks, family = HEADER.unpack_from(raw)
        (end,) = struct.unpack_from("<I", raw, BLOCK_BYTES - 4)
        if (m0, m1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise TinyqError(f"block {n}: bad UF2 magic")
        if size > DATA_BYTES:
            raise TinyqError(f"block {n}: payload of {size} bytes (at most {DATA_BYTES})")
        blocks.append(Block(flags, target, raw[32:32 + size], block_no, num_blocks,
                            family if flags & FLAG_FAMILY_ID else 0))
    return blocks


def image_of(blocks: list[Block]) -> list[Segment]:
    """The memory contents the blocks describe, merged into contiguous segments."""
    merged: list[Segment] = []
    for b in sorted(blocks, key=lambda b: b.target):
        if merged and merged[-1].address + len(merged[-1].data) == b.target:
            merged[-1] = Segment(merged[-1].address, merged[-1].data + b.payload)
        else:
            merged.append(Segment(b.target, b.payload))
    return merged
