"""The `tinyq` command line. Each command is a thin shell over tinyq.driver."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from tinyq import __version__
from tinyq.commands.options import arena_option, json_format
from tinyq.errors import TinyqError, path_error, printable, shorten

MODEL = click.Path(dir_okay=False, path_type=Path)
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyq")
def cli():
    """tinyq: compile .tflite models into static, bit-exact C for microcontrollers.

    \b
    Typical flow:
      tinyq inspect model.tflite              what is in it, what tinyq supports
      tinyq generate model.tflite -o out/     C sources: model, kernels, header
      tinyq verify model.tflite               compile and compare with TFLM, byte for byte
    """


@cli.command()
@click.argument("model", type=MODEL, required=False)
@click.option("--board", default="host", show_default=True, help="Board whose default backend to show.")
@click.option("--backend", default=None, help="Kernel backend (default: the board's).")
@arena_option
@click.option("--compare", nargs=2, type=MODEL, default=None, metavar="FLOAT INT8",
              help="Per-tensor SQNR of an int8 model against its float model (needs --calib).")
@click.option("--calib", type=click.Path(path_type=Path), default=None, help="Inputs for --compare (.npy/.npz/folder).")
@click.option("--samples", default=64, show_default=True, help="Samples --compare runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the ops, kernels and tensors as JSON.")
def inspect(model: Path | None, board: str, backend: str | None, arena: str, compare, calib: Path | None,
            samples: int, as_json: bool):
    """Show a model's ops, tensors and sizes, and which ops tinyq can lower."""
    if compare:
        from tinyq.quantize.command import compare as compare_models

        click.echo(compare_models(compare[0], compare[1], calib, samples))
        return
    if model is None:
        raise click.UsageError("inspect needs MODEL (or --compare FLOAT INT8 --calib DATA)")
    from tinyq import driver
    from tinyq.backends import target_of
    from tinyq.boards import get_board
    from tinyq.errors import UnsupportedError
    from tinyq.inspect_report import inspect_text

    _, read = driver.read(model)
    graph = driver.fold(read)
    b = get_board(board)
    try:
        bound = driver.bind(driver.lower(graph), b, backend, arena)
    except UnsupportedError:
        bound = None  # the op table below says which ops and why
    target = f"{backend or b.default_backend} on {b.name} ({target_of(b).isa} code path)"
    folded = len(read.operators) - len(graph.operators)
    if as_json:
        import json

        from tinyq.inspect_report import inspect_data

        click.echo(json.dumps(inspect_data(graph, str(model), bound, target, folded), indent=2))
        return
    click.echo(inspect_text(graph, str(model), bound, kernels_for=target, folded=folded, board=b))


@cli.command()
@click.argument("models", metavar="MODEL", type=MODEL, nargs=-1, required=True)
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write: new or empty (or, with --force, a previous tinyq output).")
@click.option("--force", is_flag=True,
              help="Replace the files of a previous tinyq output in the folder; other files stay.")
@click.option("--name", default=None, help="C name of the model (default: from the file name).")
@click.option("--board", default="host", show_default=True, help="Target board (see tinyq boards).")
@click.option("--backend", default=None, help="Kernel backend: reference, ... (default: the board's).")
@arena_option
@click.option("--stride", type=int, default=None,
              help="With a CLASSIFIER: samples between the frontend's windows (default: one window).")
@click.option("--labels", default=None, help="With a CLASSIFIER: its class names, comma separated.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written (files, arena) as JSON.")
@click.option("--patches", default=None, metavar="auto|lines|min|N|RxC",
              help="Run the first layers patch by patch (or line by line) from a streamed input (docs/patches.md).")
@click.option("--add", is_flag=True, help="Add MODEL to a folder of generated sources (host board): the models "
                                          "share one copy of each kernel.")
