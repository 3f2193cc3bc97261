"""Benchmark firmware in QEMU with its UART on a local TCP port (or a pty).

`tinyq qemu DIR --serial tcp:PORT` boots build/<board>-dut/firmware.elf and
leaves the UART at socket://127.0.0.1:PORT, where `tinyq bench` or any serial
client (the MLPerf Tiny runner through a pty) talks to it like to a board.
QEMU runs with -icount, so the firmware's tick counts are instruction counts.
It listens on 127.0.0.1 only; QEMU drops UART output while no client is
connected, so clients start with a command, not by waiting for the banner.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc as child
from tinyq.boards import Board
from tinyq.errors import TinyqError

HOST = "127.0.0.1"
PTY_LINE = re.compile(r"char device redirected to (\S+)")
START_TIMEOUT_S = 15.0
FREE_PORT_ATTEMPTS = 5


@dataclass(frozen=True)
class SerialSpec:
    kind: str  # "tcp" or "pty"
    port: int = 0


def parse_serial(text: str) -> SerialSpec:
    """`tcp:PORT` (also `tcp::PORT`, `tcp:127.0.0.1:PORT`; port 0: a free one) or `pty`."""
    if text == "pty":
        return SerialSpec("pty")
    m = re.fullmatch(r"tcp:(?:(?:127\.0\.0\.1|localhost)?:)?([0-9]{1,5})", text)
    if not m or not 0 <= int(m.group(1)) < 65536:
        raise TinyqError(f"bad --serial '{text}'", hint="tcp:PORT (a local TCP port, 1-65535, or 0: any free one) "
                         "or pty")
    return SerialSpec("tcp", int(m.group(1)))


def qemu_serial_command(board: Board, elf: Path, spec: SerialSpec) -> list[str]:
    from tinyq.run.qemu import QEMU

    q = board.qemu
    serial = f"tcp:{HOST}:{spec.port},server=on,wait=off" if spec.kind == "tcp" else "pty"
    return [QEMU, "-M", q.machine, "-display", "none", "-monitor", "none", "-serial", serial,
            "-icount", f"shift={q.icount_shift},sleep=off", "-kernel", str(elf)]


class QemuSerial:
    """A QEMU process serving the firmware's UART; killed on exit, whatever happens, and with tinyq
    even when tinyq is killed (tinyq.proc)."""

    def __init__(self, board: Board, elf: Path, spec: SerialSpec):
        from tinyq.run.qemu import require_qemu

        require_qemu(board)
        self.board = board
        # tcp:0: a port free now; another program may take it before QEMU binds, so try a few
        attempts = FREE_PORT_ATTEMPTS if spec.kind == "tcp" and spec.port == 0 else 1
        for attempt in range(attempts):
            self.spec = SerialSpec("tcp", free_port()) if attempts > 1 else spec
            self.command = qemu_serial_command(board, Path(elf).resolve(), self.spec)
            self.proc = child.popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            try:
                self.url = self._wait_until_serving()
                return
            except TinyqError as exc:
                self.stop()
                if attempt + 1 == attempts or "is busy" not in str(exc):
                    raise
            except BaseException:
                self.stop()
                raise

    def _wait_until_serving(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        if self.spec.kind == "pty":
            # QEMU names the pty on its first line of output.
            line = self.proc.stdout.readline()
            m = PTY_LINE.search(line or "")
            if not m:
                raise self._failed(line)
            return m.group(1)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._failed(self.proc.stdout.read())
            if _listening(self.spec.port):
                return f"socket://{HOST}:{self.spec.port}"
            time.sleep(0.05)
        raise TinyqError(f"QEMU did not open port {self.spec.port} within {START_TIMEOUT_S:g} s",
                         where=f"QEMU {self.board.qemu.machine}")

    def _failed(self, output: str | None) -> TinyqError:
        self.stop()
        text = " ".join((output or "").split())
        if "in use" in text or "Failed to bind" in text:
            return TinyqError(f"port {self.spec.port} is busy", where=f"{HOST}:{self.spec.port}",
                              hint="choose another --serial tcp:PORT")
        return TinyqError(f"QEMU exited: {text[:200] or 'no output'}", where=f"QEMU {self.board.qemu.machine}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        child.stop(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _listening(port: int) -> bool:
    """Whether something accepts connections on the port (QEMU then re-listens for the real client)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def serve(elf: Path, board: Board, spec: SerialSpec, timeout: float | None, echo, on_url=None) -> int:
    """`tinyq qemu`: run until QEMU exits, `timeout` seconds pass, Ctrl-C or SIGTERM. Returns an exit code.
    `on_url(url)` hears where the UART is as soon as QEMU serves it (tcp:0 chose the port)."""
    # `kill PID` and Ctrl-C must stop QEMU too. The handler only records the signal: an exception
    # raised from it could land inside subprocess's poll and leave its lock held, hanging stop().
    stopped_by: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stopped_by.append(signum))
    with QemuSerial(board, elf, spec) as q:
        if on_url is not None:
            on_url(q.url)
        echo(f"serving {Path(elf).name} ({board.name}, QEMU {board.qemu.machine}) on {q.url}")
        echo(f"  e.g. tinyq bench --port {q.url} --model DIR   (Ctrl-C stops QEMU)")
        deadline = None if timeout is None else time.monotonic() + timeout
        while q.alive() and not stopped_by:
            if deadline is not None and time.monotonic() > deadline:
                echo(f"stopped after {timeout:g} s (--timeout)")
                return 0
            time.sleep(0.2)
        if stopped_by:
            echo(f"stopped by {signal.Signals(stopped_by[0]).name}")
            return 128 + stopped_by[0]
        return 1
