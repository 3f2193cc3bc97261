"""verify(compiled, runner): the one driver that runs generated code and compares it with TFLM.

The inputs are made once (edge cases, then random records); the runner runs the
generated code on them (host, QEMU or a serial device); TFLM runs the user's
original model file on the same inputs; the bytes must be equal. `tinyq verify`,
`tinyq run`, the benchmarks and the tests all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board, get_board
from tinyq.build.elf import SizeReport
from tinyq.driver import Compiled
from tinyq.errors import TinyqError
from tinyq.verify.compare import VerifyResult, compare_outputs, compare_traces, summarize
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner, QemuRunner, RunResult, Runner


@dataclass(frozen=True)
class Verification:
    result: VerifyResult
    run: RunResult


def verify(compiled: Compiled, runner: Runner, n_inputs: int = 100, seed: int = 0,
           layers: bool = False) -> Verification:
    from tinyq.progress import Progress

    inputs = make_inputs(compiled.graph, n_inputs, seed)
    run = runner.run(compiled, inputs, layers)
    with Progress("inputs under TFLM", total=len(inputs)) as bar:  # TFLM's Python interpreter: the long half
        if layers:
            producer = {t: pos for pos, k in enumerate(compiled.lowered.ops) for t in k.outputs}
            result = compare_traces(compiled.model, compiled.graph, producer, inputs, run.traces, run.outputs,
                                    progress=bar.update)
        else:
            result = compare_outputs(compiled.model, compiled.graph, inputs, run.outputs, progress=bar.update)
    return Verification(result, run)


def verify_host(compiled: Compiled, board: Board, n_inputs: int = 100, layers: bool = False,
                seed: int = 0, work_dir: Path | None = None) -> VerifyResult:
    return verify(compiled, HostRunner(board, work_dir), n_inputs, seed, layers).result


# --- QEMU: the report the firmware commands print ----------------------------------------------


@dataclass(frozen=True)
class QemuReport:
    model: str
    board: str
    machine: str
    stand_in_for: str
    result: VerifyResult
    run: object  # tinyq.run.qemu.QemuRun
    sizes: SizeReport
    arena_bytes: int

    @property
    def ok(self) -> bool:
        return self.result.ok

    def summary(self) -> dict:
        # an invoke a CIRCULAR_BUFFER ended early (outputs None) is no inference, unless all were
        ins = sorted(n for n, out in zip(self.run.instructions, self.run.outputs) if out is not None)
        ins = ins or sorted(self.run.instructions)
        return {
            "model": self.model, "board": self.board, "qemu_machine": self.machine,
            "stand_in_for": self.stand_in_for, "inputs": self.result.records, "bit_exact": self.result.ok,
            "mismatching_inputs": len({m.record for m in self.result.mismatches}),
            "instructions_per_inference": {"min": ins[0], "median": ins[len(ins) // 2], "max": ins[-1]},
            "flash_bytes": self.sizes.flash_bytes, "sram_bytes": self.sizes.ram_bytes,
            "arena_bytes": self.sizes.ram_of(".tq_arena"), "stack_bytes": self.sizes.ram_of(".stack"),
            "stack_used_bytes": self.run.stack_used,
            "static_bytes": self.sizes.ram_of(".data", ".bss"), "wall_seconds": round(self.run.wall_seconds, 2),
        }


def _qemu_report(name: str, board: Board, verification: Verification) -> QemuReport:
    run, sizes = verification.run.details["qemu"], verification.run.details["sizes"]
    return QemuReport(model=name, board=board.name, machine=board.qemu.machine, stand_in_for=board.stand_in_for,
                      result=verification.result, run=run, sizes=sizes, arena_bytes=sizes.ram_of(".tq_arena"))


def verify_qemu(compiled: Compiled, board: Board, n_inputs: int = 20, seed: int = 0, timeout: float | None = None,
                work_dir: Path | None = None) -> QemuReport:
    """Build `compiled` into firmware for `board` (or its QEMU stand-in), run it and compare with TFLM."""
    from tinyq.run.qemu import qemu_board_for

    board = qemu_board_for(board)
    verification = verify(compiled, QemuRunner(board, timeout, work_dir), n_inputs, seed)
    return _qemu_report(compiled.source.name, board, verification)


# SDK projects whose model sources (model/) and harness binding (firmware/tq_model.h) also build bare metal.
SDK_ON_QEMU = ("pico-sdk",)


def run_project(root: Path, board: Board | None, n_inputs: int = 20, seed: int = 0,
                timeout: float | None = None) -> QemuReport:
    """`tinyq run DIR --qemu`: (re)build the project's own sources for the QEMU board (an SDK project's
    model sources with the bare-metal harness of its board's QEMU stand-in) and verify them against
    TFLM running the project's copy of the model."""
    from tinyq.build.arm import build_firmware
    from tinyq.build.project import load_project
    from tinyq.run.qemu import qemu_board_for, require_qemu, run_qemu
    from tinyq.tflite.reader import read_model_file
    from tinyq.verify.runners import output_specs

    project = load_project(root)
    board = qemu_board_for(board or get_board(project.board))
    require_qemu(board)
    image = build_firmware(project.root, board) if project.kind == "firmware" else _build_sdk_model(project, board)
    graph = read_model_file(project.model_path)  # its inputs and outputs are the generated code's
    inputs = make_inputs(graph, n_inputs, seed)
    run = run_qemu(image.elf, board, inputs, output_specs(graph), timeout=timeout)
    result = compare_outputs(project.model_path.read_bytes(), graph, inputs, run.outputs)
    return _qemu_report(project.name, board, Verification(result, RunResult(
        outputs=run.outputs, details={"qemu": run, "sizes": image.sizes})))


