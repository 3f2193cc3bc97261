"""`tinyq bench patches`: the table of tinyq/bench/patches.py for the models given, or by default
the VWW-shaped MobileNetV1-0.25 96x96 (built in code) and the MLPerf Tiny int8 models at hand."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from tinyq.commands.options import json_format


@click.command("patches")
@click.option("--models", "model_paths", multiple=True, type=click.Path(path_type=Path),
              help="A folder of .tflite models (all of them) or one model; repeatable (default: a MobileNetV1-0.25 "
                   "96x96 built in code and the int8 models in ../shared/models/mlperf-tiny).")
@click.option("--patches", "requests", multiple=True, metavar="auto|lines|min|N|RxC",
              help="The --patches requests to compare; repeatable (default: auto and min).")
@click.option("--board", default="host", show_default=True, help="Board whose kernels and scratch are planned.")
@click.option("--backend", default=None, help="Kernel backend for the layers after the stage (default: the board's).")
@click.option("--qemu", "qemu", default=None, metavar="BOARD",
              help="Also run both builds on this QEMU board (e.g. qemu-m55), bit-exact against TFLM, and report "
                   "instructions per inference.")
@click.option("--inputs", "n_inputs", default=3, show_default=True, help="Inputs per QEMU run.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def patches(model_paths: tuple[Path, ...], requests: tuple[str, ...], board: str, backend: str | None,
            qemu: str | None, n_inputs: int, fmt: str):
    """SRAM saved and MACs (and with --qemu instructions) spent by patch-based execution, per model."""
    from tinyq.bench.memory import DEFAULT_MODELS, collect_models
    from tinyq.bench.patches import REQUESTS, format_patch_table, patch_rows
    from tinyq.bench.synthetic import mobilenet_v1
    from tinyq.progress import Progress
    from tinyq.plan.patches import parse_request
    from tinyq.tflite.writer import write_model

    requests = requests or REQUESTS
    for r in requests:
        parse_request(r)  # a bad request is refused before any work
    with tempfile.TemporaryDirectory() as scratch:
        if model_paths:
            models = collect_models(list(model_paths))
        else:
            vww = Path(scratch) / "vww_mobilenet_v1_0.25_96.tflite"
            vww.write_bytes(write_model(mobilenet_v1(alpha=0.25, size=96)))
            models = [vww] + (sorted(DEFAULT_MODELS.glob("*int8*.tflite")) if DEFAULT_MODELS.is_dir() else [])
        rows = []
        with Progress("bench patches: models", total=len(models)) as bar:
            for done, model in enumerate(models, 1):
                click.echo(f"{model.name} ...", err=True)
                rows += patch_rows(model, requests, board, backend, qemu, n_inputs)
                bar.update(done)
    click.echo(json.dumps([asdict(r) for r in rows], indent=2) if fmt == "json" else format_patch_table(rows))
