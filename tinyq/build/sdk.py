"""Vendor SDK projects: a Pico SDK CMake project (RP2040) and an ESP-IDF project (ESP32-S3).

Both embed the generated model unchanged and tinyq's firmware harness (the
host protocol in firmware/tq_harness.c) with the SDK's console and timer.
`build_with_sdk` drives the SDK's own build when it is installed, and
otherwise names exactly what is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tinyq import __version__
from tinyq.boards import Board
from tinyq.build.elf import SizeReport, size_report
from tinyq.build.firmware import FIRMWARE_SRC, model_binding
from tinyq.codegen.generate import TEMPLATES, environment
from tinyq.driver import Compiled
from tinyq.errors import TinyqError
from tinyq.plan.cores import board_cores

# Harness files shared with the bare-metal build, and each SDK's own.
SHARED = ("tq_harness.c", "tq_console.c", "tq_records_none.c",
          "tq_harness.h", "tq_console.h", "tq_io.h", "tq_timer.h", "tq_records.h", "tq_stack.h")
PLATFORM = {
    "pico-sdk": ("tq_main_pico.c", "tq_io_pico.c", "tq_timer_pico.c"),
    "esp-idf": ("tq_main_esp.c", "tq_io_esp.c", "tq_timer_esp.c"),
}
TEMPLATE_DIR = {"pico-sdk": "pico_sdk", "esp-idf": "esp_idf"}
# A board with `cores = 2`: the port that runs split ops' second parts on core 1 (tinyq/plan/cores.py)
CORES_PORT = {"pico-sdk": "tq_cores_pico.c", "esp-idf": "tq_cores_esp.c"}


def _platform(kind: str, board: Board) -> tuple[str, ...]:
    return PLATFORM[kind] + ((CORES_PORT[kind],) if board_cores(board) == 2 else ())


def _context(compiled: Compiled, board: Board, kind: str, source_name: str) -> dict:
    sources = sorted(f for f in compiled.source.files if f.endswith(".c"))
    harness = [f for f in SHARED + _platform(kind, board) if f.endswith(".c")]
    backend = compiled.bound.backend.name if any(op.optimized for op in compiled.bound.ops) else "reference"
    return {"name": compiled.source.name, "board": board, "version": __version__,
            "source": source_name, "arena_bytes": compiled.plan.arena_bytes,
            "model_sources": sources, "firmware_sources": harness, "backend": backend,
            "libraries": _cmake_libraries(compiled, kind), "cores": board_cores(board)}


def _cmake_libraries(compiled: Compiled, kind: str) -> list[dict]:
    """Libraries the model calls, as the CMake snippet codegen wrote and the target it defines.

    ESP-IDF gets ESP-NN from its component manager (the model's idf_component.yml) instead."""
    libs = []
    for name in compiled.source.libraries:
        stem = name.replace("-", "_")
        if (kind == "esp-idf" and name == "esp-nn") or f"{stem}.cmake" not in compiled.source.files:
            continue
        libs.append({"cmake": f"{stem}.cmake", "target": f"tinyq_{stem}"})
    return libs


def _harness(kind: str, compiled: Compiled, board: Board, folder: str) -> dict[str, str]:
    env = environment()
    tdir = TEMPLATE_DIR[kind]
    files = {f"{folder}/{rel}": (FIRMWARE_SRC / rel).read_text() for rel in SHARED}
    files.update({f"{folder}/{rel}": (TEMPLATES / tdir / rel).read_text() for rel in _platform(kind, board)})
    files[f"{folder}/tq_model.h"] = model_binding(compiled)
    files[f"{folder}/tq_board.h"] = env.get_template(f"{tdir}/tq_board.h.j2").render(board=board)
    return files


def pico_project_files(compiled: Compiled, board: Board, source_name: str) -> dict[str, str]:
    env = environment()
    ctx = _context(compiled, board, "pico-sdk", source_name)
    files = {f"model/{rel}": text for rel, text in compiled.source.files.items()}
    files.update(_harness("pico-sdk", compiled, board, "firmware"))
    files["CMakeLists.txt"] = env.get_template("pico_sdk/CMakeLists.txt.j2").render(ctx)
    files["pico_sdk_import.cmake"] = (TEMPLATES / "pico_sdk" / "pico_sdk_import.cmake").read_text()
    files["README.md"] = env.get_template("pico_sdk/README.md.j2").render(ctx)
    return files


def esp_idf_project_files(compiled: Compiled, board: Board, source_name: str) -> dict[str, str]:
    env = environment()
    ctx = _context(compiled, board, "esp-idf", source_name)
    files = {f"components/tinyq_model/{rel}": text for rel, text in compiled.source.files.items()}
    files["components/tinyq_model/CMakeLists.txt"] = env.get_template("esp_idf/model_CMakeLists.txt.j2").render(ctx)
    files.update(_harness("esp-idf", compiled, board, "main"))
    files["main/CMakeLists.txt"] = env.get_template("esp_idf/main_CMakeLists.txt.j2").render(ctx)
    files["main/idf_component.yml"] = env.get_template("esp_idf/idf_component.yml.j2").render(ctx)
    files["CMakeLists.txt"] = env.get_template("esp_idf/CMakeLists.txt.j2").render(ctx)
    files["sdkconfig.defaults"] = (TEMPLATES / "esp_idf" / "sdkconfig.defaults").read_text()
    files["README.md"] = env.get_template("esp_idf/README.md.j2").render(ctx)
    return files


def sdk_project_files(kind: str, compiled: Compiled, board: Board, source_name: str) -> dict[str, str]:
    makers = {"pico-sdk": pico_project_files, "esp-idf": esp_idf_project_files}
    if kind not in makers:
        raise TinyqError(f"unknown SDK '{kind}'", where=f"boards/{board.name}.toml", hint="pico-sdk or esp-idf")
    return makers[kind](compiled, board, source_name)


def model_dir(kind: str, root: Path) -> Path:
    """Where the generated model sources sit in a project of `kind`."""
    return root / ("components/tinyq_model" if kind == "esp-idf" else "model")


def missing_for_sdk(kind: str) -> list[str]:
    """What this machine lacks to build a `kind` project; empty when the build can run."""
    missing = []
    if kind == "pico-sdk":
        sdk = os.environ.get("PICO_SDK_PATH")
        if not sdk:
            missing.append("PICO_SDK_PATH is not set (git clone --recurse-submodules "
                           "https://github.com/raspberrypi/pico-sdk; export PICO_SDK_PATH=<it>)")
        elif not (Path(sdk) / "pico_sdk_init.cmake").is_file():
            missing.append(f"PICO_SDK_PATH={sdk} is not a Pico SDK checkout (no pico_sdk_init.cmake)")
        for tool, package in (("cmake", "cmake"), ("arm-none-eabi-gcc", "gcc-arm-none-eabi"), ("make", "make")):
            if shutil.which(tool) is None:
                missing.append(f"{tool} is not on PATH (Debian: apt-get install {package})")
    elif kind == "esp-idf":
        if not os.environ.get("IDF_PATH"):
            missing.append("IDF_PATH is not set (install ESP-IDF 5.x and source its export.sh)")
        if shutil.which("idf.py") is None:
            missing.append("idf.py is not on PATH (source $IDF_PATH/export.sh)")
    return missing


def sdk_build_steps(kind: str, root: Path, out: Path, board: Board) -> list[list[str]]:
    """The SDK's commands for a build into `out`: CMake (+ Ninja when installed) for the Pico SDK;
    idf.py for ESP-IDF, with set-target only when the build folder is new or for another chip
    (set-target wipes the build and sdkconfig, so repeating it makes every build a full one)."""
    if kind == "pico-sdk":
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        return [["cmake", "-S", str(root), "-B", str(out), *generator, "-DCMAKE_BUILD_TYPE=Release"],
                ["cmake", "--build", str(out), "-j2"]]
    idf = ["idf.py", "-C", str(root), "-B", str(out)]
    steps = [] if idf_target(out) == board.name else [[*idf, "set-target", board.name]]
    return steps + [[*idf, "build"]]


def idf_target(out: Path) -> str | None:
    """The chip an ESP-IDF build folder is configured for (its sdkconfig), or None."""
    for config in (out / "sdkconfig", out.parent.parent / "sdkconfig"):
        if config.is_file():
            for line in config.read_text(errors="replace").splitlines():
                if line.startswith("CONFIG_IDF_TARGET="):
                    return line.split("=", 1)[1].strip().strip('"')
    return None


def build_with_sdk(kind: str, root: Path, board: Board, name: str) -> SizeReport:
    """Run the SDK's build into build/<board>/, showing progress, the whole output in build/<board>/build.log;
    report the ELF's sections."""
    from tinyq.build.stream import run_steps

    missing = missing_for_sdk(kind)
    if missing:
        raise TinyqError(f"cannot build the {kind} project: {'; '.join(missing)}", where=str(root))
    out = root / "build" / board.name
    run_steps(sdk_build_steps(kind, root, out, board), root, out / "build.log", f"{kind} build")
    elf = out / f"tinyq_{name}.elf"
    if not elf.is_file():
        raise TinyqError(f"the {kind} build produced no {elf.name}", where=str(out))
    return size_report(elf, board)
