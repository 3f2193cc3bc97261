"""Options several commands share, so that one option name means one thing everywhere.

`--json` prints the command's report as JSON on stdout (verify, generate, build, eval, bench ...);
a JSON file is `--json-file PATH`. The benchmarks once took `--json PATH`: that form still works,
with a warning.
"""

from __future__ import annotations

from pathlib import Path

import click

PRINT = "-"  # the value of a bare --json


def json_options(file_help: str = "Also write the report as JSON to PATH."):
    """`--json` (print the report as JSON) and `--json-file PATH`; the command gets `json_arg` and `json_file`,
    to be read with `json_choice`."""
    def decorate(fn):
        fn = click.option("--json-file", "json_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                          metavar="PATH", help=file_help)(fn)
        return click.option("--json", "json_arg", is_flag=False, flag_value=PRINT, default=None, metavar="",
                            help="Print the report as JSON (instead of the text).")(fn)
    return decorate


def json_choice(command: str, json_arg: str | None, json_file: Path | None) -> tuple[bool, Path | None]:
    """(print the report as JSON?, the JSON file to write) from `--json` and `--json-file`."""
    if json_arg is None or json_arg == PRINT:
        return json_arg == PRINT, json_file
    click.echo(f"tinyq: warning: {command} --json PATH is deprecated (--json alone prints the JSON): "
               f"use --json-file {json_arg}", err=True)
    if json_file is not None:
        raise click.UsageError("--json PATH is the deprecated form of --json-file PATH: give one of them")
    return False, Path(json_arg)


# For commands whose output is chosen with --format text|json: --json is its shorthand (the option
# must follow --format's, and the command's parameter be `fmt`).
json_format = click.option("--json", "fmt", flag_value="json", help="Print the report as JSON (--format json).")


# --arena: whether binding keeps the reference kernels' arena (tinyq/bind.py ARENAS, tinyq/plan/keep_arena.py)
arena_option = click.option(
    "--arena", type=click.Choice(["reference", "fast"]), default="reference", show_default=True,
    help="reference: at most the reference kernels' arena (an op whose fast kernel would raise it runs one that "
         "does not); fast: every op's fastest kernel, whatever its scratch costs in arena.")
