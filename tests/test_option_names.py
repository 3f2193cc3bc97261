"""One meaning per option name across every command: --json prints the report as JSON (a file is
--json-file), --inputs is a count, --port a serial port; --format text|json has --json as shorthand."""

import subprocess
import sys

import click

from tinyq.cli import cli
from tinyq.commands.options import PRINT

def commands(group=cli, path="tinyq"):
    for name, command in sorted(group.commands.items()):
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")


def option(command, name):
    return next((p for p in command.params if isinstance(p, click.Option) and name in p.opts), None)


def test_json_prints_the_report_wherever_it_exists():
    seen = 0
    for path, command in commands():
        json_opt = option(command, "--json")
        fmt = option(command, "--format")
        if fmt is not None and "json" in getattr(fmt.type, "choices", ()):
            assert json_opt is not None, f"{path} has --format json but no --json"
        if json_opt is None:
            continue
        seen += 1
        # a flag, or (bench's old --json PATH) a value that is PRINT when --json is given alone
        assert json_opt.is_flag or json_opt.flag_value == PRINT, f"{path}: --json takes a value"
    assert seen >= 12


def test_inputs_is_a_count_and_port_a_serial_port():
    for path, command in commands():
        inputs = option(command, "--inputs")
        if inputs is not None and not inputs.hidden:
            assert isinstance(inputs.type, (click.types.IntParamType, click.IntRange)), path
        port = option(command, "--port")
        if port is not None and not port.hidden:
            assert any(word in (port.help or "") for word in ("serial", "socket://", "device", "Serial")), path


def tinyq(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", *args], capture_output=True, text=True, timeout=300)


def test_json_is_format_json():
    for args in (["boards"], ["doctor"]):
        short, long = tinyq(*args, "--json"), tinyq(*args, "--format", "json")
        assert short.returncode == long.returncode == 0, short.stderr
        assert short.stdout == long.stdout and short.stdout.lstrip().startswith("[")
