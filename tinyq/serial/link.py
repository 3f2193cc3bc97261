"""A line connection to a device under test, over any pyserial URL.

`/dev/ttyACM0`, `COM5`, `socket://127.0.0.1:5555` (QEMU, `tinyq qemu`), `rfc2217://...`:
whatever `serial.serial_for_url` opens. Every read has a deadline: a silent device
is an error after `timeout` seconds, never a hang. Replies are the DUT protocol's
lines ("m-...", "e-[...]", ending with "m-ready"); anything else is garbage, and
`sync` gets back in step by sending a command with a fresh marker and reading up to
its echo, so stale or torn lines from before are never taken for an answer.
"""

from __future__ import annotations

import itertools
import time

import serial

from tinyq.errors import TinyqError

READY = "m-ready"
RESET_LINES = ("m-init-done", "m-timestamp-mode-performance")
POLL_S = 0.05  # pyserial read timeout: how often deadlines are checked
MAX_LINE = 1 << 20  # a reply line longer than this is garbage, not a slow line


class DeviceError(TinyqError):
    """The device answered with an error line ("e-[...]")."""


class GarbledReply(TinyqError):
    """A reply line that is not part of the protocol (noise, a torn line, wrong baud rate)."""


def open_port(url: str, baud: int) -> serial.SerialBase:
    """Open `url`; a missing, busy or refused port is a one-line error."""
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=POLL_S, write_timeout=10, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise _open_error(url, str(exc)) from None


def _open_error(url: str, text: str) -> TinyqError:
    low = text.lower()
    if url.startswith("socket://") and ("refused" in low or "errno 111" in low):
        return TinyqError("nothing listens at this address", where=url,
                          hint="start the firmware first: tinyq qemu DIR --serial tcp:PORT")
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


class Link:
    """Commands and their reply lines, with a timeout on every read."""

    _markers = itertools.count(1)

    def __init__(self, url: str, baud: int = 115200, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self.port = open_port(url, baud)
        self._buffer = bytearray()
        self.transcript: list[str] = []  # recent lines, quoted in errors

    def close(self) -> None:
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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

    def read_line(self, timeout: float, waiting_for: str) -> str:
        """The next line; TinyqError when nothing completes one within `timeout` seconds of silence."""
        last_byte = time.monotonic()
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                line = raw.decode("ascii", errors="replace").rstrip("\r")
                self.transcript = (self.transcript + [line])[-8:]
                return line
            if len(self._buffer) > MAX_LINE:
                self._buffer.clear()
                raise GarbledReply(f"a reply line longer than {MAX_LINE} bytes while waiting for {waiting_for}",
                                   where=self.url, hint="check the baud rate")
            try:
                chunk = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from None
            if chunk:
                self._buffer += chunk
                last_byte = time.monotonic()
            elif time.monotonic() - last_byte > timeout:
                partial = self._buffer.decode("ascii", errors="replace")[:60]
                detail = f"; partial line '{partial}'" if partial else ""
                raise TinyqError(f"no reply while waiting for {waiting_for} ({timeout:g} s of silence{detail})",
                                 where=self.url, hint="the device stalled, or runs other firmware or baud rate; "
                                 "raise --timeout for slow boards")

    # -- commands ----------------------------------------------------------------------------

    def command(self, cmd: str, timeout: float | None = None) -> list[str]:
        """Send `cmd%` and return the reply lines before "m-ready"."""
        self.write(cmd + "%")
        return self.reply(cmd, timeout)

    def reply(self, cmd: str, timeout: float | None = None) -> list[str]:
        timeout = self.timeout if timeout is None else timeout
        lines = []
        while True:
            line = self.read_line(timeout, f"the reply to '{_short(cmd)}'")
            if line == READY:
                return lines
            if line in RESET_LINES:
                raise TinyqError(f"the board reset while running '{_short(cmd)}'", where=self.url,
                                 hint="a power glitch, watchdog or crash; check the supply and rerun")
            if line.startswith("tinyq-fault"):
                raise TinyqError(f"the firmware crashed while running '{_short(cmd)}': {line}", where=self.url)
            if line.startswith("e-"):
                raise DeviceError(f"the device refused '{_short(cmd)}': {line[2:].strip('[]')}", where=self.url)
            if not line.startswith("m-") or not _printable(line):
                raise GarbledReply(f"garbled reply to '{_short(cmd)}': '{line[:60]}'", where=self.url,
                                   hint="noise on the line or a wrong baud rate")
            lines.append(line)

    def sync(self, timeout: float | None = None) -> None:
        """Discard whatever is in flight and get back in step with the device."""
        timeout = self.timeout if timeout is None else timeout
        marker = f"tinyq-sync-{next(self._markers)}"
        try:
            self.port.reset_input_buffer()
        except (serial.SerialException, OSError):
            pass
        self._buffer.clear()
        # A '%' first ends any half-received command on the device side.
        self.write("%" + marker + "%")
        seen = False
        while True:
            line = self.read_line(timeout, "the device to answer (sync)")
            if line.endswith(marker + "]"):  # the echo "e-[Unknown command: <marker>]"
                seen = True
            elif seen and line == READY:
                return


def _short(cmd: str) -> str:
    return cmd if len(cmd) <= 40 else cmd[:37] + "..."
