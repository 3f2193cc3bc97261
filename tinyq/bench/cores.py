"""One core against two: each core's instructions on the critical path of one inference.

QEMU runs a machine's cores in turn on one virtual clock (under -icount), so the firmware's
tick counter counts both cores' instructions, never the time two real cores would take.
This bench counts each core separately instead, from QEMU's per-instruction log
(`-singlestep -d exec,nochain`: one `Trace <cpu>: ... [<cs_base>/<pc>/...]` line per
executed instruction), read from a pipe as QEMU writes it:

- the inference is core 0's instructions from the entry of `tinyq_<name>_invoke_v` to the
  harness's next `tq_timer_ticks` call;
- a split op (tinyq/plan/cores.py) is, on core 0, its instructions from `tq_cores_fork`
  to `tq_cores_join`, and on core 1 the job it ran between two waits;
- waiting is left out on both cores (`tq_cores_join`, `tq_cores_core1_wait`: the spin
  loops and their few instructions around), and so is core 1's start-up;
- critical path = core 0's instructions outside split ops + the sum over split ops of
  the larger of the two cores' parts: the instructions of a machine whose two cores run
  one instruction per cycle each and hand work over in no time.

That is instructions, not cycles: a real core also waits on memory and on the other core's
wake-up (tens of cycles per handover on an RP2040's SIO FIFO).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board
from tinyq.errors import TinyqError

FORK, JOIN, CORE1_WAIT, TICKS = "tq_cores_fork", "tq_cores_join", "tq_cores_core1_wait", "tq_timer_ticks"
_PLAIN, _JOIN, _WAIT1, _FORK, _INVOKE, _TICKS = range(6)


@dataclass(frozen=True)
class CoreCounts:
    """One inference's instructions, per core, from the trace."""

    core0: int  # core 0's instructions in the inference, waiting left out
    core1: int  # core 1's job instructions
    critical_path: int
    splits: int  # split ops run (each a fork and a join)
    core0_parts: tuple[int, ...] = ()  # core 0's instructions in each split op
    core1_parts: tuple[int, ...] = ()  # core 1's in each


def symbols(elf: Path) -> dict[str, tuple[int, int]]:
    """Function name -> (start address, size) of an ELF's symbol table (Thumb bit cleared)."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        if table is None:
            raise TinyqError("the image has no symbol table", where=str(elf), hint="build without -s")
        return {s.name: (s["st_value"] & ~1, s["st_size"]) for s in table.iter_symbols()
                if s["st_info"]["type"] == "STT_FUNC"}


class TraceCounter:
    """Counts a two-core trace's lines as they arrive (see the module doc)."""

    def __init__(self, syms: dict[str, tuple[int, int]], invoke: str):
        missing = [n for n in (invoke, TICKS) if n not in syms]
        if missing:
            raise TinyqError(f"no function {', '.join(missing)} in the image", where="bench cores")
        self._ranges = [(syms[name], kind) for name, kind in ((JOIN, _JOIN), (CORE1_WAIT, _WAIT1)) if name in syms]
        self._entries = {syms[name][0]: kind for name, kind in ((FORK, _FORK), (invoke, _INVOKE), (TICKS, _TICKS))
                         if name in syms}
        self._kinds: dict[bytes, int] = {}
        self.state = "before"  # "before", "in", "after" the inference (core 0)
        self.sequential = 0
        self.part0: int | None = None  # core 0's count in the current split op
        self.parts0: list[int] = []
        self.job: int | None = None  # core 1's count in the current job
        self.parts1: list[int] = []
        self.core1_waited = False

    def _kind(self, pc_text: bytes) -> int:
        kind = self._kinds.get(pc_text)
        if kind is None:
            pc = int(pc_text, 16)
            kind = self._entries.get(pc, _PLAIN)
            for (start, size), k in self._ranges:
                if start <= pc < start + max(size, 2):
                    kind = k
            self._kinds[pc_text] = kind
        return kind

    def feed(self, line: bytes) -> None:
        if not line.startswith(b"Trace "):
            return
        cpu = line[6:line.index(b":", 6)]
        pc_text = line.split(b"[", 1)[1].split(b"/", 2)[1]
        kind = self._kind(pc_text)
        if cpu == b"0":
            self._core0(kind)
        else:
            self._core1(kind)

    def _core0(self, kind: int) -> None:
        if self.state == "before":
            if kind != _INVOKE:
                return
            self.state = "in"
        elif self.state == "after":
            return
        if kind == _TICKS:
            self.state = "after"
        elif kind == _JOIN:
            if self.part0 is not None:
                self.parts0.append(self.part0)
                self.part0 = None
        elif kind == _FORK or self.part0 is not None:
            self.part0 = (self.part0 or 0) + 1
        else:
            self.sequential += 1

    def _core1(self, kind: int) -> None:
        if kind == _WAIT1:
            if self.job is not None:
                self.parts1.append(self.job)
                self.job = None
            self.core1_waited = True
        elif self.core1_waited:  # after its first wait: a job (its start-up is left out)
            self.job = (self.job or 0) + 1

    def result(self) -> CoreCounts:
        if self.state != "after":
            raise TinyqError("the trace holds no whole inference", where="bench cores",
                             hint="the firmware stopped before the inference ended")
        parts1 = self.parts1 + ([self.job] if self.job else [])
        if len(parts1) != len(self.parts0):
            raise TinyqError(f"core 0 forked {len(self.parts0)} jobs, core 1 ran {len(parts1)}", where="bench cores",
                             hint="run one inference per trace")
        critical = self.sequential + sum(max(a, b) for a, b in zip(self.parts0, parts1))
        return CoreCounts(core0=self.sequential + sum(self.parts0), core1=sum(parts1), critical_path=critical,
                          splits=len(parts1), core0_parts=tuple(self.parts0), core1_parts=tuple(parts1))


