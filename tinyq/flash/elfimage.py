"""The bytes an ELF file puts in memory at load time: its PT_LOAD segments at their physical addresses.

This is what a flasher writes: code, constants, and the initial values of .data
at their load address (LMA), never the zero-filled tail of a segment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from tinyq.errors import TinyqError

PT_LOAD = 1
ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Segment:
    address: int  # physical (load) address
    data: bytes


def load_segments(path: Path) -> list[Segment]:
    """PT_LOAD segments with file contents of a 32-bit little-endian ELF, by address."""
    data = Path(path).read_bytes()
    if data[:4] != ELF_MAGIC:
        raise TinyqError("not an ELF file", where=str(path))
    if data[4] != 1 or data[5] != 1:
        raise TinyqError("not a 32-bit little-endian ELF (microcontroller firmware)", where=str(path))
    phoff = struct.unpack_from("<I", data, 0x1C)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    segments = []
    for i in range(phnum):
        p_type, offset, _vaddr, paddr, filesz, _memsz = struct.unpack_from("<IIIIII", data, phoff + i * phentsize)
        if p_type == PT_LOAD and filesz:
            if offset + filesz > len(data):
                raise TinyqError(f"segment {i} runs past the end of the file", where=str(path))
            segments.append(Segment(paddr, data[offset:offset + filesz]))
    if not segments:
        raise TinyqError("the ELF has no loadable contents", where=str(path))
    return sorted(segments, key=lambda s: s.address)
