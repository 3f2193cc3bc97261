"""`tinyq qemu` and `tinyq flash`: the benchmark firmware in QEMU on a TCP port, or on a board."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tinyq.commands.options import json_format
from tinyq.errors import TinyqError

PROJECT = click.Path(file_okay=False, exists=True, path_type=Path)
MLPERF_HELP = "MLPerf Tiny benchmark the firmware reports and converts runner data for (kws01, ic01, vww01, ad01; " \
              "default: guessed from the model name)."


@click.command("qemu")
@click.argument("project_dir", type=PROJECT)
@click.option("--serial", "serial_spec", default="tcp:5555", show_default=True,
              help="Where the UART goes: tcp:PORT (socket://127.0.0.1:PORT; tcp:0 picks a free port and "
                   "prints its URL on stdout) or pty.")
@click.option("--board", default=None, help="QEMU board (default: the project's, or its QEMU stand-in).")
@click.option("--timeout", default=None, type=float, help="Stop QEMU after this many seconds (default: run until "
              "Ctrl-C).")
@click.option("--mlperf", default=None, help=MLPERF_HELP)
def qemu_command(project_dir: Path, serial_spec: str, board: str | None, timeout: float | None, mlperf: str | None):
    """Build the benchmark firmware of PROJECT_DIR and boot it in QEMU with its UART on a local port.

    Any serial client then talks to it: `tinyq bench --port socket://127.0.0.1:PORT --model PROJECT_DIR`,
    or the MLPerf Tiny runner through `--serial pty`. Instruction counts come from QEMU -icount.
    """
    from tinyq.boards import get_board
    from tinyq.build.project import load_project
    from tinyq.run.qemu import qemu_board_for
    from tinyq.serial.firmware import build_dut_firmware
    from tinyq.serial.qemu import parse_serial, serve

    spec = parse_serial(serial_spec)
    project = load_project(project_dir)
    b = qemu_board_for(get_board(board or project.board))
    build = build_dut_firmware(project.root, b, mlperf)
    click.echo(f"built {build.elf} (model {project.name}, hash {build.model_hash}, MLPerf {build.mlperf_model})",
               err=True)
    # the URL alone on stdout, at once: a script starting `tinyq qemu DIR --serial tcp:0 &` reads it
    sys.exit(serve(build.elf, b, spec, timeout, lambda m: click.echo(m, err=True),
                   on_url=lambda url: (click.echo(url), sys.stdout.flush())))


@click.command("flash")
@click.argument("project_dir", type=PROJECT, required=False)
@click.option("--board", default=None, help="Board to flash (default: the project's).")
@click.option("--serial-port", default=None, metavar="P",
              help="The board's serial port: esptool flashes through it (ESP32-S3); --monitor watches it "
                   "(default /dev/ttyACM0).")
@click.option("--drive", type=click.Path(path_type=Path), default=None,
              help="The RPI-RP2 drive to copy the UF2 onto (rp2040; default: found among the mounted drives).")
@click.option("--probe", default=None, help="Debug probe unique id for pyocd (`pyocd list`; default: the only one).")
@click.option("--port", default=None, hidden=True, help="Deprecated: --serial-port, --drive or --probe.")
@click.option("--monitor", "watch", is_flag=True, help="After flashing, print what the board sends on "
              "--serial-port (tinyq monitor), for --monitor-timeout seconds.")
@click.option("--monitor-timeout", default=30.0, show_default=True, help="Seconds --monitor watches (0: until Ctrl-C).")
@click.option("--image", type=click.Path(exists=True, path_type=Path), default=None,
              help="Flash this prebuilt image instead of building: ELF/UF2 (rp2040), ESP-IDF build directory or "
              "merged .bin (esp32s3), ELF (pyocd boards).")
@click.option("--dry-run", is_flag=True, help="Build, check the image and print what would be written and how; "
              "needs no board.")
@click.option("--timeout", default=60.0, show_default=True,
              help="Seconds pyocd / picotool may take, waiting for the probe or board included.")
@click.option("--mlperf", default=None, help=MLPERF_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What was (or, with --dry-run, would be) written, how, and the next command, as text or JSON.")
@json_format
def flash_command(project_dir: Path | None, board: str | None, serial_port: str | None, drive: Path | None,
                  probe: str | None, port: str | None, watch: bool, monitor_timeout: float, image: Path | None,
                  dry_run: bool, timeout: float, mlperf: str | None, fmt: str):
    """Build the benchmark firmware of PROJECT_DIR and flash it: UF2 (Pico), esptool (ESP32-S3), pyocd (RA8M1)."""
    from tinyq.boards import get_board
    from tinyq.build.project import load_project
    from tinyq.flash.methods import execute, plan_flash, require_target
    from tinyq.serial.firmware import build_dut_firmware

    if image is None and project_dir is None:
        raise click.UsageError("flash needs PROJECT_DIR (from tinyq generate --board B) or --image FILE")
    if fmt == "json" and watch:
        raise click.UsageError("--monitor streams the board's text: it does not mix with --format json")
    if board is None and project_dir is None:
        raise click.UsageError("--image needs --board")
    b = get_board(board or load_project(project_dir).board)
    if b.flash_method == "qemu":
        raise TinyqError("QEMU boards are not flashed", where=b.name,
                         hint="boot the firmware with: tinyq qemu DIR --serial tcp:PORT")
    target = {"uf2": str(drive) if drive else None, "esptool": serial_port, "pyocd": probe}.get(b.flash_method)
    if port is not None:  # one option used to mean three things
        new_name = {"uf2": "--drive", "esptool": "--serial-port", "pyocd": "--probe"}.get(b.flash_method, "--serial-port")
        click.echo(f"tinyq: warning: flash --port is deprecated; for {b.name} it means {new_name} {port}", err=True)
        target = target or port
    if image is None:
        build = build_dut_firmware(project_dir, b, mlperf)
        click.echo(f"built {build.elf} (model {build.project.name}, hash {build.model_hash})", err=True)
        image = build.elf.parent if b.flash_method == "esptool" else build.elf
    plan = plan_flash(Path(image).resolve(), b, target)
    console = serial_port or (port if b.flash_method == "esptool" else None) or "/dev/ttyACM0"
    model = project_dir or "MODEL.tflite"
    report = {"board": b.name, "method": plan.method, "artifact": str(plan.artifact), "action": plan.describe(),
              "dry_run": dry_run, "flashed": False, "next": f"tinyq bench --port {console} --model {model}"}
    if dry_run:
        if fmt == "json":
            click.echo(json.dumps(report, indent=2))
            return
        click.echo("would run: " + plan.describe())
        if watch:
            click.echo(f"then: tinyq monitor --port {console} --timeout {monitor_timeout:g}")
        return
    require_target(plan)
    if fmt != "json":
        click.echo("running: " + plan.describe())
    execute(plan, timeout)
    if fmt == "json":
        click.echo(json.dumps({**report, "flashed": True}, indent=2))
    else:
        click.echo(f"flashed {b.name}; benchmark it with: {report['next']}")
    if watch:
        from tinyq.serial.monitor import monitor

        click.echo(f"monitoring {console} (--monitor-timeout {monitor_timeout:g} s)", err=True)
        sys.exit(monitor(console, 115200, monitor_timeout, None, ("name",), click.echo))