def generate(models: tuple[Path, ...], out_dir: Path, force: bool, name: str | None, board: str,
             backend: str | None, arena: str, stride: int | None, labels: str | None, as_json: bool,
             patches: str | None, add: bool):
    """Generate C sources for MODEL: <name>_model.c/.h and the kernels it calls.

    \b
    tinyq generate MODEL -o DIR --add: one more model in DIR (an application with several
    models); every model's entry point is tinyq_<name>_invoke(), the kernels are shared.

    \b
    tinyq generate FRONTEND CLASSIFIER: FRONTEND runs over sliding windows of a sample stream and
    CLASSIFIER reads its last outputs (TFLM's micro_speech: audio preprocessor + classifier,
    --stride 320): both in one project, with the streaming glue (tq_pipeline.h) and, on boards,
    the firmware's audio commands (tinyq classify).
    """
    from tinyq.boards import get_board
    from tinyq.codegen.output import check_output_dir, write_output_dir
    from tinyq.driver import compile_file

    from tinyq.build.project import generated_files, project_kind

    if len(models) > 2:
        raise click.UsageError("generate takes one MODEL, or a frontend MODEL and a CLASSIFIER")
    if len(models) == 1 and (stride is not None or labels is not None):
        raise click.UsageError("--stride and --labels describe a pipeline: give a frontend MODEL and a CLASSIFIER")
    if add and (len(models) == 2 or force):
        raise click.UsageError("--add puts one MODEL beside the folder's others (it keeps them; no --force)")
    b = get_board(board)
    if add and project_kind(b) != "host":
        raise click.UsageError(f"--add joins plain C sources; {b.name} generates a whole project: use --board host "
                               "for the sources of several models")
    if not add:
        check_output_dir(out_dir, force)
    if len(models) == 2:
        from tinyq.build.pipeline import generate_pipeline

        if name is not None:
            raise click.UsageError("--name names one model; a pipeline's models are named after their files")
        if patches is not None:
            raise click.UsageError("--patches runs one model's first layers in patches; give one MODEL")
        click.echo(generate_pipeline(models[0], models[1], out_dir, force, b, backend, stride,
                                     tuple(labels.split(",")) if labels is not None else None))
        return
    model = models[0]
    compiled = compile_file(model, b, backend=backend, name=name, patches=patches, arena=arena)
    files = generated_files(compiled, b, model)  # other boards: a firmware or vendor SDK project
    if add:
        from tinyq.codegen.add import add_to_output

        own = {f"{compiled.source.name}_model.c", f"{compiled.source.name}_model.h"}
        out = add_to_output(out_dir, files, own)
    else:
        out = write_output_dir(out_dir, files, force=force)
    plan = compiled.plan
    if as_json:
        import json

        click.echo(json.dumps({"path": str(out), "board": b.name, "name": compiled.source.name,
                               "files": sorted(files), "arena_bytes": plan.arena_bytes,
                               "lower_bound_bytes": plan.lower_bound_bytes,
                               "entry_point": f"tinyq_{compiled.source.name}_invoke"}, indent=2))
        return
    click.echo(f"wrote {len(files)} files to {out}" + (f" ({b.name} project: tinyq build {out_dir})"
                                                       if b.runner != "host" else ""))
    click.echo(f"  arena {plan.arena_bytes:,} B (lower bound {plan.lower_bound_bytes:,} B), "
               f"entry point tinyq_{compiled.source.name}_invoke()")


@cli.command()
@click.argument("model", type=MODEL)
@click.option("--board", default="host", show_default=True, help="Where to run the generated code.")
@click.option("--backend", default=None, help="Kernel backend (default: the board's).")
@arena_option
@click.option("--inputs", "n_inputs", default=100, show_default=True,
              help="Number of inputs (3 edge cases, then uniform random).")
@click.option("--layers", is_flag=True, help="Compare every intermediate tensor, to find the first diverging op.")
@click.option("--seed", default=0, show_default=True, help="Random seed for the inputs.")
@click.option("--port", default=None, help="Run on a device (or `tinyq qemu --serial`) that runs this model's "
                                           "benchmark firmware, e.g. /dev/ttyACM0 or socket://127.0.0.1:5555.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (mismatches, QEMU figures).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a JUnit XML report (one test case per input) for CI.")
@click.option("--patches", default=None, metavar="auto|lines|min|N|RxC",
              help="Run the first layers patch by patch (or line by line) from a streamed input (docs/patches.md).")
