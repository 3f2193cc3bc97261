"""Running firmware under QEMU: boot, feed input records, collect outputs and timing.

The firmware's console is the board's UART on QEMU's stdio. Input records go
through a file read with semihosting (the harness's "f" batch command): QEMU
hands every received UART byte from its I/O thread to the CPU thread, and on a
busy machine that costs milliseconds per byte, while one semihosting read of a
whole record costs nothing. Outputs come back as "r" lines on the UART.

QEMU runs with -icount shift=N, so its virtual clock advances 2**N ns per
instruction; the harness's tick counts therefore convert to exact-to-a-tick
instruction counts (QEMU is not cycle-accurate: instructions, not time).
QEMU is always killed when the run ends, fails or times out, and dies with tinyq
(tinyq.proc) even when tinyq itself is killed.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq import proc as child
from tinyq.boards import Board, get_board
from tinyq.errors import TinyqError
from tinyq.progress import Progress

RECORDS_FILE = "tinyq-records.bin"  # the name firmware/tq_records_semihost.c opens
QEMU = "qemu-system-arm"
CONSOLE_TAIL = 6  # console lines quoted in errors
ENDED_EARLY = (1 << 32) - 1  # invoke's -1 as the harness prints it (uint32): a CIRCULAR_BUFFER between its runs


@dataclass(frozen=True)
class QemuRun:
    outputs: list[list[np.ndarray] | None]  # per record, per graph output; None: the invoke ended early
    ticks: tuple[int, ...]  # harness timer ticks per inference
    instructions: tuple[int, ...]  # the same, converted with the board's tick rate and icount shift
    wall_seconds: float
    console: tuple[str, ...]
    stack_used: int = 0  # the firmware's stack high-water mark, bytes (0 when not measured)


def require_qemu(board: Board) -> str:
    if board.qemu is None:
        stand_in = f" (its QEMU stand-in is {board.qemu_stand_in})" if board.qemu_stand_in else ""
        raise TinyqError("board is not a QEMU machine", where=f"board {board.name}",
                         hint=f"use a qemu-* board{stand_in}; `tinyq boards` lists them")
    path = shutil.which(QEMU)
    if path is None:
        raise TinyqError(f"{QEMU} not found", hint="install QEMU (Debian: apt-get install qemu-system-arm)")
    return path


def qemu_command(board: Board, elf: Path, trace: Path | None = None) -> list[str]:
    """`trace`: log every executed instruction's address there (one translation block per instruction,
    unchained, so each execution is a line; read by tinyq/bench/cycles.py)."""
    q = board.qemu
    traced = ["-singlestep", "-d", "exec,nochain", "-D", str(trace)] if trace else []
    return [QEMU, "-M", q.machine, "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-icount", f"shift={q.icount_shift},sleep=off", "-semihosting-config", "enable=on,target=native",
            *traced, "-kernel", str(elf)]


def instructions_per_tick(board: Board) -> float:
    return 1e9 / board.firmware.tick_hz / (1 << board.qemu.icount_shift)


def _reader(stream, lines: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("ascii", errors="replace").rstrip("\r\n"))
    lines.put(None)


class _Session:
    """One QEMU process and its console, killed on exit whatever happens."""

    def __init__(self, board: Board, elf: Path, cwd: Path, trace: Path | None = None):
        self.board = board
        self.proc = child.popen(qemu_command(board, elf, trace), cwd=cwd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.console: list[str] = []
        threading.Thread(target=_reader, args=(self.proc.stdout, self.lines), daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        child.stop(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()

    def send(self, text: str) -> None:
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def fail(self, what: str) -> TinyqError:
        child.stop(self.proc)
        stderr = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
        tail = [ln for ln in self.console if ln.strip()][-CONSOLE_TAIL:]
        detail = "; ".join(tail) if tail else "no console output"
        if stderr:
            detail += f"; qemu: {stderr[-1][:200]}"
        return TinyqError(f"{what}; last console lines: {detail}", where=f"QEMU {self.board.qemu.machine}")

    def next_line(self, deadline: float, waiting_for: str) -> str:
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise self.fail(f"guest hung: no {waiting_for} before the timeout") from None
        if line is None:
            raise self.fail(f"QEMU exited (status {self.proc.wait()}) before {waiting_for}")
        self.console.append(line)
        if line.startswith("tinyq-fault"):
            raise self.fail(f"guest crashed ({line})")
        return line


def run_qemu(elf: Path, board: Board, inputs: list[list[np.ndarray]],
             output_specs: list[tuple[tuple[int, ...], np.dtype]], timeout: float | None = None,
             trace: Path | None = None) -> QemuRun:
    """Boot `elf` on `board`'s QEMU machine and run every input record through the model once
    (`trace`: a file for QEMU's per-instruction log, see qemu_command)."""
    require_qemu(board)
    if timeout is None:
        timeout = 60.0 + 5.0 * len(inputs)
    out_bytes = [int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize for shape, dt in output_specs]
    start = time.monotonic()
    deadline = start + timeout
    with tempfile.TemporaryDirectory(prefix="tinyq-qemu-") as tmp:
        (Path(tmp) / RECORDS_FILE).write_bytes(
            b"".join(np.ascontiguousarray(a).tobytes() for record in inputs for a in record))
        with _Session(board, Path(elf).resolve(), Path(tmp), trace) as session, \
                Progress(f"inputs in QEMU {board.qemu.machine}", total=len(inputs)) as progress:
            while not session.next_line(deadline, "ready line").startswith("tinyq-ready"):
                pass
            session.send("f\n")
            records = []
            while True:
                line = session.next_line(deadline, f"result {len(records) + 1} of {len(inputs)}")
                if line.startswith("r "):
                    records.append(_parse_result(line, sum(out_bytes), session))
                    progress.update(len(records))
                elif line.startswith("d "):
                    done = line
                    break
                elif line.startswith("e "):
                    raise session.fail(f"firmware rejected the batch: {line[2:]}")
            if len(records) != len(inputs):
                raise session.fail(f"firmware ran {len(records)} records, expected {len(inputs)}")
            console = tuple(session.console)
    outputs = []
    for status, _, raw in records:
        if status == ENDED_EARLY:  # TFLM's kTfLiteAbort: the state moved on, the outputs were not written
            outputs.append(None)
            continue
        pos, record = 0, []
        for (shape, dtype), n in zip(output_specs, out_bytes):
            record.append(np.frombuffer(raw[pos:pos + n], dtype=dtype).reshape(shape))
            pos += n
        outputs.append(record)
    per_tick = instructions_per_tick(board)
    ticks = tuple(t for _, t, _ in records)
    stack = re.search(r"stack=(\d+)", done)
    return QemuRun(outputs=outputs, ticks=ticks, instructions=tuple(round(t * per_tick) for t in ticks),
                   wall_seconds=time.monotonic() - start, console=console, stack_used=int(stack[1]) if stack else 0)


def _parse_result(line: str, expected_bytes: int, session: _Session) -> tuple[int, int, bytes]:
    try:
        _, status, ticks, payload = line.split(" ", 3)
        raw = bytes.fromhex(payload)
    except ValueError:
        raise session.fail(f"malformed result line '{line[:60]}'") from None
    if int(status) not in (0, ENDED_EARLY):
        raise session.fail(f"the model's invoke returned {status}")
    if len(raw) != expected_bytes:
        raise session.fail(f"result has {len(raw)} output bytes, expected {expected_bytes}")
    return int(status), int(ticks), raw


def qemu_board_for(board: Board) -> Board:
    """`board` itself when QEMU emulates it, else the QEMU stand-in that runs its ISA."""
    if board.qemu is not None:
        return board
    if board.qemu_stand_in:
        return get_board(board.qemu_stand_in)
    raise TinyqError("no QEMU machine runs this board's code", where=f"board {board.name}",
                     hint="choose a qemu-* board; `tinyq boards` lists them")
