"""Command-line glue of `tinyq bench --port P` (and its spelled-out form `tinyq bench latency`)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from tinyq.commands.options import json_choice, json_options
from tinyq.errors import TinyqError
from tinyq.progress import Progress

PATH = click.Path(path_type=Path)

LATENCY_OPTIONS = [
    click.option("--port", default=None, metavar="P",
                 help="Serial port or pyserial URL of the board: /dev/ttyACM0, COM5, socket://127.0.0.1:PORT."),
    click.option("--model", "model", type=PATH, default=None,
                 help="The .tflite the firmware was built from, or its project directory (golden model)."),
    click.option("--input-dir", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="Folder of input records (.npy per record, or raw .bin of all inputs)."),
    # --inputs is a count in verify and run: here it was the folder
    click.option("--inputs", "old_inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 hidden=True, help="Deprecated: --input-dir."),
    click.option("--random", "n_random", type=int, default=None,
                 help="Random inputs (3 edge cases first) instead of --input-dir [default: 3]."),
    click.option("--seed", default=0, show_default=True, help="Seed of --random."),
    click.option("--warmup", default=1, show_default=True, help="Untimed inferences per input."),
    click.option("--runs", default=5, show_default=True, help="Timed inferences per input."),
    click.option("--timeout", default=10.0, show_default=True,
                 help="Seconds a reply may take (per inference for the timed runs); no wait is longer."),
    click.option("--baud", default=115200, show_default=True, help="Baud rate (ignored by socket:// URLs)."),
    json_options("Write the report as JSON to PATH."),
    click.option("--csv", "csv_path", type=PATH, default=None, help="Write every timed run as CSV."),
]


def latency_options(fn):
    for option in reversed(LATENCY_OPTIONS):
        fn = option(fn)
    return fn


def run_latency(port: str | None, model: Path | None, inputs_dir: Path | None, n_random: int | None, seed: int,
                warmup: int, runs: int, timeout: float, baud: int, json_arg: str | None, json_file: Path | None,
                csv_path: Path | None, old_inputs_dir: Path | None = None) -> None:
    """Benchmark the board at PORT: latency per inference and outputs against TFLM. Exits 1 on a mismatch."""
    from tinyq.bench.latency import format_report, load_graph, read_inputs, run_bench, write_outputs
    from tinyq.verify import make_inputs

    as_json, json_path = json_choice("bench", json_arg, json_file)

    if old_inputs_dir is not None:
        click.echo(f"tinyq: warning: bench --inputs DIR is deprecated (--inputs is a count in verify and run): "
                   f"use --input-dir {old_inputs_dir}", err=True)
        if inputs_dir is not None:
            raise click.UsageError("--inputs is the deprecated name of --input-dir: give one of them")
        inputs_dir = old_inputs_dir
    if port is None or model is None:
        raise click.UsageError("tinyq bench needs --port P and --model M (or a subcommand: memory, quantize)")
    if inputs_dir is not None and n_random is not None:
        raise click.UsageError("--input-dir and --random exclude each other")
    from tinyq.codegen.output import check_output_file

    for path in (json_path, csv_path):  # before the board is busy for minutes
        if path is not None:
            check_output_file(path)
    graph, _ = load_graph(model)
    records = read_inputs(graph, inputs_dir) if inputs_dir else make_inputs(graph, n_random or 3, seed)
    if not records:
        raise TinyqError("no inputs to run", hint="--random N with N >= 1")
    total = len(records)
    with contextlib.ExitStack() as stack:
        bars = []

        def progress(done: int) -> None:
            if not bars:  # the bar appears once the device answered: a failure to connect is one line alone
                bars.append(stack.enter_context(Progress(f"benchmarking {total} inputs x {runs} runs", total)))
            bars[0].update(done)
        report = run_bench(port, model, records, warmup=warmup, runs=runs, timeout=timeout, baud=baud,
                           progress=progress)
    write_outputs(report, json_path, csv_path)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else format_report(report))
    sys.exit(0 if report.bit_exact else 1)


@click.command("latency")
@latency_options
def latency(**options):
    """On-device latency over serial (same as `tinyq bench --port ...`)."""
    run_latency(**options)
