"""`tinyq bench firmware`: per model, board and kernel backend, what the firmware costs.

Each model is compiled with each `--backend` (default: the board's own), built
into the bare-metal firmware of each QEMU board, run on `--inputs` records and
compared with TFLM (a row is only worth quoting when it is bit-exact). Flash and
SRAM come from the linked ELF; SRAM is arena + reserved stack + static data (the
stack actually used is measured too); instructions per inference come from QEMU
-icount (the median over the inputs). On Helium cores (Cortex-M55/M85) one more
traced run gives estimated cycles per inference (tinyq/bench/cycles.py, the model
in docs/cycles.md: an estimate, never a time). On the Cortex-M55 machine the rows
are set against TFLM's own figures on the same QEMU: its reference kernels and its
CMSIS-NN kernels, instructions and estimated cycles.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from tinyq.commands.options import arena_option, json_format
from tinyq.errors import TinyqError

DEFAULT_BOARDS = ("qemu-m55", "qemu-m0-an385")
DEFAULT_MODELS = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "models" / "mlperf-tiny"
ANCHOR_MACHINE = "mps3-an547"  # where the TFLM figures below were measured
# TFLM on the same QEMU mps3-an547 (-icount shift=0, SysTick around the inference call,
# TFLM release flags, -mcpu=cortex-m55 -mfloat-abi=hard), instructions per inference,
# as measured for the firmware issue (reference kernels) and the benchmark issue
# (CMSIS-NN v7.0.0 built at -O2 on its Helium path).
TFLM_M55_REFERENCE = {"kws_dscnn_int8": 41_919_230, "ic_resnet8_int8": 97_427_280,
                      "ad_fc_autoencoder_int8": 1_692_902}
TFLM_M55_CMSIS_NN = {"kws_dscnn_int8": 1_813_661, "ic_resnet8_int8": 4_912_287,
                     "ad_fc_autoencoder_int8": 149_992}
# TFLM + CMSIS-NN's estimated cycles per inference (tinyq/bench/cycles.py, the cortex-m55 model) from
# one traced MicroInterpreter::Invoke on the same QEMU, TFLM 90b983c2b with CMSIS-NN 99f736a6 (the pin;
# its traced instructions: 149,997 / 1,813,715 / 4,913,353, within 0.03% of the v7.0.0 figures above);
# how it was built and run: docs/cycles.md and tinyq/bench/tflm_anchor/
TFLM_M55_CMSIS_NN_CYCLES = {"kws_dscnn_int8": 2_030_454, "ic_resnet8_int8": 5_201_074,
                            "ad_fc_autoencoder_int8": 160_047}


@dataclass(frozen=True)
class FirmwareRow:
    model: str
    board: str
    backend: str
    bit_exact: bool | None  # None when it could not run
    inputs: int
    flash_bytes: int
    sram_bytes: int
    arena_bytes: int
    stack_bytes: int
    stack_used_bytes: int
    static_bytes: int
    instructions_per_inference: int  # median
    tflm_reference_instructions: int | None  # TFLM's reference kernels on the M55, where measured
    tflm_cmsis_nn_instructions: int | None  # TFLM + CMSIS-NN on the M55, where measured
    cycles_per_inference: int | None = None  # estimated (Helium cores), one traced inference
    mve_mac_instructions: int | None = None  # of which on the Helium multiply/MAC unit
    tflm_cmsis_nn_cycles: int | None = None  # TFLM + CMSIS-NN's estimate on the M55, where measured
    arena: str = "reference"  # the --arena choice the model was bound with
    reference_arena_bytes: int | None = None  # the arena with the reference kernels, planned for the same board
    note: str = ""

    @property
    def vs_tflm_reference(self) -> float | None:
        """Only the reference backend is compared with TFLM's reference kernels."""
        if self.backend != "reference" or not self.tflm_reference_instructions or not self.bit_exact:
            return None
        return self.instructions_per_inference / self.tflm_reference_instructions

    @property
    def vs_tflm_cmsis_nn(self) -> float | None:
        if not self.tflm_cmsis_nn_instructions or not self.bit_exact:
            return None
        return self.instructions_per_inference / self.tflm_cmsis_nn_instructions

    @property
    def cycles_vs_tflm_cmsis_nn(self) -> float | None:
        if not self.tflm_cmsis_nn_cycles or not self.cycles_per_inference or not self.bit_exact:
            return None
        return self.cycles_per_inference / self.tflm_cmsis_nn_cycles


def _missing_library(backend: str) -> str | None:
    """Why `backend` cannot be built here (its C library is not available), or None."""
    from tinyq.backends import get_backend
    from tinyq.build import libraries

    from tinyq.errors import TinyqError

    library = get_backend(backend).library
    try:
        if library:
            libraries.library_dir(library)  # a checkout, the cache, or fetched now
    except TinyqError as e:
        return f"{backend} needs its library: {e}"
    return None


