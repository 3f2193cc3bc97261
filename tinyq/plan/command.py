"""`tinyq plan MODEL`: the memory plan the generated C will use, and whether it fits a board."""

from __future__ import annotations

from pathlib import Path

import click

MODEL = click.Path(dir_okay=False, path_type=Path)


def build_plan(model: Path, board_name: str, backend: str | None):
    """(lowered, plan, board, backend) exactly as driver.compile_graph plans it."""
    from tinyq.backends import get_backend
    from tinyq.boards import get_board
    from tinyq.lower import lower_graph
    from tinyq.plan.memory import plan_memory
    from tinyq.tflite.reader import read_model_file

    board = get_board(board_name)
    lowered = lower_graph(read_model_file(model))
    kernels = get_backend(backend or board.default_backend, board)
    return lowered, plan_memory(lowered, backend=kernels), board, kernels


@click.command("plan")
@click.argument("model", type=MODEL)
@click.option("--board", default=None, help="Check that the model fits this board (see tinyq boards).")
@click.option("--backend", default=None, help="Kernel backend (default: the board's).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the arena over time into this PNG (needs matplotlib: pip install 'tinyq[plot]').")
@click.option("--elf", "elf", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A firmware ELF built for --board: report its real flash use (code included).")
def plan(model: Path, board: str | None, backend: str | None, fmt: str, plot_path: Path | None, elf: Path | None):
    """Show MODEL's memory plan: live bytes per op, buffer offsets, flash layout.

    With --board, exit 2 with one line if the arena or the weights do not fit.
    """
    from tinyq.plan.fit import require_fit
    from tinyq.plan.flash import plan_flash
    from tinyq.plan.report import as_json, as_text, plan_report

    if plot_path is not None:
        from tinyq.plan.plot import require_matplotlib

        require_matplotlib()  # fail before any output
    lowered, memory_plan, b, kernels = build_plan(model, board or "host", backend)
    flash = plan_flash(lowered, b, backend=kernels)
    fit = require_fit(memory_plan, lowered, b, flash) if board else None
    elf_flash = None
    if elf is not None:
        from tinyq.build.elf import size_report

        elf_flash = size_report(elf, b).flash_bytes
    report = plan_report(str(model), lowered, memory_plan, flash, fit, elf_flash)
    click.echo(as_json(report) if fmt == "json" else as_text(report))
    if plot_path is not None:
        from tinyq.plan.plot import plot_plan

        click.echo(f"wrote {plot_plan(lowered, memory_plan, plot_path, title=model.name)}", err=True)
