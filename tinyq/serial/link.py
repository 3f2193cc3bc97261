"""A line connection to a device under test, over any pyserial URL.

`/dev/ttyACM0`, `COM5`, `socket://127.0.0.1:5555` (QEMU, `tinyq qemu`), `rfc2217://...`:
whatever `serial.serial_for_url` opens. Replies are the DUT protocol's lines ("m-...",
"e-[...]", ending with "m-ready"); anything else is garbage, and `sync` gets back in
step by sending a command with a fresh marker and reading up to its echo, so stale or
torn lines from before are never taken for an answer.

Nothing waits for ever. Every exchange has two limits: silence (no byte for `silence`
seconds) and a deadline for the whole reply (`total` seconds), so a device that keeps
sending noise, a heartbeat or a log never holds a command up for longer than its
deadline; and a line longer than `max_line` bytes is garbage at once, not after megabytes.
A device that reboots shows it by its boot banner (or a bare "m-ready", or its name
unasked) in the middle of a reply: that is reported as a reset, by name.
"""

from __future__ import annotations

import itertools
import select
import socket
import time
import urllib.parse
from dataclasses import dataclass

import serial

from tinyq.errors import TinyqError

READY = "m-ready"
# What a device prints when it boots: the DUT banner (tinyq's firmware and MLPerf's reference) and
# the ESP32-S3 ROM's boot log. Noise before them on the same line is common right after a reset.
BOOT_LINES = ("m-timestamp-mode-performance", "m-init-done")
BOOT_MARKS = ("ESP-ROM:", "rst:0x")
NAME_PREFIX = "m-name-dut-["  # printed unasked, it is firmware that announces itself on boot
POLL_S = 0.05  # the longest one read waits: how often the limits are checked
MAX_LINE = 8192  # longest reply line (tinyq-infer's outputs line passes its own, from the output size)
READ_BYTES = 1 << 16
SOCKET_SCHEMES = ("socket", "rfc2217")
SOCKET_HINT = "socket://HOST:PORT, e.g. socket://127.0.0.1:5555 for tinyq qemu --serial tcp:5555"


class DeviceError(TinyqError):
    """The device answered with an error line ("e-[...]")."""


class GarbledReply(TinyqError):
    """A reply line that is not part of the protocol (noise, a torn line, wrong baud rate)."""


class DeviceReset(TinyqError):
    """The device rebooted in the middle of an exchange (it has lost the loaded input)."""


RESET_HINT = "power glitch, watchdog, crash, or DTR/RTS toggled by a program; check the supply and rerun"


def check_url(url: str) -> None:
    """A socket:// or rfc2217:// address must name a host that resolves and a port 1-65535."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in SOCKET_SCHEMES:
        return
    host, colon, port_text = parts.netloc.rpartition(":")
    if not colon or not port_text:
        raise TinyqError("no port in the address", where=url, hint=SOCKET_HINT)
    if not port_text.isdigit():
        raise TinyqError(f"the port '{port_text}' is not a number", where=url, hint=SOCKET_HINT)
    if not 0 < int(port_text) < 65536:
        raise TinyqError(f"port {port_text} is out of range (1-65535)", where=url, hint=SOCKET_HINT)
    if not parts.hostname:
        raise TinyqError("no host in the address", where=url, hint=SOCKET_HINT)
    try:
        socket.getaddrinfo(parts.hostname, int(port_text), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise TinyqError(f"unknown host '{parts.hostname}' ({reason})", where=url,
                         hint="check the name, or give an address such as 127.0.0.1") from None


def open_port(url: str, baud: int) -> serial.SerialBase:
    """Open `url`; a bad address and a missing, busy or refused port are one-line errors.

    socket:// ports are opened non-blocking: `Link` waits for them with select, because
    pyserial's `in_waiting` only says 0 or 1 for a socket."""
    check_url(url)
    is_socket = url.startswith("socket://")
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=0 if is_socket else POLL_S, write_timeout=10,
                                     exclusive=True, do_not_open=True)
        if is_socket:
            # pyserial's socket open() drains the input until the line is quiet, which a flooding
            # device never is: open() would sit there for the whole flood. Link.sync drops stale input.
            port.reset_input_buffer = lambda: None
        port.open()
        return port
    except (serial.SerialException, OSError, ValueError) as exc:
        raise _open_error(url, str(exc)) from None


