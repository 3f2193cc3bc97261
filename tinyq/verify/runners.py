"""Where generated code runs for verify: the host, QEMU, or a device on a serial port.

A runner takes the compiled model and input records and returns what the generated
code computed (and, on the host, every intermediate tensor it traced); the driver
(tinyq/verify/core.py) compares that with TFLM. Each runner adds what only it can
measure (QEMU: instructions per inference and the image's sizes).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tinyq.boards import Board
from tinyq.codegen import write_output_dir
from tinyq.driver import Compiled
from tinyq.ir import DTYPES, Graph
from tinyq.verify.compare import split_outputs


@dataclass(frozen=True)
class RunResult:
    outputs: list[list[np.ndarray] | None]  # per record, per graph output; None: the invoke ended early (-1)
    traces: list[dict[int, bytes]] | None = None  # per record: tensor -> bytes (host, layer by layer)
    details: dict[str, Any] = field(default_factory=dict)  # what the runner measured


class Runner(Protocol):
    name: str

    def run(self, compiled: Compiled, inputs: list[list[np.ndarray]], layers: bool = False) -> RunResult: ...


def output_specs(graph: Graph) -> list[tuple[tuple[int, ...], Any]]:
    return [(graph.tensors[i].shape or (1,), DTYPES[graph.tensors[i].dtype][0]) for i in graph.outputs]


@dataclass
class HostRunner:
    """The generated C compiled with the host compiler, one process for all records."""

    board: Board
    work_dir: Path | None = None
    name: str = "host"

    def run(self, compiled: Compiled, inputs, layers: bool = False) -> RunResult:
        from tinyq.build.host import build_host
        from tinyq.progress import Progress
        from tinyq.run.host import run_host

        with tempfile.TemporaryDirectory(prefix="tinyq-verify-") as tmp:
            build_dir = write_output_dir(Path(self.work_dir or tmp) / "host", compiled.source.files)
            exe = build_host(build_dir, compiled.source, self.board, trace=layers)
            # one process takes every record: the bar moves once, its clock shows the run is alive
            with Progress("inputs on the host", total=len(inputs)) as bar:
                outputs, traces = run_host(exe.path, inputs, output_specs(compiled.graph), trace=layers)
                bar.update(len(inputs))
        return RunResult(outputs=outputs, traces=traces)


@dataclass
class QemuRunner:
    """The board's bare-metal firmware, built with arm-none-eabi-gcc and booted in QEMU."""

    board: Board  # a QEMU board (qemu_board_for picks the stand-in)
    timeout: float | None = None
    work_dir: Path | None = None
    name: str = "qemu"

    def run(self, compiled: Compiled, inputs, layers: bool = False) -> RunResult:
        from tinyq.build.arm import build_firmware
        from tinyq.build.toolchain import cpu_flags
        from tinyq.build.firmware import project_files
        from tinyq.errors import TinyqError
        from tinyq.run.qemu import require_qemu, run_qemu

        if layers:
            raise TinyqError("--layers compares intermediate tensors on the host only", hint="use --board host")
        require_qemu(self.board)
        with tempfile.TemporaryDirectory(prefix="tinyq-fw-") as tmp:
            root = write_output_dir(Path(self.work_dir or tmp) / self.board.name,
                                    project_files(compiled, self.board, cpu_flags(self.board)))
            image = build_firmware(root, self.board)
            run = run_qemu(image.elf, self.board, inputs, output_specs(compiled.graph), timeout=self.timeout)
        return RunResult(outputs=run.outputs, details={"qemu": run, "sizes": image.sizes})


@dataclass
class SerialRunner:
    """A device (or `tinyq qemu --serial`) running tinyq's benchmark firmware for this model."""

    port: str
    baud: int = 115200
    timeout: float = 10.0
    name: str = "serial"

    def run(self, compiled: Compiled, inputs, layers: bool = False) -> RunResult:
        from tinyq.errors import TinyqError
        from tinyq.progress import Progress
        from tinyq.serial.dut import Dut
        from tinyq.serial.link import Link

        if layers:
            raise TinyqError("--layers compares intermediate tensors on the host only", hint="use --board host")
        graph = compiled.graph
        out_bytes = sum(graph.tensors[i].nbytes for i in graph.outputs)
        outputs, ticks = [], []
        with Link(self.port, baud=self.baud, timeout=self.timeout) as link:
            link.sync()
            dut = Dut(link)
            info = dut.info()
            dut.check_model(info, Path(compiled.source.name + ".tflite"),
                            hashlib.sha256(compiled.model).hexdigest()[:16])
            with Progress(f"inputs on {self.port}", total=len(inputs)) as progress:
                for record in inputs:
                    dut.load(b"".join(np.ascontiguousarray(a).tobytes() for a in record))
                    timed = dut.timed_runs(1, 0, out_bytes, self.timeout, may_end_early=True)
                    ticks.append(timed.ticks[0])
                    outputs.append(None if timed.ended_early else split_outputs(graph, timed.outputs))
                    progress.update(len(outputs))
        return RunResult(outputs=outputs, details={"device": info, "ticks": tuple(ticks)})
