"""`tinyq eval`: accuracy (or regression error) of a model on the user's data, on the host or on target."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
import numpy as np

from tinyq.eval.evaluate import TASKS

MODEL = click.Path(dir_okay=False, exists=True, path_type=Path)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.command("eval")
@click.argument("models", metavar="MODEL [MODEL2]", type=MODEL, nargs=-1, required=True)
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Inputs: .npy (N x input shape) or .npz (one array per input). Float data is quantized with a "
                   "quantized input's scale.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="One per sample: class indices (N,), one-hot rows, or reference outputs (regression).")
@click.option("--task", type=click.Choice(TASKS), default="auto", show_default=True,
              help="auto: classification for class labels (without labels: for a vector of scores, unless the model "
                   "is an autoencoder), else regression.")
@click.option("--output", "output_name", default="0", show_default=True, metavar="K|NAME",
              help="The output the labels and the task are for, by position or tensor name (two models are compared "
                   "on every output as well).")
@click.option("--top-k", "top_k", default=1, show_default=True, help="Also report top-K accuracy (K > 1).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate the first N samples only.")
@click.option("--board", default=None, help="Run the models as tinyq compiles them: in QEMU (qemu-m55, ..., or a "
              "board's QEMU stand-in), or with the host compiler (host), instead of under TFLM.")
@click.option("--port", default=None, help="A device (or `tinyq qemu DIR --serial tcp:PORT`) running the benchmark "
              "firmware of one of the models: that model runs there, the other under TFLM on the host.")
@click.option("--baud", default=115200, show_default=True, help="Baud rate of --port.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds one exchange with --port may take.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_command(models: tuple[Path, ...], data_path: Path, labels_path: Path | None, task: str, output_name: str,
                 top_k: int,
                 limit: int | None, board: str | None, port: str | None, baud: int, timeout: float, as_json: bool):
    """Accuracy of MODEL on --data: top-1/top-k and a confusion matrix against --labels, or RMSE, MAE,
    L2 relative error, cosine similarity and SQNR against reference outputs.

    \b
    Two models (a float file, then its quantized version): each is scored, and MODEL2 is compared
    with MODEL sample by sample (top-1 agreement, output SQNR), with or without labels.
    Without labels an autoencoder is scored against its own input (its reconstruction error).
    \b
    Runs under TFLM on the host; --board qemu-m55: the code tinyq generates, in QEMU (--board host:
    built with the host compiler); --port P: on a device running a model's benchmark firmware
    ("benchmark on target"). Figures are for the first output, or --output's.
    """
    from tinyq.eval import execute
    from tinyq.eval.data import load_data, load_labels, model_records
    from tinyq.eval.evaluate import evaluate, output_index, resolve_task
    from tinyq.eval.report import format_json, format_text
    from tinyq.tflite.reader import read_model_file

    if len(models) > 2:
        raise click.UsageError("eval takes one MODEL, or a float MODEL and its quantized MODEL2")
    if board is not None and port is not None:
        raise click.UsageError("--board runs the models as tinyq compiles them, --port on a device: give one of them")
    if top_k < 1:
        raise click.UsageError("--top-k must be 1 or more")
    graphs = [read_model_file(m) for m in models]
    datasets = [load_data(data_path, g) for g in graphs]  # the data must fit both models
    count = datasets[0].count
    labels = load_labels(labels_path, count)[:limit] if labels_path is not None else None
    output = output_index(graphs[0], output_name)
    task = resolve_task(task, labels, graphs, str(labels_path), output)
    b = None
    if board is not None:
        from tinyq.boards import get_board

        b = get_board(board)
    runs = []
    with contextlib.ExitStack() as stack:
        dut, info = stack.enter_context(execute.device(port, baud, timeout)) if port is not None else (None, None)
        device_index = execute.device_model(info, list(models), port) if dut is not None else None
        for k, (path, graph, data) in enumerate(zip(models, graphs, datasets)):
            records = model_records(data.head(limit), graph)
            if b is not None:
                runs.append(execute.run_generated(path, graph, records, b, _echo_err))
            elif k == device_index:
                runs.append(execute.run_device(dut, info, path, graph, records, timeout))
            else:
                runs.append(execute.run_host(path, graph, records))
    inputs = _real_inputs(datasets[0].head(limit), graphs[0])
    ev = evaluate(runs, labels, task, top_k, inputs, output)
    text = format_json if as_json else format_text
    click.echo(text(ev, str(data_path), str(labels_path) if labels_path else None))


def _real_inputs(data, graph) -> np.ndarray | None:
    """The single input's real values per sample (an autoencoder's reference), or None."""
    if len(graph.inputs) != 1:
        return None
    values, t = data.arrays[0], graph.tensors[graph.inputs[0]]
    if values.dtype.kind != "f" and t.quant is not None:
        return (values.astype(np.float64) - t.quant.zp) * t.quant.s
    return values.astype(np.float64)
