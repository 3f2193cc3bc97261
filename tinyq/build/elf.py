"""Flash and RAM use of a firmware image, read from its ELF section headers.

Every allocated section is placed in the board memory region its address falls
in. A section with contents (PROGBITS) also occupies its load address, which is
where `.data`'s initial values sit in flash. Sizes come from the linked ELF,
never from estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board, Memory
from tinyq.errors import TinyqError

# Memory kinds that keep their contents without power (or are loaded like them):
# sections whose load address falls here count as flash.
CODE_KINDS = ("flash", "xip", "itcm")


@dataclass(frozen=True)
class Section:
    name: str
    address: int  # where it runs (VMA)
    load_address: int  # where its bytes are stored (LMA); == address unless copied at boot
    size: int
    has_contents: bool  # False for .bss-like sections (nothing stored)


@dataclass(frozen=True)
class PlacedSection:
    section: Section
    region: str  # memory region of `address`, "" when outside the board's map
    load_region: str  # memory region of `load_address`
    flash_bytes: int  # bytes stored in code memory (flash/XIP/ITCM)
    ram_bytes: int  # bytes occupied in RAM while running


@dataclass(frozen=True)
class SizeReport:
    elf: Path
    sections: tuple[PlacedSection, ...]

    @property
    def flash_bytes(self) -> int:
        return sum(p.flash_bytes for p in self.sections)

    @property
    def ram_bytes(self) -> int:
        return sum(p.ram_bytes for p in self.sections)

    def ram_of(self, *names: str) -> int:
        return sum(p.ram_bytes for p in self.sections if p.section.name in names)

    def region_use(self) -> dict[str, int]:
        use: dict[str, int] = {}
        for p in self.sections:
            if p.flash_bytes:
                use[p.load_region] = use.get(p.load_region, 0) + p.flash_bytes
            if p.ram_bytes:
                use[p.region] = use.get(p.region, 0) + p.ram_bytes
        return use


def read_sections(path: Path) -> list[Section]:
    """Allocated sections of a 32-bit little-endian ELF (what arm-none-eabi-gcc writes), read with pyelftools."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.elfclass != 32 or not elf.little_endian:
                raise TinyqError("not a 32-bit little-endian ELF file", where=str(path))
            segments = [(seg["p_vaddr"], seg["p_paddr"], seg["p_memsz"]) for seg in elf.iter_segments()
                        if seg["p_type"] == "PT_LOAD"]
            sections = []
            for sec in elf.iter_sections():
                addr, size = sec["sh_addr"], sec["sh_size"]
                if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or size == 0:
                    continue
                load = next((addr - vaddr + paddr for vaddr, paddr, memsz in segments
                             if vaddr <= addr < vaddr + max(memsz, 1)), addr)
                sections.append(Section(sec.name, addr, load, size, sec["sh_type"] != "SHT_NOBITS"))
    except ELFError as exc:
        raise TinyqError(f"not a readable ELF file ({exc})", where=str(path)) from None
    return sections


def _region(board: Board, address: int) -> Memory | None:
    for m in board.memory:
        if m.address <= address < m.address + m.size:
            return m
    return None


def size_report(elf: Path, board: Board) -> SizeReport:
    placed = []
    for s in read_sections(elf):
        run_in = _region(board, s.address)
        load_in = _region(board, s.load_address)
        stored = s.has_contents and load_in is not None and load_in.kind in CODE_KINDS
        in_ram = run_in is not None and run_in.kind not in CODE_KINDS
        placed.append(PlacedSection(s, run_in.name if run_in else "", load_in.name if load_in else "",
                                    s.size if stored else 0, s.size if in_ram else 0))
    return SizeReport(Path(elf), tuple(placed))


# Stack sections: tinyq's linker script, and the Pico SDK's (core 0 and core 1).
STACK_SECTIONS = (".stack", ".stack_dummy", ".stack1_dummy")


def format_size_report(report: SizeReport, board: Board, arena_bytes: int | None = None) -> str:
    """Sections, region use and totals; `arena_bytes` when the arena sits inside .bss (SDK builds)."""
    from tinyq.tables import table

    rows = []
    for p in sorted(report.sections, key=lambda p: p.section.address):
        s = p.section
        where = p.region or "?"
        if s.has_contents and s.load_address != s.address:
            where += f" (stored in {p.load_region or '?'})"
        rows.append((s.name, f"{s.address:#010x}", f"{s.size:,}", where))
    lines = [table(("section", "address", "size", "region"), rows, align="lrrl")]
    regions = [(name, f"{used:,}", f"{board.memory_named(name).size:,}",
                f"{100.0 * used / board.memory_named(name).size:.1f}%")
               for name, used in sorted(report.region_use().items()) if name]
    lines.append(table(("region", "used B", "of B", "used"), regions, align="lrrr"))
    arena = report.ram_of(".tq_arena") or (arena_bytes or 0)
    stack = report.ram_of(*STACK_SECTIONS)
    where = "" if report.ram_of(".tq_arena") or not arena else " in .bss"
    lines.append(f"flash {report.flash_bytes:,} B, RAM {report.ram_bytes:,} B (arena{where} {arena:,}, "
                 f"stack {stack:,}, other {report.ram_bytes - arena - stack:,})")
    return "\n".join(lines)
