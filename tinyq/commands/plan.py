"""`tinyq plan MODEL`: the memory plan the generated C will use, and whether it fits a board."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinyq.commands.options import arena_option, json_format

MODEL = click.Path(dir_okay=False, path_type=Path)


@click.command("plan")
@click.argument("model", type=MODEL)
@click.option("--board", default=None, help="Check that the model fits this board (see tinyq boards); its code "
                                             "path decides the kernels' scratch (default: the host).")
@click.option("--backend", default=None, help="Kernel backend (default: the board's).")
@arena_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the arena over time into this PNG (needs matplotlib: pip install 'tinyq[plot]').")
@click.option("--elf", "elf", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A firmware ELF built for --board: report its real flash use (code included).")
def plan(model: Path, board: str | None, backend: str | None, arena: str, fmt: str, plot_path: Path | None,
         elf: Path | None):
    """Show MODEL's memory plan: live bytes per op, buffer offsets, flash layout.

    The plan is the one `tinyq generate` uses for the same --board, --backend and --arena.
    With --board, exit 2 if the arena or the weights do not fit (the JSON report
    still prints, with "fits": false and the problems).
    """
    from tinyq import driver
    from tinyq.boards import get_board
    from tinyq.plan.fit import check_fit, firmware_io_bytes, fit_error
    from tinyq.plan.flash import plan_flash
    from tinyq.plan.report import as_json, as_text, plan_report

    if plot_path is not None:
        from tinyq.plan.plot import require_matplotlib

        require_matplotlib()  # fail before any output
    b = get_board(board or "host")
    _, graph = driver.read(model)
    bound = driver.front(graph, b, backend, arena)
    memory_plan = driver.plan(bound)
    flash = plan_flash(bound, b)
    fit = check_fit(memory_plan, flash, b, firmware_io_bytes(bound.graph)) if board else None
    elf_flash = None
    if elf is not None:
        from tinyq.build.elf import size_report

        elf_flash = size_report(elf, b).flash_bytes
    report = plan_report(str(model), bound, memory_plan, flash, fit, elf_flash)
    click.echo(as_json(report) if fmt == "json" else as_text(report))
    if plot_path is not None:
        from tinyq.plan.plot import plot_plan

        room = fit.arena_room if fit is not None else None  # the RAM the board gives the arena
        click.echo(f"wrote {plot_plan(bound.lowered, memory_plan, plot_path, title=model.name, ram_bytes=room, board=b.name)}",
                   err=True)
    if fit is not None and not fit.ok:
        click.echo(f"tinyq: error: {fit_error(fit, b, bound.graph)}", err=True)
        sys.exit(2)
