"""`tinyq boards` and `tinyq build`: what the commands print, kept out of cli.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board
from tinyq.build.arm import build_firmware, compile_model_objects
from tinyq.build.elf import SizeReport, format_size_report
from tinyq.build.project import load_project, project_kind
from tinyq.build.sdk import build_with_sdk, model_dir
from tinyq.errors import TinyqError

ARM_CC = "arm-none-eabi-gcc"


def _kib(n: int) -> str:
    if n == 0:
        return "-"
    return f"{n // 1024} KB" if n < 1 << 20 else f"{n / (1 << 20):g} MB"


def _runs_on(board: Board) -> str:
    if board.runner == "host":
        return "host process"
    if board.qemu:
        return f"qemu {board.qemu.machine}"
    sdk = f" ({board.sdk})" if board.sdk else ""
    stand_in = f", qemu via {board.qemu_stand_in}" if board.qemu_stand_in else ""
    return f"{board.flash_method or 'device'}{sdk}{stand_in}"


def board_row(board: Board) -> dict:
    ram = sum(m.size for m in board.memory if m.kind in ("sram", "dtcm", "itcm") and not m.optional)
    flash = sum(m.size for m in board.memory if m.kind in ("flash", "xip"))
    return {"name": board.name, "core": board.core, "isa_features": list(board.isa_features),
            "clock_mhz": board.clock_hz / 1e6, "ram_bytes": ram, "flash_bytes": flash,
            "psram_bytes": sum(m.size for m in board.memory if m.kind == "psram"),
            "default_backend": board.default_backend, "runs_on": _runs_on(board),
            "sdk": board.sdk, "description": board.description}


def boards_text(boards: list[Board], fmt: str) -> str:
    rows = [board_row(b) for b in boards]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    from tinyq.tables import table

    header = ("board", "core", "ISA features", "MHz", "RAM", "flash", "backend", "runs on")
    return table(header, [(r["name"], r["core"], ",".join(r["isa_features"]) or "-",
                           f"{r['clock_mhz']:g}" if r["clock_mhz"] else "-",
                           _kib(r["ram_bytes"]) + (f" +{_kib(r['psram_bytes'])} PSRAM" if r["psram_bytes"] else ""),
                           _kib(r["flash_bytes"]), r["default_backend"], r["runs_on"]) for r in rows], align="lllrllll")


@dataclass(frozen=True)
class Built:
    """A built project: its image and what it occupies (read back from the ELF)."""

    elf: Path
    board: str
    kind: str  # firmware, pico-sdk, esp-idf
    sizes: SizeReport
    cflags: tuple[str, ...] = ()
    model_objects: object = None  # ObjectSizes of the model alone (SDK builds)


def build(root: Path, board: Board, echo=lambda line: None) -> Built:
    """Build a generated project for `board`; raise when the build cannot run."""
    project = load_project(root)
    kind = project_kind(board)
    if kind == "host":
        raise TinyqError("the host board needs no firmware build", hint=f"tinyq verify {project.model_path}")
    if kind != project.kind:
        raise TinyqError(f"project is a {project.kind} project (for {project.board}), {board.name} needs {kind}",
                         where=str(project.root),
                         hint=f"tinyq generate {project.model_path} -o DIR --board {board.name}")
    _check_build_dir(project.root, board)
    if kind == "firmware":
        image = build_firmware(project.root, board)
        return Built(image.elf, board.name, kind, image.sizes, image.cflags)
    sizes = None
    if board.toolchain.cc == ARM_CC:
        # The model code alone builds without the SDK: its size on the real core is known here.
        sizes = compile_model_objects(model_dir(kind, project.root), board,
                                      project.root / "build" / board.name / "model-objects")
        echo(f"model {project.name} compiled for {board.core} ({' '.join(sizes.cflags)}): "
             f"code {sizes.code:,} B, constants {sizes.constants:,} B, data {sizes.data:,} B, "
             f"bss {sizes.bss:,} B (arena {project.arena_bytes:,} B) -> flash {sizes.flash:,} B")
    report = build_with_sdk(kind, project.root, board, project.name)  # names what is missing, if anything
    return Built(report.elf, board.name, kind, report, model_objects=sizes)


def built_dict(built: Built) -> dict:
    """`tinyq build --json`: the image, the totals and every section with its region."""
    sizes = built.sizes
    return {"elf": str(built.elf), "board": built.board, "kind": built.kind, "cflags": list(built.cflags),
            "flash_bytes": sizes.flash_bytes, "ram_bytes": sizes.ram_bytes,
            "arena_bytes": sizes.ram_of(".tq_arena"), "stack_bytes": sizes.ram_of(".stack"),
            "regions": sizes.region_use(),
            "sections": [{"name": p.section.name, "address": p.section.address, "size": p.section.size,
                          "region": p.region, "load_region": p.load_region, "flash_bytes": p.flash_bytes,
                          "ram_bytes": p.ram_bytes} for p in sizes.sections]}


def build_project(root: Path, board: Board, echo) -> Built:
    """`tinyq build`: build, echoing the size report."""
    built = build(root, board, echo)
    if built.kind == "firmware":
        echo(f"built {built.elf} for {board.name} ({' '.join(built.cflags)})")
        echo(format_size_report(built.sizes, board))
    else:
        echo(f"built {built.elf} with {built.kind}")
        echo(format_size_report(built.sizes, board, arena_bytes=load_project(root).arena_bytes))
    return built


def _check_build_dir(root: Path, board: Board) -> None:
    """build/<board>/ is where the build writes (and rewrites) its files: it must be a folder or absent."""
    for path in (root / "build", root / "build" / board.name):
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise TinyqError("a file or link is where `tinyq build` writes its folder", where=str(path),
                             hint="move it away; the build writes only under build/<board>/")