def _build_sdk_model(project, board: Board):
    """An SDK project's own model sources linked with the bare-metal harness of `board` (its board's QEMU
    stand-in): the code the SDK build compiles, booted in QEMU."""
    from tinyq.build.arm import FirmwareImage, _model_sources, link_firmware
    from tinyq.build.elf import size_report
    from tinyq.build.firmware import FIRMWARE_SRC, harness_sources
    from tinyq.build.toolchain import board_cflags

    if project.kind not in SDK_ON_QEMU:
        raise TinyqError(f"a {project.kind} project has no firmware to boot in QEMU", where=str(project.root),
                         hint=f"tinyq generate {project.model_path} -o DIR --board {board.name}")
    if not (project.root / "firmware" / "tq_model.h").is_file():
        raise TinyqError("the project lacks firmware/tq_model.h (made by an older tinyq?)", where=str(project.root),
                         hint=f"regenerate it: tinyq generate {project.model_path} -o DIR --board {project.board}")
    sources = _model_sources(project.root) + [FIRMWARE_SRC / name for name in harness_sources(board)]
    # tinyq's harness headers first; the project's firmware/ adds the model binding (tq_model.h)
    elf = link_firmware(project.root, board, sources, project.root / "build" / board.name,
                        [FIRMWARE_SRC, project.root / "firmware"], f"{board.name} firmware build")
    return FirmwareImage(elf=elf, board=board.name, cflags=board_cflags(board), sizes=size_report(elf, board))


def format_report(report: QemuReport, graph) -> str:
    s = report.summary()
    ins = s["instructions_per_inference"]
    stand_in = f", stand-in for {report.stand_in_for}" if report.stand_in_for else ""
    return "\n".join([
        f"{report.model} on {report.board} (QEMU {report.machine}{stand_in}), {s['inputs']} inputs, "
        f"{s['wall_seconds']:.1f} s",
        summarize(report.result, graph),
        f"instructions per inference: {ins['median']:,} (min {ins['min']:,}, max {ins['max']:,})",
        f"flash {s['flash_bytes']:,} B, SRAM {s['sram_bytes']:,} B (arena {s['arena_bytes']:,}, "
        f"stack {s['stack_bytes']:,} of which {s['stack_used_bytes']:,} used, static {s['static_bytes']:,})",
    ])