def _open_error(url: str, text: str) -> TinyqError:
    low = text.lower()
    if urllib.parse.urlsplit(url).scheme in SOCKET_SCHEMES:
        if "refused" in low or "errno 111" in low:
            return TinyqError("nothing listens at this address", where=url,
                              hint="start the firmware first: tinyq qemu DIR --serial tcp:PORT")
        if "timed out" in low:
            return TinyqError("no answer from this address (connection timed out)", where=url,
                              hint="check the host and port, and that no firewall is in between")
    if "no such file" in low or "errno 2]" in low or "filenotfound" in low or "cannot find" in low:
        return TinyqError("no such serial port", where=url,
                          hint="plug the board in; `python -m serial.tools.list_ports` lists the ports")
    if "busy" in low or "lock" in low or "errno 16" in low or "access is denied" in low:
        return TinyqError("the port is busy: another program has it open", where=url,
                          hint="close serial monitors (screen, minicom, idf.py monitor) and retry")
    if "permission denied" in low or "errno 13" in low:
        return TinyqError("no permission to open the port", where=url,
                          hint="add yourself to the dialout group (sudo usermod -aG dialout $USER), log in again")
    return TinyqError(f"cannot open the port: {text.splitlines()[0][:200] if text else 'unknown error'}", where=url)


def _printable(line: str) -> bool:
    return all(" " <= c < "\x7f" for c in line)


def boot_line(line: str) -> bool:
    """Whether `line` is something a device prints only when it boots."""
    return any(line.endswith(b) for b in BOOT_LINES) or any(m in line for m in BOOT_MARKS)


@dataclass(frozen=True)
class Wait:
    """The limits of one exchange."""
    waiting_for: str  # "the reply to 'db load 490'"
    silence: float  # seconds without a byte
    deadline: float  # time.monotonic() by which the whole reply is in
    total: float  # the same, as seconds (for messages)
    max_line: int
    lines_before: int  # lines the link had read when the wait began


