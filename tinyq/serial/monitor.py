"""`tinyq monitor --port P`: what a board (or QEMU) prints, line by line, within bounds.

It prints every line the device sends until `--until TEXT` appears in a line (exit 0), the
`--timeout` passes (exit 0 when nothing was awaited, else 1), the connection drops or Ctrl-C.
`--send CMD` writes a command first (the firmware answers commands; QEMU drops output while no
client is connected, so asking is how to see it). Nothing waits for ever: `--timeout` bounds
the whole session (default 30 s; 0: until Ctrl-C).
"""

from __future__ import annotations

import sys
import time

import click

from tinyq.errors import TinyqError

POLL_S = 0.1


def monitor(url: str, baud: int, timeout: float, until: str | None, send: tuple[str, ...], echo) -> int:
    """Print the device's lines; the exit code (0: seen `until` or no `until`; 1: `until` never came)."""
    from tinyq.serial.link import Link

    with Link(url, baud=baud, timeout=timeout or 3600.0) as link:
        for cmd in send:
            link.write(cmd if cmd.endswith(("%", "\n")) else cmd + "%")
        deadline = None if not timeout else time.monotonic() + timeout
        partial = bytearray()
        while deadline is None or time.monotonic() < deadline:
            partial += link._read_chunk()  # noqa: SLF001 - the link's bounded read, without its reply logic
            while b"\n" in partial:
                raw, _, rest = bytes(partial).partition(b"\n")
                partial = bytearray(rest)
                line = raw.decode("utf-8", errors="replace").rstrip("\r")
                echo(line)
                if until is not None and until in line:
                    return 0
            if len(partial) > 65536:  # no line end in 64 KB: show it as it is
                echo(partial.decode("utf-8", errors="replace"))
                partial.clear()
        if partial:
            echo(partial.decode("utf-8", errors="replace"))
    if until is not None:
        raise TinyqError(f"'{until}' did not appear within {timeout:g} s", where=url,
                         hint="the board runs other firmware or stalled, or raise --timeout")
    return 0


@click.command("monitor")
@click.option("--port", required=True, metavar="P",
              help="Serial port or pyserial URL: /dev/ttyACM0, COM5, socket://127.0.0.1:PORT (tinyq qemu).")
@click.option("--baud", default=115200, show_default=True, help="Baud rate (ignored by socket:// URLs).")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to watch; 0: until Ctrl-C.")
@click.option("--until", default=None, metavar="TEXT", help="Stop (exit 0) at the first line containing TEXT; "
              "exit 2 if it never comes.")
@click.option("--send", multiple=True, metavar="CMD", help="Send CMD first (a trailing %% is added), e.g. name.")
def monitor_command(port: str, baud: int, timeout: float, until: str | None, send: tuple[str, ...]):
    """Print what the device at --port sends, line by line (bounded by --timeout)."""
    sys.exit(monitor(port, baud, timeout, until, send, click.echo))
