"""`tinyq finetune`: quantization-aware fine-tuning of a float .tflite, written as tinyq quantize writes.

torch is imported only when the command runs: the rest of tinyq never needs it (pip install 'tinyq[qat]').
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import click

from tinyq.commands.options import json_format
from tinyq.qat.config import TrainConfig
from tinyq.quantize.config import IO_TYPES, WEIGHT_MODES

MODEL = click.Path(dir_okay=False, path_type=Path)
DEFAULTS = TrainConfig()
TORCH_MISSING = ("finetune needs PyTorch, which tinyq does not install by default",
                 "pip install 'tinyq[qat]' (CPU is enough)")


def require_torch() -> None:
    from tinyq.errors import TinyqError

    if importlib.util.find_spec("torch") is None:
        raise TinyqError(TORCH_MISSING[0], hint=TORCH_MISSING[1])


@click.command("finetune")
@click.argument("model", type=MODEL)
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="Training inputs: .npy (N x input shape), .npz (one array per input) or a folder of .npy.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Class labels, .npy of N integers: cross-entropy with them (plus the float model's outputs).")
@click.option("--distill", is_flag=True,
              help="No labels: match the float model's outputs (classifiers, autoencoders, regressors).")
@click.option("-o", "--output", "out_path", required=True, type=MODEL, help="The integer .tflite to write.")
@click.option("--weights", type=click.Choice(WEIGHT_MODES), default="int4", show_default=True,
              help="Weight types, as tinyq quantize --weights (mixed: int4 layers chosen by the quantizer).")
@click.option("--io", "io_type", type=click.Choice(IO_TYPES), default="int", show_default=True,
              help="The model's input and output types, as tinyq quantize --io.")
@click.option("--epochs", type=click.IntRange(1, 1000), default=DEFAULTS.epochs, show_default=True,
              help=f"At most this many epochs: an epoch is one pass over the training samples or 1/N of "
                   f"{DEFAULTS.min_steps} steps, whichever is more (training stops early when the held-out loss is "
                   "clearly worse; with --distill, when it stops falling).")
@click.option("--patience", type=click.IntRange(1, 1000), default=DEFAULTS.patience, show_default=True,
              help="Epochs in a row whose held-out loss is clearly worse than the lowest (with --distill: not below it) "
                   "before stopping.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.lr, show_default=True,
              help="Adam's learning rate (weights, biases, weight clip ratios and activation ranges).")
@click.option("--blends", type=click.IntRange(0, 64), default=DEFAULTS.blends, show_default=True,
              help="Mixup samples per training sample: blends of two, trained toward the float model's outputs "
                   "(keeps a few hundred samples from pulling the model away from the float one); 0: none.")
@click.option("--batch-size", type=click.IntRange(1, 65536), default=DEFAULTS.batch_size, show_default=True)
@click.option("--holdout", type=click.FloatRange(0.01, 0.9), default=0.2, show_default=True,
              help="Fraction of the samples held out: early stopping, and the post-training/finetuned choice.")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The summary as text or JSON (held-out scores, losses, the epochs).")
@json_format
def finetune(model: Path, data_path: Path, labels_path: Path | None, distill: bool, out_path: Path, weights: str,
             io_type: str, epochs: int, patience: int, lr: float, blends: int, batch_size: int, holdout: float,
             seed: int, fmt: str):
    """Fine-tune a float MODEL with fake quantization and write the full-integer .tflite (int8/int4 weights,
    int8 activations) that TFLM and tinyq run bit-exact.

    Training starts from what tinyq quantize makes of MODEL; the post-training model is kept instead only when
    it is clearly better on the held-out samples (the integer models, run in TFLM). With --distill the held-out
    loss is the measure itself: the epoch, and then the model, with the lower one is kept.
    """
    from tinyq.codegen.output import check_output_file, write_output_file
    from tinyq.quantize.data import _load_npy, load_calibration
    from tinyq.quantize.prepare import prepare_float_graph
    from tinyq.tflite.reader import read_model_file
    from tinyq.tflite.writer import write_model

    require_torch()
    check_output_file(out_path)
    graph = read_model_file(model)
    data = load_calibration(data_path, prepare_float_graph(graph, str(model)))
    labels = _load_npy(labels_path) if labels_path is not None else None
    if labels is not None and distill:
        from tinyq.errors import TinyqError

        raise TinyqError("--labels and --distill exclude each other", hint="labels: cross-entropy; distill: none")
    from tinyq.qat.pipeline import finetune_graph

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, range_lr=lr, patience=patience,
                         blends=blends, seed=seed)
    click.echo(f"fine-tuning {model} on {data.count} samples from {data_path} ({weights} weights)", err=True)
    from tinyq.progress import MessageProgress

    progress = MessageProgress()  # on a terminal the quantizer's counts are bars, other messages lines
    try:
        result = finetune_graph(graph, data, labels, distill, weights, io_type, config, holdout, progress,
                                str(model))
    finally:
        progress.close()
    payload = write_model(result.graph)
    write_output_file(out_path, payload)  # a temporary file renamed over it: never half-written
    if fmt == "json":
        click.echo(json.dumps(summary_json(result, str(out_path), len(payload)), indent=2))
    else:
        click.echo(summary_text(result, str(out_path), len(payload)))


def _fmt(value, name: str) -> str:
    if value is None:
        return "not measured (no tflite-micro)"
    if name.endswith("(dB)"):
        return "exact" if value == float("inf") else f"{value:.2f} dB"
    return f"{100 * value:.2f}%"


def _finite(value):
    return None if value is None or not math.isfinite(value) else value


def summary_json(result, out: str, size: int) -> dict:
    """What summary_text says, as values (an exact match's infinite SQNR is null)."""
    t = result.training
    return {"output": out, "bytes": size, "kept": result.kept, "score": result.score_name,
            "holdout_samples": result.holdout,
            "scores": {name: _finite(result.scores.get(name)) for name in ("float", "post-training", "finetuned")},
            "losses": {name: _finite(v) for name, v in result.losses.items()},
            "training": {"epochs": t.rows[-1].epoch, "best_epoch": t.best_epoch, "stopped_early": t.stopped_early,
                         "seconds": round(t.seconds, 3)},
            "seconds": round(result.seconds, 3)}


def summary_text(result, out: str, size: int) -> str:
    t = result.training
    stop = f"stopped early after epoch {t.rows[-1].epoch}" if t.stopped_early else f"{t.rows[-1].epoch} epochs"
    lines = [f"wrote {out} ({size:,} bytes): {result.kept} model kept",
             f"  held-out {result.score_name} on {result.holdout} samples (integer models in TFLM):"]
    for name in ("float", "post-training", "finetuned"):
        loss = f"  (loss {result.losses[name]:.4f})" if name in result.losses else ""
        lines.append(f"    {name:<14} {_fmt(result.scores.get(name), result.score_name)}{loss}")
    lines.append(f"  training: best epoch {t.best_epoch}, {stop}, {t.seconds:.1f} s; total {result.seconds:.1f} s")
    return "\n".join(lines)
