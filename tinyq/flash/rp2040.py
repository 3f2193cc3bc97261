"""What the RP2040 boot ROM needs before it runs an image: checked before anything is copied.

A flash image starts with boot2, the 256-byte second-stage bootloader at 0x10000000
that sets up the QSPI flash for execute-in-place: the ROM copies it to SRAM, computes a
CRC32 of its first 252 bytes and runs it only when that equals the last 4 bytes (little
endian); otherwise it drops into BOOTSEL mode and the board never starts. The CRC is
the one the Pico SDK's boot_stage2/pad_checksum writes (seed 0xffffffff): polynomial
0x04c11db7, no reflection, initial value 0xffffffff, no final XOR (CRC-32/MPEG-2).
An image wholly in SRAM (a `no_flash` build) needs no boot2.

The ROM takes UF2 blocks only for the RP2040 family (0xe48bff56), with 256-byte
payloads at 256-byte aligned addresses; blocks marked "not main flash" it skips.
"""

from __future__ import annotations

import struct

from tinyq.errors import TinyqError
from tinyq.flash.elfimage import Segment
from tinyq.flash.uf2 import FLAG_NOT_MAIN_FLASH, PAGE_BYTES, RP2040_FAMILY_ID, Block, image_of

XIP_BASE = 0x10000000
XIP_END = 0x11000000  # 16 MB window of the QSPI flash
BOOT2_BYTES = 256
CRC_POLY = 0x04C11DB7
BOOT2_HINT = "build it with the Pico SDK (tinyq flash DIR does), whose images start with boot2"


def boot2_crc(data: bytes) -> int:
    """CRC32 as the RP2040 boot ROM computes it over boot2 (MSB first, init 0xffffffff, no final XOR)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _in_flash(seg: Segment) -> bool:
    return XIP_BASE <= seg.address < XIP_END


def _bytes_at(segments: list[Segment], address: int, size: int) -> bytes | None:
    """`size` bytes from `address` when the segments hold every one of them, else None."""
    out = bytearray()
    for seg in sorted(segments, key=lambda s: s.address):
        at = address + len(out)
        if seg.address <= at < seg.address + len(seg.data):
            out += seg.data[at - seg.address:at - seg.address + size - len(out)]
        if len(out) == size:
            return bytes(out)
    return None


def check_boot2(segments: list[Segment], where: str) -> None:
    """An image that runs from flash must begin with a valid boot2 stage."""
    if not any(_in_flash(s) for s in segments):
        return  # runs from SRAM: the ROM jumps straight to it
    boot2 = _bytes_at(segments, XIP_BASE, BOOT2_BYTES)
    if boot2 is None:
        first = min(s.address for s in segments if _in_flash(s))
        raise TinyqError(f"no boot2 stage: the image starts at 0x{first:08x}, not with 256 bytes at 0x{XIP_BASE:08x}; "
                         "the RP2040 boot ROM would not start it", where=where, hint=BOOT2_HINT)
    (stored,) = struct.unpack_from("<I", boot2, BOOT2_BYTES - 4)
    computed = boot2_crc(boot2[:BOOT2_BYTES - 4])
    if stored != computed:
        raise TinyqError(f"the 256 bytes at 0x{XIP_BASE:08x} are not a boot2 stage (their CRC32 is 0x{computed:08x}, "
                         f"the last word says 0x{stored:08x}); the RP2040 boot ROM would not start it",
                         where=where, hint=BOOT2_HINT)


def check_uf2_blocks(blocks: list[Block], where: str) -> list[Segment]:
    """The blocks the ROM would write, checked (family, page size and alignment); their image."""
    written = [b for b in blocks if not b.flags & FLAG_NOT_MAIN_FLASH]
    if not written:
        raise TinyqError("the UF2 has no blocks for the main flash", where=where)
    for b in written:
        if b.family_id != RP2040_FAMILY_ID:
            family = f"family id 0x{b.family_id:08x}" if b.family_id else "no family id"
            raise TinyqError(f"block {b.block_no} has {family}, the RP2040 takes 0x{RP2040_FAMILY_ID:08x}", where=where,
                             hint="this UF2 is for another chip; build or convert it for the RP2040")
        if len(b.payload) != PAGE_BYTES or b.target % PAGE_BYTES:
            raise TinyqError(f"block {b.block_no} writes {len(b.payload)} bytes at 0x{b.target:08x}; the RP2040 boot "
                             f"ROM takes {PAGE_BYTES}-byte pages at {PAGE_BYTES}-byte aligned addresses", where=where)
    return image_of(written)