def verify(model: Path, board: str, backend: str | None, arena: str, n_inputs: int, layers: bool, seed: int,
           port: str | None, as_json: bool, junit_path: Path | None, patches: str | None):
    """Generate, compile and run MODEL, and compare with TFLM byte for byte.

    \b
    --board host (default): the host C compiler; --layers compares every tensor
    --board qemu-*/rp2040/ra8m1: firmware built and booted in QEMU (the stand-in
      for a real board), with instructions per inference
    --port P: a device already flashed with this model's firmware

    TFLM runs MODEL exactly as given. Exits 0 when every output (every tensor,
    with --layers) matches, 1 otherwise.
    """
    from tinyq.boards import get_board
    from tinyq.driver import compile_file
    from tinyq.golden import require_tflm
    from tinyq.run.qemu import qemu_board_for
    from tinyq.verify import HostRunner, SerialRunner, format_report, summarize, verify, verify_qemu

    import time

    from tinyq.verify.export import result_json, write_junit

    require_tflm()  # before any work: TFLM is the other half of every comparison
    if junit_path is not None:
        from tinyq.codegen.output import check_output_file

        check_output_file(junit_path)
    b = get_board(board)
    kernels = backend or b.default_backend
    compiled = compile_file(model, b, backend=backend, patches=patches, arena=arena)
    start = time.monotonic()
    if port is None and b.runner != "host":
        if layers:
            raise TinyqError("--layers compares intermediate tensors on the host only", hint="use --board host")
        qemu_board = qemu_board_for(b)
        click.echo(f"verifying {model} on {qemu_board.name} (QEMU {qemu_board.qemu.machine}), "
                   f"{n_inputs} inputs ...", err=True)
        report = verify_qemu(compiled, qemu_board, n_inputs=n_inputs, seed=seed)
        result, where = report.result, qemu_board.name
        click.echo(result_json(str(model), where, kernels, result, report.summary()) if as_json
                   else format_report(report, compiled.graph))
    else:
        runner = SerialRunner(port) if port else HostRunner(b)
        click.echo(f"verifying {model} on {port or b.name} ({kernels} kernels), "
                   f"{n_inputs} inputs{' layer by layer' if layers else ''} ...", err=True)
        result, where = verify(compiled, runner, n_inputs=n_inputs, seed=seed, layers=layers).result, port or b.name
        click.echo(result_json(str(model), where, kernels, result) if as_json else summarize(result, compiled.graph))
    if junit_path is not None:
        write_junit(junit_path, compiled.source.name, where, result, time.monotonic() - start)
    sys.exit(0 if result.ok else 1)


@cli.command("doctor")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
@click.option("--strict", is_flag=True, help="Exit 1 when a pinned component differs or is missing.")
def doctor_command(fmt: str, strict: bool):
    """Versions of what decides tinyq's answers: TFLM (the golden model), LiteRT, numpy, the
    compilers, QEMU and the kernel libraries, against the versions tinyq pins."""
    import json

    from tinyq.doctor import components, report

    items = components()
    if fmt == "json":
        click.echo(json.dumps([{"name": c.name, "found": c.found, "pinned": c.pinned, "ok": c.ok, "note": c.note}
                               for c in items], indent=2))
    else:
        click.echo(report(items))
    if strict and any(c.pinned and not c.ok for c in items):
        sys.exit(1)


@cli.command("boards")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "table"]), default="text", show_default=True,
              help="text or json (table: the old name of text, deprecated).")
@json_format
def boards_command(fmt: str):
    """List the boards (boards/*.toml): core, ISA, memory, backend, how code runs on them."""
    from tinyq.boards import all_boards
    from tinyq.build.commands import boards_text

    if fmt == "table":  # every other command says text|json
        click.echo("tinyq: warning: boards --format table is deprecated: use --format text", err=True)
        fmt = "text"
    click.echo(boards_text(all_boards(), fmt))


@cli.command("build")
@click.argument("project_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--board", default=None, help="Board to build for (default: the one the project was generated for).")
@click.option("--json", "as_json", is_flag=True, help="Print the image's sizes per section as JSON.")
def build_command(project_dir: Path, board: str | None, as_json: bool):
    """Compile a project from `tinyq generate --board B` and report flash/RAM per section.

    Bare-metal boards build with arm-none-eabi-gcc; rp2040/esp32s3 with the Pico SDK /
    ESP-IDF when PICO_SDK_PATH / IDF_PATH are set (else the error says what is missing).
    """
    from tinyq.boards import get_board
    from tinyq.build.commands import build_project
    from tinyq.build.project import load_project

    b = get_board(board or load_project(project_dir).board)
    if as_json:
        import json

        from tinyq.build.commands import build, built_dict

        click.echo(json.dumps(built_dict(build(project_dir, b, lambda line: click.echo(line, err=True))), indent=2))
        return
    build_project(project_dir, b, click.echo)


@cli.command("run")
@click.argument("project_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--qemu", "use_qemu", is_flag=True, help="Boot the firmware in QEMU (the only runner yet).")
@click.option("--board", default=None, help="QEMU board (default: the project's, or its QEMU stand-in).")
@click.option("--inputs", "n_inputs", default=20, show_default=True,
              help="Number of inputs (3 edge cases, then uniform random).")