class Link:
    """Commands and their reply lines, every one with a deadline."""

    _markers = itertools.count(1)

    def __init__(self, url: str, baud: int = 115200, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self.port = open_port(url, baud)
        self._selectable = url.startswith("socket://")
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already searched for a line end
        self.transcript: list[str] = []  # recent lines, quoted in errors
        self.lines_read = 0

    def close(self) -> None:
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def wait(self, waiting_for: str, total: float | None = None, silence: float | None = None,
             max_line: int = MAX_LINE) -> Wait:
        total = self.timeout if total is None else total
        return Wait(waiting_for, total if silence is None else silence, time.monotonic() + total, total, max_line,
                    self.lines_read)

    # -- bytes and lines ---------------------------------------------------------------------

    def write(self, text: str) -> None:
        try:
            self.port.write(text.encode("ascii"))
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: Exception) -> TinyqError:
        return TinyqError(f"the connection dropped ({str(exc).splitlines()[0][:120]})", where=self.url,
                          hint="the board reset or was unplugged, or QEMU exited")

    def _read_chunk(self) -> bytes:
        """What has arrived, waiting at most POLL_S for the first byte."""
        try:
            if self._selectable:
                ready, _, _ = select.select([self.port.fileno()], [], [], POLL_S)
                return self.port.read(READ_BYTES) if ready else b""
            return self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self._lost(exc) from None

    def read_line(self, wait: Wait) -> str:
        """The next line, within the limits of `wait`; TinyqError when they run out."""
        last_byte = time.monotonic()
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                self._scanned = 0
                line = raw.decode("ascii", errors="replace").rstrip("\r")
                self.transcript = (self.transcript + [line])[-8:]
                self.lines_read += 1
                return line
            self._scanned = len(self._buffer)
            if len(self._buffer) > wait.max_line:
                size, partial = len(self._buffer), self._partial()
                self._buffer.clear()
                self._scanned = 0
                raise GarbledReply(f"{size} bytes without a line end while waiting for {wait.waiting_for} "
                                   f"(a reply line has at most {wait.max_line}; '{partial}')", where=self.url,
                                   hint="noise on the line or a wrong baud rate (--baud)")
            chunk = self._read_chunk()
            now = time.monotonic()
            if chunk:
                self._buffer += chunk
                last_byte = now
            elif now - last_byte > wait.silence:
                detail = f"; partial line '{self._partial()}'" if self._buffer else ""
                raise TinyqError(f"no reply while waiting for {wait.waiting_for} ({wait.silence:g} s of silence"
                                 f"{detail})", where=self.url, hint="the device stalled, or runs other firmware or "
                                 "baud rate; raise --timeout for slow boards")
            if now > wait.deadline:
                raise self._overdue(wait)

    def _partial(self) -> str:
        return self._buffer[:60].decode("ascii", errors="replace")

    def _overdue(self, wait: Wait) -> TinyqError:
        if self.lines_read > wait.lines_before:
            what = f"the device keeps sending lines that are not the answer (last '{self.transcript[-1][:60]}')"
        else:
            what = f"bytes keep arriving without a line end (partial line '{self._partial()}')"
        return TinyqError(f"no complete reply within {wait.total:g} s while waiting for {wait.waiting_for}: {what}",
                          where=self.url, hint="noise on the line, a wrong baud rate, or firmware that logs on this "
                          "port; raise --timeout for slow boards")

    # -- commands ----------------------------------------------------------------------------

    def command(self, cmd: str, timeout: float | None = None, silence: float | None = None,
                max_line: int = MAX_LINE, answers: bool = False) -> list[str]:
        """Send `cmd%` and return the reply lines before "m-ready", all within `timeout` seconds
        (default: the link's) and no silence longer than `silence` (default: `timeout`).
        `answers`: the reply has at least one line, so a bare "m-ready" is a reboot's."""
        self.write(cmd + "%")
        return self.reply(cmd, self.wait(f"the reply to '{_short(cmd)}'", timeout, silence, max_line), answers)

    def reply(self, cmd: str, wait: Wait, answers: bool = False) -> list[str]:
        lines = []
        name = cmd.split(" ")[0]
        while True:
            line = self.read_line(wait)
            if line == READY:
                if answers and not lines:
                    raise self.reset(cmd, "a bare m-ready instead of the reply, as after a boot")
                return lines
            if boot_line(line):
                raise self.reset(cmd, f"boot banner '{line[-30:]}' in the reply")
            if line.startswith(NAME_PREFIX) and name != "name":
                raise self.reset(cmd, f"'{line[:30]}' unasked, as on boot")
            if line.startswith("tinyq-fault"):
                raise TinyqError(f"the firmware crashed while running '{_short(cmd)}': {line}", where=self.url)
            if line.startswith("e-"):
                self._finish_refusal(cmd, wait)
                raise DeviceError(f"the device refused '{_short(cmd)}': {line[2:].strip('[]')}", where=self.url)
            if not line.startswith("m-") or not _printable(line):
                raise GarbledReply(f"garbled reply to '{_short(cmd)}': '{line[:60]}'", where=self.url,
                                   hint="noise on the line or a wrong baud rate")
            lines.append(line)

    def _finish_refusal(self, cmd: str, wait: Wait) -> None:
        """Read the rest of a refused command's reply, up to its m-ready: left unread, the next command
        would take that m-ready for its own (a bare one: a reboot). Past the wait's limits the refusal
        is still the story; the next command's sync or reply sorts out the line."""
        try:
            while (line := self.read_line(wait)) != READY:
                if boot_line(line):
                    raise self.reset(cmd, f"boot banner '{line[-30:]}' after the device refused it")
        except DeviceReset:
            raise
        except TinyqError:
            pass

    def reset(self, cmd: str, evidence: str) -> DeviceReset:
        return DeviceReset(f"the device reset during '{_short(cmd)}' ({evidence})", where=self.url, hint=RESET_HINT)

    def sync(self, timeout: float | None = None, after: str | None = None) -> bool:
        """Discard whatever is in flight and get back in step with the device, within `timeout`
        seconds. Returns whether the device booted meanwhile (its banner went by): a marker sent
        while it booted may be lost, so a fresh one follows the banner's m-ready."""
        waiting_for = "the device to answer a resync" + (f" after {after}" if after else "")
        wait = self.wait(waiting_for, timeout)
        self._discard_input()
        self._buffer.clear()
        self._scanned = 0
        marker = self._send_marker()
        seen = booted = resend = False
        while True:
            line = self.read_line(wait)
            if boot_line(line):
                booted = resend = True
            elif line.endswith(marker + "]"):  # the echo "e-[Unknown command: <marker>]"
                seen = True
            elif line == READY and seen:
                return booted
            elif line == READY and resend:
                marker, resend = self._send_marker(), False

    def _discard_input(self) -> None:
        """Drop what has arrived so far. For a socket only what is there now: pyserial's
        reset_input_buffer reads a socket until it is quiet, which a flooding device never is."""
        try:
            if self._selectable:
                ready, _, _ = select.select([self.port.fileno()], [], [], 0)
                if ready:
                    self.port.read(READ_BYTES)
            else:
                self.port.reset_input_buffer()
        except (serial.SerialException, OSError, ValueError):
            pass  # a dropped connection shows at the next read or write

    def _send_marker(self) -> str:
        marker = f"tinyq-sync-{next(self._markers)}"
        self.write("%" + marker + "%")  # a '%' first ends any half-received command on the device side
        return marker


def _short(cmd: str) -> str:
    return cmd if len(cmd) <= 40 else cmd[:37] + "..."
