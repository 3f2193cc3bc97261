"""The bytes an ELF file puts in memory at load time: its PT_LOAD segments at their physical addresses.

This is what a flasher writes: code, constants, and the initial values of .data
at their load address (LMA), never the zero-filled tail of a segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.errors import TinyqError

ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Segment:
    address: int  # physical (load) address
    data: bytes


def load_segments(path: Path) -> list[Segment]:
    """PT_LOAD segments with file contents of a 32-bit little-endian ELF, by address (read with pyelftools)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        if f.read(4) != ELF_MAGIC:
            raise TinyqError("not an ELF file", where=str(path))
        f.seek(0)
        try:
            elf = ELFFile(f)
            if elf.elfclass != 32 or not elf.little_endian:
                raise TinyqError("not a 32-bit little-endian ELF (microcontroller firmware)", where=str(path))
            segments = []
            for i, seg in enumerate(elf.iter_segments()):
                if seg["p_type"] != "PT_LOAD" or not seg["p_filesz"]:
                    continue
                data = seg.data()
                if len(data) != seg["p_filesz"]:
                    raise TinyqError(f"segment {i} runs past the end of the file", where=str(path))
                segments.append(Segment(seg["p_paddr"], bytes(data)))
        except ELFError as exc:
            raise TinyqError(f"not a readable ELF file ({exc})", where=str(path)) from None
    if not segments:
        raise TinyqError("the ELF has no loadable contents", where=str(path))
    return sorted(segments, key=lambda s: s.address)