@click.option("--seed", default=0, show_default=True, help="Random seed for the inputs.")
@click.option("--timeout", default=None, type=float, help="Seconds before QEMU is killed (default 60 + 5 per input).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def run_command(project_dir: Path, use_qemu: bool, board: str | None, n_inputs: int, seed: int,
                timeout: float | None, fmt: str):
    """Build and boot a generated firmware project, feed it inputs, compare with TFLM.

    Reports instructions per inference (QEMU -icount), flash and SRAM. Exits 0 when
    every output is bit-exact, 1 otherwise.
    """
    import json

    from tinyq.boards import get_board
    from tinyq.tflite.reader import read_model_file
    from tinyq.verify import format_report, run_project

    if not use_qemu:
        raise TinyqError("only QEMU runs are supported yet", hint="add --qemu")
    report = run_project(project_dir, get_board(board) if board else None, n_inputs, seed, timeout)
    if fmt == "json":
        click.echo(json.dumps(report.summary(), indent=2))
    else:
        click.echo(format_report(report, read_model_file(report_model_path(project_dir))))
    sys.exit(0 if report.result.ok else 1)


def report_model_path(project_dir: Path) -> Path:
    from tinyq.build.project import load_project

    return load_project(project_dir).model_path


def _add_commands() -> None:
    """Commands that live with their stage (tinyq plan, tinyq bench)."""
    from tinyq.bench.command import bench
    from tinyq.commands.plan import plan

    cli.add_command(plan)
    cli.add_command(bench)

    from tinyq.bench.firmware import firmware_bench

    bench.add_command(firmware_bench)

    from tinyq.demo import demo_command

    cli.add_command(demo_command())

    from tinyq.bench.quantize import quantize_bench
    from tinyq.quantize.command import quantize

    cli.add_command(quantize)
    bench.add_command(quantize_bench)

    from tinyq.serial.commands import flash_command, qemu_command
    from tinyq.serial.monitor import monitor_command

    cli.add_command(flash_command)
    cli.add_command(qemu_command)
    cli.add_command(monitor_command)

    from tinyq.serial.pipeline import classify_command

    cli.add_command(classify_command)

    from tinyq.eval.calibrate import calibrate_command
    from tinyq.eval.command import eval_command

    cli.add_command(eval_command)
    cli.add_command(calibrate_command)

    from tinyq.qat.command import finetune

    cli.add_command(finetune)


_add_commands()


def main(argv: list[str] | None = None) -> None:
    """Run the command line; every failure ends as one line on stderr and an exit code:
    2 bad input or usage, 3 a bug in tinyq, 130 interrupted (Ctrl-C)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        cli._main_shell_completion({}, "tinyq", None)  # `eval "$(_TINYQ_COMPLETE=bash_source tinyq)"`
        with cli.make_context("tinyq", args) as ctx:
            cli.invoke(ctx)  # not cli.main(): it turns an EOFError from any code into "Aborted!"
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except NO_ARGS_IS_HELP as exc:  # a bare `tinyq` or `tinyq bench`: the help
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else _command_path(args)
        _fail(f"tinyq: error: {_sentence(exc.format_message())} (see '{command} --help')", exc.exit_code)
    except click.ClickException as exc:
        _fail(f"tinyq: error: {_sentence(exc.format_message())}", exc.exit_code)
    except TinyqError as exc:
        _fail(f"tinyq: error: {exc}", exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _fail("tinyq: interrupted", 130)
    except BrokenPipeError:  # `tinyq ... | head`: the reader left; nothing to say
        sys.stdout = None
        sys.exit(141)
    except OSError as exc:
        error = path_error(exc)
        if error is None:
            _internal_error(exc)
        _fail(f"tinyq: error: {error}", error.exit_code)
    except Exception as exc:
        _internal_error(exc)


def _command_path(args: list[str]) -> str:
    """`tinyq generate` for the arguments of a usage error click raised without its context."""
    words, command = ["tinyq"], cli
    for arg in args:
        if arg.startswith("-"):
            continue
        sub = command.commands.get(arg) if isinstance(command, click.Group) else None
        if sub is None:
            break
        words.append(arg)
        command = sub
    return " ".join(words)


def _sentence(message: str) -> str:
    """Click's "Missing argument 'MODEL'." as "missing argument 'MODEL'": it goes into our line."""
    text = printable(message).rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _internal_error(exc: Exception) -> None:
    if os.environ.get("TINYQ_TRACEBACK") == "1":
        raise exc
    _fail(f"tinyq: internal error: {type(exc).__name__}: {shorten(printable(exc), 200)} (a bug in tinyq; rerun "
          "with TINYQ_TRACEBACK=1 for the traceback and report it)", 3)


def _fail(line: str, code: int) -> None:
    click.echo(line, err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
