"""`tinyq bench cores`: the one-core and the two-core build of each model, instructions per core."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from tinyq.commands.options import json_choice, json_options

DEFAULT_MODELS = ("kws_dscnn_int8", "ic_resnet8_int8")


@click.command("cores")
@click.option("--models", "model_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A .tflite model; repeatable (default: KWS and ResNet-8 from ../shared/models/mlperf-tiny).")
@click.option("--board", "board_name", default="qemu-an521-dual", show_default=True,
              help="A QEMU board with `cores = 2`.")
@click.option("--backend", default=None, help="Kernel backend (default: the board's); the reference kernels and "
              "CMSIS-NN's convolutions are split, other kernels run on core 0.")
@click.option("--inputs", "n_inputs", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Records compared with TFLM per build (the last one is also traced).")
@click.option("--seed", type=int, default=0, show_default=True)
@json_options("Also write the rows as JSON to PATH.")
def cores(model_paths: tuple[Path, ...], board_name: str, backend: str | None, n_inputs: int, seed: int,
          json_arg: str | None, json_file: Path | None):
    """One core against two on a two-core QEMU machine: per model, instructions per inference on one
    core and, for the two-core build, each core's and the critical path's (from QEMU's per-instruction
    log, minutes per model), both builds compared with TFLM byte for byte."""
    from tinyq.bench.cores import bench_model, format_table
    from tinyq.bench.firmware import DEFAULT_MODELS as MLPERF
    from tinyq.boards import get_board
    from tinyq.codegen.output import check_output_file, write_output_file
    from tinyq.errors import TinyqError
    from tinyq.plan.cores import board_cores
    from tinyq.progress import Progress
    from tinyq.run.qemu import require_qemu

    as_json, json_path = json_choice("bench cores", json_arg, json_file)
    if json_path:
        check_output_file(json_path)  # before minutes of tracing
    board = get_board(board_name)
    require_qemu(board)
    if board_cores(board) != 2:
        raise TinyqError("the board runs its models on one core", where=f"board {board.name}",
                         hint="use a board with cores = 2, e.g. qemu-an521-dual")
    models = list(model_paths) or [MLPERF / f"{m}.tflite" for m in DEFAULT_MODELS]
    missing = [str(m) for m in models if not m.is_file()]
    if missing:
        raise TinyqError(f"no model {', '.join(missing)}", hint="give --models FILE")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyq-bench-cores-") as tmp, \
            Progress("bench cores: models", total=len(models)) as bar:
        for model in models:
            click.echo(f"{model.stem}: one core, then two, each traced ...", err=True)
            rows.append(bench_model(model, board, n_inputs, seed, Path(tmp) / model.stem, backend=backend))
            bar.update(len(rows))
    data = json.dumps([asdict(r) | {"speedup": round(r.speedup, 3)} for r in rows], indent=2)
    click.echo(data if as_json else format_table(rows))
    if json_path:
        write_output_file(json_path, data)