def _cycles(compiled, board, work_dir: Path, seed: int):
    """One traced inference of the firmware verify_qemu built in `work_dir`: the cycle report."""
    from tinyq.bench.cycles import measure_firmware
    from tinyq.verify.inputs import make_inputs
    from tinyq.verify.runners import output_specs

    elf = next(work_dir.rglob("firmware.elf"))
    record = make_inputs(compiled.graph, 4, seed)[-1]  # a random record (the first three are edge cases)
    return measure_firmware(elf, board, record, output_specs(compiled.graph),
                            entry=f"tinyq_{compiled.source.name}_invoke_v")


def _row(model: Path, board_name: str, backend: str | None, n_inputs: int, seed: int,
         cycles: bool = True, arena: str = "reference") -> FirmwareRow:
    from tinyq.bench.cycles import model_for
    from tinyq.boards import get_board
    from tinyq.driver import compile_file
    from tinyq.verify import verify_qemu

    board = get_board(board_name)
    backend = backend or board.default_backend
    anchored = board.qemu is not None and board.qemu.machine == ANCHOR_MACHINE
    reference = TFLM_M55_REFERENCE.get(model.stem) if anchored else None
    cmsis_nn = TFLM_M55_CMSIS_NN.get(model.stem) if anchored else None
    cmsis_nn_cycles = TFLM_M55_CMSIS_NN_CYCLES.get(model.stem) if anchored else None
    timed = cycles and model_for(board.core) is not None

    def failed(note: str) -> FirmwareRow:
        return FirmwareRow(model.stem, board_name, backend, None, 0, 0, 0, 0, 0, 0, 0, 0, reference, cmsis_nn,
                           tflm_cmsis_nn_cycles=cmsis_nn_cycles, arena=arena, note=note[:160])

    missing = _missing_library(backend)
    if missing:
        return failed(missing)
    try:
        compiled = compile_file(model, board, backend=backend, arena=arena)
        reference_arena = _reference_arena(compiled, board)
        with tempfile.TemporaryDirectory(prefix="tinyq-bench-") as tmp:
            report = verify_qemu(compiled, board, n_inputs=n_inputs, seed=seed, work_dir=Path(tmp))
            estimate = _cycles(compiled, board, Path(tmp), seed) if timed else None
    except TinyqError as exc:
        return failed(str(exc))
    s = report.summary()
    return FirmwareRow(model=model.stem, board=board_name, backend=backend, bit_exact=report.result.ok,
                       inputs=s["inputs"], flash_bytes=s["flash_bytes"], sram_bytes=s["sram_bytes"],
                       arena_bytes=s["arena_bytes"], stack_bytes=s["stack_bytes"],
                       stack_used_bytes=s["stack_used_bytes"], static_bytes=s["static_bytes"],
                       instructions_per_inference=s["instructions_per_inference"]["median"],
                       tflm_reference_instructions=reference, tflm_cmsis_nn_instructions=cmsis_nn,
                       cycles_per_inference=estimate.cycles if estimate else None,
                       mve_mac_instructions=estimate.mve_macs if estimate else None,
                       tflm_cmsis_nn_cycles=cmsis_nn_cycles, arena=arena,
                       reference_arena_bytes=reference_arena)


def _reference_arena(compiled, board) -> int:
    """The arena the reference kernels plan for the same model and board (nothing is built or run)."""
    from tinyq import driver

    if compiled.bound.backend.name == "reference":
        return compiled.plan.arena_bytes
    return driver.plan(driver.bind(compiled.lowered, board, "reference")).arena_bytes


def bench_firmware(models: list[Path], boards: list[str], n_inputs: int, seed: int = 0,
                   backends: list[str] | tuple[str, ...] = (), progress=lambda message: None,
                   cycles: bool = True, arena: str = "reference") -> list[FirmwareRow]:
    """One row per model, board and backend (each board's default when `backends` is empty),
    the backends of a model and board next to each other; `cycles`: estimate them on Helium cores;
    `arena`: bind at most the reference kernels' arena, or "fast" (tinyq/bind.py ARENAS)."""
    from tinyq.progress import Progress

    runs = [(model, board, backend) for model in models for board in boards for backend in backends or (None,)]
    rows = []
    with Progress("bench firmware: runs", total=len(runs)) as bar:  # each run's QEMU bar goes under it
        for model, board, backend in runs:
            progress(f"{model.stem} on {board}{f' with {backend}' if backend else ''} ...")
            rows.append(_row(model, board, backend, n_inputs, seed, cycles, arena))
            bar.update(len(rows))
    return rows


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else ""


