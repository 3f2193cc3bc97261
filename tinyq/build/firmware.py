"""The bare-metal firmware project for a board: harness sources, linker script, Makefile.

The harness is plain C in `firmware/` (startup, console I/O, timer, protocol);
what depends on the board or the model is rendered from `templates/firmware/`:
the linker script from the board's memory map and placement, `tq_board.h`
(UART address, tick rate) and `tq_model.h` (binds the harness to the model).
"""

from __future__ import annotations

import dataclasses

from tinyq.boards import Board, Firmware
from tinyq.codegen.generate import environment
from tinyq.driver import Compiled
from tinyq.errors import TinyqError
from tinyq.resources import firmware_dir, templates_dir

FIRMWARE_SRC = firmware_dir()
PLACEMENT_GROUPS = ("code", "weights", "data", "arena", "stack")

# Harness files every bare-metal build links, and the per-board choices.
COMMON_SOURCES = ("tq_main.c", "tq_harness.c", "tq_console.c", "tq_fault.c", "tq_startup.c",
                  "tq_records_semihost.c", "tq_stack.c")
COMMON_HEADERS = ("tq_io.h", "tq_clock.h", "tq_timer.h", "tq_console.h", "tq_fault.h", "tq_harness.h", "tq_sections.h",
                  "tq_records.h", "tq_semihost.h", "tq_stack.h")


def firmware_of(board: Board) -> Firmware:
    if board.firmware is None:
        hint = (f"it is built with its vendor SDK ({board.sdk})" if board.sdk
                else "choose a board with a [firmware] table, see `tinyq boards`")
        raise TinyqError("board has no bare-metal firmware description", where=f"board {board.name}", hint=hint)
    fw = board.firmware
    missing = [g for g in PLACEMENT_GROUPS if g not in fw.placement]
    if missing:
        raise TinyqError(f"[firmware] placement lacks {', '.join(missing)}", where=f"boards/{board.name}.toml")
    for group, region in fw.placement.items():
        board.memory_named(region)
    for rel in (f"tq_io_{fw.io}.c", f"tq_timer_{fw.timer}.c") + ((f"tq_clock_{fw.clock}.c",) if fw.clock else ()):
        if not (FIRMWARE_SRC / rel).is_file():
            raise TinyqError(f"no firmware driver {rel}", where=f"boards/{board.name}.toml",
                             hint="io is one of cmsdk_uart, nrf51_uart, semihost, ra_sci; timer one of systick, dwt; "
                                  "clock one of ra8m1")
    return fw


def harness_sources(board: Board) -> tuple[str, ...]:
    fw = firmware_of(board)
    clock = (f"tq_clock_{fw.clock}.c",) if fw.clock else ()
    port = board.extra.get("cores_port")  # a two-core board: tq_cores_fork/join (tinyq/plan/cores.py)
    cores = (f"tq_cores_{port}.c",) if port else ()
    return COMMON_SOURCES + (f"tq_io_{fw.io}.c", f"tq_timer_{fw.timer}.c") + clock + cores


def io_info(compiled: Compiled) -> dict:
    """Input/output sizes and their offsets in the harness's packed record buffers."""
    graph = compiled.graph
    result = {}
    for key, indices in (("inputs", graph.inputs), ("outputs", graph.outputs)):
        offset, items = 0, []
        for i in indices:
            items.append({"bytes": graph.tensors[i].nbytes, "offset": offset})
            offset += graph.tensors[i].nbytes
        result[key] = items
    return result


def model_binding(compiled: Compiled) -> str:
    ctx = {"name": compiled.source.name, **io_info(compiled)}
    return environment().get_template("firmware/tq_model.h.j2").render(ctx)


def board_files(board: Board) -> dict[str, str]:
    """link.ld and tq_board.h for `board`."""
    fw = firmware_of(board)
    env = environment()
    ns_per_tick = 1e9 / fw.tick_hz
    ctx = {"board": board, "fw": fw, "place": fw.placement, "stack_bytes": fw.stack_bytes,
           "regions": [m for m in board.memory if not m.optional],
           "ns_per_tick": f"{ns_per_tick * (1 << board.qemu.icount_shift if board.qemu else 1):g}"}
    return {"link.ld": env.get_template("firmware/link.ld.j2").render(ctx),
            "tq_board.h": env.get_template("firmware/tq_board.h.j2").render(ctx)}


