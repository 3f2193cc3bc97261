"""`tinyq bench ...`: measurements that compare tinyq with TFLM."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from tinyq.bench.cores_command import cores
from tinyq.bench.latency_command import latency, latency_options, run_latency
from tinyq.bench.patches_command import patches
from tinyq.commands.options import json_format


@click.group("bench", invoke_without_command=True)
@latency_options
@click.pass_context
def bench(ctx, **options):
    """Benchmarks: on-device latency over serial (--port), memory and quantization against TFLM.

    \b
    tinyq bench --port P --model M [--random N | --input-dir DIR] [--warmup K --runs R] [--json]
    """
    if ctx.invoked_subcommand is None:
        run_latency(**options)


@bench.command("memory")
@click.option("--models", "model_paths", multiple=True, type=click.Path(path_type=Path),
              help="A folder of .tflite models (all of them) or one model; repeatable "
                   "(default: the int8 models in ../shared/models/mlperf-tiny).")
@click.option("--no-tflm", is_flag=True, help="Skip the TFLM arena search (about 20 interpreter runs per model).")
@click.option("--synthetic/--no-synthetic", default=True, show_default=True,
              help="Add a MobileNetV1-0.25 96x96 built in code (random weights; memory depends on shapes only).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def memory(model_paths: tuple[Path, ...], no_tflm: bool, synthetic: bool, fmt: str):
    """Arena bytes per model: tinyq's plan, TFLM's smallest working arena, the lower bound; whether
    tinyq's arena is at most TFLM's on every model. Models tinyq refuses get a row with the reason."""
    from tinyq.bench.memory import DEFAULT_MODELS, bench_memory, collect_models, format_table, synthetic_models

    if model_paths:
        models = collect_models(list(model_paths))
    else:
        models = sorted(DEFAULT_MODELS.glob("*int8*.tflite")) if DEFAULT_MODELS.is_dir() else []
    if not models:
        click.echo(f"no .tflite models in {', '.join(map(str, model_paths or [DEFAULT_MODELS]))}: skipped them")
    with tempfile.TemporaryDirectory() as scratch:
        models += synthetic_models(Path(scratch)) if synthetic else []
        if not models:
            click.echo("nothing to benchmark")
            return
        rows = bench_memory(models, tflm=not no_tflm, progress=lambda m: click.echo(m, err=True))
    click.echo(json.dumps([asdict(r) for r in rows], indent=2) if fmt == "json" else format_table(rows))


bench.add_command(latency)
bench.add_command(cores)
bench.add_command(patches)


@bench.command("fuzz")
@click.option("--models", "model_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A .tflite or a folder of them (repeatable; default: ../shared's MLPerf Tiny, quantizer and "
                   "TFLM corpus models up to 2 MB).")
@click.option("--files", default=1000, show_default=True, help="Mutated files to make.")
@click.option("--seed", default=0, show_default=True, help="Seed of the mutations: a run is reproducible.")
@click.option("--jobs", default=2, show_default=True, help="Worker processes.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds one command may take on one file.")
@click.option("--sanitize", "sanitize", default=0, show_default=True,
              help="Compile and run this many accepted generated models under ASan+UBSan.")
@click.option("--verify", "verify", default=0, show_default=True,
              help="Compare this many accepted models with TFLM (tinyq verify): accepted but wrong?")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def fuzz_command(model_paths, files: int, seed: int, jobs: int, timeout: float, sanitize: int, verify: int,
                 fmt: str):
    """Mutated models through inspect, plan, generate and quantize: every outcome must be a success or a
    one-line refusal. Exits 1 when any command crashed, hung or left output behind, or an accepted model
    failed the sanitizers or TFLM's comparison."""
    from tinyq.bench.fuzz import DEFAULT_MODEL_DIRS, fuzz
    from tinyq.bench.fuzz_report import as_json, format_table

    report = fuzz(model_paths or DEFAULT_MODEL_DIRS, files=files, seed=seed, workers=jobs, timeout=timeout,
                  sanitize=sanitize, verify=verify, progress=lambda m: click.echo(m, err=True))
    if not report.outcomes:
        raise click.ClickException("no .tflite models found (pass --models)")
    click.echo(as_json(report) if fmt == "json" else format_table(report))
    failures = report.sanitizer.get("failures", []) if report.sanitizer else []
    raise SystemExit(1 if report.defects() or report.disagreements() or failures else 0)


@bench.command("graphs")
@click.option("--count", default=50, show_default=True, help="Random models to make.")
@click.option("--seed", default=0, show_default=True, help="Seed of the first model; model i has seed + i.")
@click.option("--mode", "modes", multiple=True,
              type=click.Choice(["float", "int8", "int16", "int4", "auto", "int16-float"]),
              help="What to check, repeatable: the float model, or a quantizer mode (int16-float: --activations "
                   "int16 --int16-fallback float) (default: float, int8, int16, int4).")
@click.option("--max-ops", default=8, show_default=True, help="Ops per model, at most.")
@click.option("--ops", "op_set", type=click.Choice(["base", "all"]), default="base", show_default=True,
              help="The generator rows drawn: base (the seeds earlier runs name), or all (base and the ops it "
                   "does not draw: ADD_N, SPACE_TO_BATCH_ND, GATHER_ND, UNPACK, float-only ops, ...).")
@click.option("--board", "boards", multiple=True,
              help="Where the generated C runs against TFLM, repeatable: host, or a QEMU board such as qemu-m55 "
                   "(CMSIS-NN with Helium) or qemu-m0-an385 (ARMv6-M) (default: host).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds one model may take, every mode.")
@click.option("--save", type=click.Path(file_okay=False, path_type=Path),
              help="Write each lead here (a model whose check failed or was refused, or whose output SQNR is "
                   "under 15 dB) as SEED.tflite, with its calibration data as SEED_calib.npz, to reproduce "
                   "with tinyq quantize/verify.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def graphs_command(count: int, seed: int, modes, max_ops: int, op_set: str, boards, timeout: float, save: Path | None,
                   fmt: str):
    """Random float models (tinyq's writer: convolutions, pooling, FC, elementwise, activations, data
    movement, in random DAGs) through LiteRT, tinyq and TFLM: the float model and each quantized one must
    be bit-exact with TFLM or refused in one line; output SQNR against the float model is reported.
    Exits 1 when any model differs from TFLM, crashes or hangs."""
    from tinyq.bench.graphs_run import DEFAULT_MODES, defects, format_table, run_models, save_models

    modes = modes or DEFAULT_MODES
    rows = run_models(range(seed, seed + count), modes, max_ops, timeout, progress=lambda m: click.echo(m, err=True),
                      boards=boards or ("host",), op_set=op_set)
    if save:
        save_models(rows, save, max_ops, op_set)
    click.echo(json.dumps([asdict(r) for r in rows], indent=2) if fmt == "json" else format_table(rows, modes))
    raise SystemExit(1 if defects(rows) else 0)