HEADER = ("model", "board", "backend", "bit-exact", "flash B", "SRAM B", "arena (ref.)", "stack (used)", "static",
          "instructions", "est. cycles", "vs TFLM ref", "vs TFLM+CMSIS-NN instr.", "cycles")
ALIGN = "lll" + "r" * (len(HEADER) - 3)  # model, board, backend left; figures right


def _arena_cell(r: FirmwareRow) -> str:
    """The arena, with the reference kernels' beside it for another backend (marked * when --arena fast)."""
    if r.reference_arena_bytes is None or r.backend == "reference":
        return f"{r.arena_bytes:,}"
    return f"{r.arena_bytes:,} ({r.reference_arena_bytes:,}){'*' if r.arena == 'fast' else ''}"


def format_table(rows: list[FirmwareRow]) -> str:
    from tinyq.tables import table

    cells = []
    for r in rows:
        if r.bit_exact is None:  # a note row: the note follows the first columns
            cells.append((r.model, r.board, r.backend, "-", r.note))
            continue
        cells.append((r.model, r.board, r.backend, f"{'yes' if r.bit_exact else 'NO'} ({r.inputs})",
                      f"{r.flash_bytes:,}", f"{r.sram_bytes:,}", _arena_cell(r),
                      f"{r.stack_bytes:,} ({r.stack_used_bytes:,})", f"{r.static_bytes:,}",
                      f"{r.instructions_per_inference:,}",
                      f"{r.cycles_per_inference:,}" if r.cycles_per_inference else "",
                      _ratio(r.vs_tflm_reference), _ratio(r.vs_tflm_cmsis_nn), _ratio(r.cycles_vs_tflm_cmsis_nn)))
    lines = [table(HEADER, cells, align=ALIGN)]
    lines.append("SRAM = arena + reserved stack + static; arena (ref.): the reference kernels' arena for the same "
                 "board in brackets (* bound with --arena fast, which lets a kernel raise it);")
    lines.append("instructions: median per inference under QEMU -icount;")
    lines.append("est. cycles: one traced inference through tinyq's Cortex-M55 timing model (docs/cycles.md), "
                 "an estimate, not a time;")
    lines.append("vs TFLM ref: TFLM's reference kernels, vs TFLM+CMSIS-NN: TFLM with CMSIS-NN v7.0.0 (Helium), "
                 "both on the same QEMU mps3-an547 (-mcpu=cortex-m55); its cycles: TFLM with CMSIS-NN 99f736a6 "
                 "through the same model; a ratio is shown for bit-exact rows.")
    return "\n".join(lines)


def _check_backends(backends: tuple[str, ...]) -> None:
    from tinyq.backends import backend_names

    unknown = [b for b in backends if b not in backend_names()]
    if unknown:
        raise click.BadParameter(f"unknown backend {', '.join(unknown)} (choose from {', '.join(backend_names())})",
                                 param_hint="--backend")


@click.command("firmware")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of int8 .tflite models (default: ../shared/models/mlperf-tiny).")
@click.option("--board", "boards", multiple=True,
              help=f"QEMU board, repeatable (default: {', '.join(DEFAULT_BOARDS)}).")
@click.option("--backend", "backends", multiple=True,
              help="Kernel backend, repeatable: rows side by side per model and board (default: the board's).")
@click.option("--inputs", "n_inputs", default=20, show_default=True, help="Inputs per model and board.")
@click.option("--seed", default=0, show_default=True, help="Random seed for the inputs.")
@arena_option
@click.option("--cycles/--no-cycles", default=True, show_default=True,
              help="Estimate cycles on Helium boards (one more QEMU run, traced instruction by instruction).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def firmware_bench(models_dir: Path | None, boards: tuple[str, ...], backends: tuple[str, ...], n_inputs: int,
                   seed: int, arena: str, cycles: bool, fmt: str):
    """Flash, SRAM, instructions and estimated cycles per inference of each model's firmware under QEMU.

    Example: tinyq bench firmware --board qemu-m55 --backend reference --backend cmsis-nn
    """
    _check_backends(backends)
    folder = models_dir or DEFAULT_MODELS
    models = sorted(folder.glob("*int8*.tflite")) if folder.is_dir() else []
    if not models:
        click.echo(f"no int8 .tflite models in {folder}: nothing to benchmark (skipped)")
        return
    rows = bench_firmware(models, list(boards or DEFAULT_BOARDS), n_inputs, seed, backends,
                          progress=lambda m: click.echo(m, err=True), cycles=cycles, arena=arena)
    if fmt == "json":
        from tinyq.doctor import versions

        made_with = versions()  # what produced the figures, on every row
        click.echo(json.dumps([{**asdict(r), "versions": made_with} for r in rows], indent=2))
    else:
        click.echo(format_table(rows))