def harness_files(board: Board, compiled: Compiled) -> dict[str, str]:
    """Everything under `firmware/` of a generated project (board-independent sources)."""
    files = {f"firmware/{rel}": (FIRMWARE_SRC / rel).read_text() for rel in COMMON_SOURCES + COMMON_HEADERS}
    for path in (sorted(FIRMWARE_SRC.glob("tq_io_*.c")) + sorted(FIRMWARE_SRC.glob("tq_timer_*.c"))
                 + sorted(FIRMWARE_SRC.glob("tq_clock_*.c")) + sorted(FIRMWARE_SRC.glob("tq_cores_*.c"))):
        files[f"firmware/{path.name}"] = path.read_text()
    files["firmware/tq_model.h"] = model_binding(compiled)
    return files


def makefile(board: Board, name: str, cpu_flags: tuple[str, ...], libraries: tuple[str, ...] = ()) -> str:
    """The project's Makefile: tinyq's own compile (tinyq/build/toolchain.py), the libraries included."""
    from tinyq.build.libraries import archiver_name
    from tinyq.build.toolchain import COMMON_CFLAGS, FIRMWARE_INCLUDE, LDFLAGS, WARNINGS
    from tinyq.libraries import LIBRARIES

    libs = [{**dataclasses.asdict(LIBRARIES[n]), "var": n.replace("-", "_").upper()} for n in libraries]
    return environment().get_template("firmware/Makefile.j2").render(
        board=board, name=name, cflags=cpu_flags + board.toolchain.cflags + COMMON_CFLAGS, warnings=WARNINGS,
        include=FIRMWARE_INCLUDE, ldflags=LDFLAGS + board.toolchain.ldflags, harness=harness_sources(board),
        libraries=libs, archiver=archiver_name(board.toolchain.cc))


def cmake_files(board: Board, compiled: Compiled) -> dict[str, str]:
    """CMakeLists.txt and the arm-none-eabi toolchain file: the Makefile's build with CMake (+ Ninja),
    the CPU flags probed at configure time, the kernel libraries through their model/*.cmake."""
    from tinyq import __version__
    from tinyq.build.toolchain import COMMON_CFLAGS, FIRMWARE_INCLUDE, LDFLAGS, WARNINGS
    from tinyq.libraries import LIBRARIES

    libs = []
    for lib in compiled.source.libraries:
        stem = lib.replace("-", "_")
        if f"{stem}.cmake" in compiled.source.files:
            libs.append({"name": lib, "env": LIBRARIES[lib].env, "cmake": f"{stem}.cmake", "target": f"tinyq_{stem}"})
    text = environment().get_template("firmware/CMakeLists.txt.j2").render(
        version=__version__, board=board, name=compiled.source.name,
        cpu_alternatives=board.toolchain.cpu_flags, board_cflags=board.toolchain.cflags,
        common_cflags=COMMON_CFLAGS, warnings=WARNINGS, include=FIRMWARE_INCLUDE,
        ldflags=LDFLAGS + board.toolchain.ldflags, harness=harness_sources(board), libraries=libs)
    toolchain = (templates_dir() / "firmware" / "cmake" / "arm-none-eabi.cmake").read_text()
    return {"CMakeLists.txt": text, "cmake/arm-none-eabi.cmake": toolchain}


def project_files(compiled: Compiled, board: Board, cpu_flags: tuple[str, ...]) -> dict[str, str]:
    """model/, firmware/, board/<board>/, a Makefile for `make` and a CMake project, without tinyq."""
    files = {f"model/{rel}": text for rel, text in compiled.source.files.items()}
    files.update(harness_files(board, compiled))
    files.update({f"board/{board.name}/{rel}": text for rel, text in board_files(board).items()})
    files["Makefile"] = makefile(board, compiled.source.name, cpu_flags, compiled.source.libraries)
    files.update(cmake_files(board, compiled))
    return files