def _drain(fifo: Path, counter: TraceCounter, errors: list) -> None:
    try:
        with open(fifo, "rb", buffering=1 << 20) as lines:
            for line in lines:
                counter.feed(line)
    except Exception as exc:  # reported by trace_run once QEMU has ended
        errors.append(exc)


def trace_run(elf: Path, board: Board, record: list, output_specs, invoke: str, timeout: float):
    """Run one input record on `board`'s QEMU machine with the instruction log on: (the run, its counts)."""
    from tinyq.run.qemu import run_qemu

    counter = TraceCounter(symbols(elf), invoke)
    with tempfile.TemporaryDirectory(prefix="tinyq-cores-") as tmp:
        fifo = Path(tmp) / "trace.fifo"
        os.mkfifo(fifo)
        errors: list = []
        reader = threading.Thread(target=_drain, args=(fifo, counter, errors), daemon=True)
        reader.start()
        try:
            run = run_qemu(elf, board, [record], output_specs, timeout=timeout, trace=fifo)
        finally:
            if reader.is_alive():  # QEMU never opened the log (it failed early): end the reader's wait
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            reader.join(timeout=60)
        if errors:
            raise TinyqError(f"reading QEMU's trace failed ({errors[0]})", where="bench cores")
    return run, counter.result()


def one_core(board: Board) -> Board:
    """The same machine with the model on core 0 alone (core 1 stays in reset)."""
    return dataclasses.replace(board, extra={**board.extra, "cores": 1})


@dataclass(frozen=True)
class CoresRow:
    model: str
    board: str
    backend: str
    one_core: int  # instructions of one inference on core 0 alone (the one-core build)
    core0: int
    core1: int
    critical_path: int
    splits: int
    arena_one: int  # arena bytes of the one-core build
    arena_two: int  # and of the two-core build (split ops never write over their input)
    inputs: int  # records compared with TFLM (both builds)
    bit_exact: bool
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.one_core / self.critical_path if self.critical_path else 0.0


def _image(compiled, board: Board, work_dir: Path):
    from tinyq.build.arm import build_firmware
    from tinyq.build.firmware import project_files
    from tinyq.build.toolchain import cpu_flags
    from tinyq.codegen.output import write_output_dir

    root = write_output_dir(work_dir, project_files(compiled, board, cpu_flags(board)))
    return build_firmware(root, board)


def bench_model(model: Path, board: Board, n_inputs: int, seed: int, work_dir: Path,
                timeout: float = 3600.0, backend: str | None = None) -> CoresRow:
    """One model on `board` (a two-core QEMU machine): the one-core and the two-core build."""
    from tinyq.driver import compile_file
    from tinyq.run.qemu import run_qemu
    from tinyq.verify.compare import compare_outputs
    from tinyq.verify.inputs import make_inputs
    from tinyq.verify.runners import output_specs

    counts, arenas, exact = {}, {}, True
    for cores, target in ((1, one_core(board)), (2, board)):
        compiled = compile_file(model, target, backend)
        specs = output_specs(compiled.graph)
        image = _image(compiled, target, work_dir / f"{cores}core")
        inputs = make_inputs(compiled.graph, n_inputs, seed)
        run = run_qemu(image.elf, target, inputs, specs)
        exact &= compare_outputs(compiled.model, compiled.graph, inputs, run.outputs).ok
        traced, counts[cores] = trace_run(image.elf, target, inputs[-1], specs,
                                          f"tinyq_{compiled.source.name}_invoke_v", timeout)
        exact &= compare_outputs(compiled.model, compiled.graph, inputs[-1:], traced.outputs).ok
        arenas[cores] = compiled.plan.arena_bytes
    two = counts[2]
    return CoresRow(model=model.stem, board=board.name, backend=backend or board.default_backend, one_core=counts[1].critical_path, core0=two.core0,
                    core1=two.core1, critical_path=two.critical_path, splits=two.splits, arena_one=arenas[1],
                    arena_two=arenas[2], inputs=n_inputs, bit_exact=exact)


def format_table(rows: list[CoresRow]) -> str:
    """A Markdown table off a terminal (docs/dual_core.md quotes it), a rich one on a terminal."""
    from tinyq.tables import table

    head = ("model", "board", "backend", "1 core", "core 0", "core 1", "2-core critical path", "speed-up", "split ops",
            "arena 1 / 2 cores", "bit-exact")
    cells = []
    for r in rows:
        if r.note:
            cells.append((r.model, r.board, r.backend, r.note))
            continue
        cells.append((r.model, r.board, r.backend, f"{r.one_core:,}", f"{r.core0:,}", f"{r.core1:,}",
                      f"{r.critical_path:,}", f"{r.speedup:.2f}x", str(r.splits), f"{r.arena_one:,} / {r.arena_two:,}",
                      f"{'yes' if r.bit_exact else 'NO'} ({r.inputs} inputs)"))
    lines = [table(head, cells, align="lll" + "r" * 7 + "l", plain="markdown")]
    lines.append("")
    lines.append("Instructions per inference, counted per core from QEMU's instruction log (waiting left out); "
                 "critical path = core 0 alone + the longer core's part of each split op; "
                 "speed-up = 1 core / critical path.")
    return "\n".join(lines)
