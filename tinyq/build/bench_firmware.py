"""`tinyq bench firmware`: per model and board, what the firmware costs.

Each model is compiled, built into the bare-metal firmware of each QEMU board,
run on `--inputs` records and compared with TFLM (a row is only worth quoting
when it is bit-exact). Flash and SRAM come from the linked ELF; SRAM is arena +
reserved stack + static data (the stack actually used is measured too);
instructions per inference come from QEMU -icount (the median over the inputs).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from tinyq.errors import TinyqError

DEFAULT_BOARDS = ("qemu-m55", "qemu-m0-an385")
DEFAULT_MODELS = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "models" / "mlperf-tiny"
# TFLM with its reference kernels on the same QEMU mps3-an547 (-mcpu=cortex-m55, TFLM
# release flags), instructions per inference, as measured for the firmware issue.
TFLM_M55_REFERENCE = {"kws_dscnn_int8": 41_919_230, "ic_resnet8_int8": 97_427_280,
                      "ad_fc_autoencoder_int8": 1_692_902}


@dataclass(frozen=True)
class FirmwareRow:
    model: str
    board: str
    bit_exact: bool | None  # None when it could not run
    inputs: int
    flash_bytes: int
    sram_bytes: int
    arena_bytes: int
    stack_bytes: int
    stack_used_bytes: int
    static_bytes: int
    instructions: int  # median per inference
    tflm_reference_instructions: int | None  # TFLM on the M55, where measured
    note: str = ""


def _row(model: Path, board_name: str, n_inputs: int, seed: int) -> FirmwareRow:
    from tinyq.boards import get_board
    from tinyq.driver import compile_file
    from tinyq.run.qemu import verify_qemu

    board = get_board(board_name)
    reference = TFLM_M55_REFERENCE.get(model.stem) if board.qemu and board.qemu.machine == "mps3-an547" else None
    try:
        report = verify_qemu(compile_file(model, board), board, n_inputs=n_inputs, seed=seed)
    except TinyqError as exc:
        return FirmwareRow(model.stem, board_name, None, 0, 0, 0, 0, 0, 0, 0, 0, reference, note=str(exc)[:160])
    s = report.summary()
    return FirmwareRow(model=model.stem, board=board_name, bit_exact=report.result.ok, inputs=s["inputs"],
                       flash_bytes=s["flash_bytes"], sram_bytes=s["sram_bytes"], arena_bytes=s["arena_bytes"],
                       stack_bytes=s["stack_bytes"], stack_used_bytes=s["stack_used_bytes"],
                       static_bytes=s["static_bytes"], instructions=s["instructions_per_inference"]["median"],
                       tflm_reference_instructions=reference)


def bench_firmware(models: list[Path], boards: list[str], n_inputs: int, seed: int = 0,
                   progress=lambda message: None) -> list[FirmwareRow]:
    rows = []
    for model in models:
        for board in boards:
            progress(f"{model.stem} on {board} ...")
            rows.append(_row(model, board, n_inputs, seed))
    return rows


def format_table(rows: list[FirmwareRow]) -> str:
    header = ("model", "board", "bit-exact", "flash B", "SRAM B", "arena", "stack (used)", "static",
              "instructions", "vs TFLM ref")
    table = [header]
    for r in rows:
        if r.bit_exact is None:
            table.append((r.model, r.board, "-", "", "", "", "", "", "", r.note))
            continue
        ratio = f"{r.instructions / r.tflm_reference_instructions:.2f}x" if r.tflm_reference_instructions else ""
        table.append((r.model, r.board, f"{'yes' if r.bit_exact else 'NO'} ({r.inputs})", f"{r.flash_bytes:,}",
                      f"{r.sram_bytes:,}", f"{r.arena_bytes:,}", f"{r.stack_bytes:,} ({r.stack_used_bytes:,})",
                      f"{r.static_bytes:,}", f"{r.instructions:,}", ratio))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i > 1 and i < 9 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             .rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("SRAM = arena + reserved stack + static; instructions: median per inference under QEMU -icount;")
    lines.append("vs TFLM ref: TFLM's reference kernels on the same QEMU mps3-an547 (-mcpu=cortex-m55).")
    return "\n".join(lines)


@click.command("firmware")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of int8 .tflite models (default: ../shared/models/mlperf-tiny).")
@click.option("--board", "boards", multiple=True, help=f"QEMU board, repeatable (default: {', '.join(DEFAULT_BOARDS)}).")
@click.option("--inputs", "n_inputs", default=20, show_default=True, help="Inputs per model and board.")
@click.option("--seed", default=0, show_default=True, help="Random seed for the inputs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def firmware_bench(models_dir: Path | None, boards: tuple[str, ...], n_inputs: int, seed: int, fmt: str):
    """Flash, SRAM and instructions per inference of each model's firmware under QEMU."""
    folder = models_dir or DEFAULT_MODELS
    models = sorted(folder.glob("*int8*.tflite")) if folder.is_dir() else []
    if not models:
        click.echo(f"no int8 .tflite models in {folder}: nothing to benchmark (skipped)")
        return
    rows = bench_firmware(models, list(boards or DEFAULT_BOARDS), n_inputs, seed,
                          progress=lambda m: click.echo(m, err=True))
    click.echo(json.dumps([asdict(r) for r in rows], indent=2) if fmt == "json" else format_table(rows))
