"""`tinyq quantize` and `tinyq inspect --compare`: thin shells over the pipeline and the report."""

from __future__ import annotations

from pathlib import Path

import click

from tinyq.quantize.config import (ACTIVATION_MODES, INT16_FALLBACKS, IO_TYPES, ROUNDING_MODES, WEIGHT_MODES,
                                   QuantizeConfig)
from tinyq.quantize.observers import OBSERVERS

MODEL = click.Path(dir_okay=False, path_type=Path)
DEFAULTS = QuantizeConfig()


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


@click.command("quantize")
@click.argument("model", type=MODEL)
@click.option("--calib", "calib_path", required=True, type=click.Path(path_type=Path),
              help="Calibration inputs: .npy (N x input shape), .npz (one array per input) or a folder of .npy.")
@click.option("-o", "--output", "out_path", required=True, type=MODEL, help="The integer .tflite to write.")
@click.option("--io", "io_type", type=click.Choice(IO_TYPES), default=DEFAULTS.io, show_default=True,
              help="int: the model takes and returns integers of its first and last layers' width (int8, or int16 "
                   "where those are int16); int8/int16: that width (a QUANTIZE converts); float: QUANTIZE/DEQUANTIZE "
                   "at the edges.")
@click.option("--per-channel/--per-tensor", default=DEFAULTS.per_channel, show_default=True,
              help="One weight scale per output channel, or one per tensor.")
@click.option("--observer", type=click.Choice(sorted(OBSERVERS)), default=DEFAULTS.observer, show_default=True,
              help="How int8 activation ranges are chosen from calibration (with --self-check: minmax is tried "
                   "too). int16 layers (--activations int16/auto) ignore it: symmetric min/max with 2x headroom, "
                   "TFLite's 16x8 scheme.")
@click.option("--weights", type=click.Choice(WEIGHT_MODES), default=DEFAULTS.weights, show_default=True,
              help="int4 packs conv/depthwise/FC weights two per byte; mixed picks the int4 layers that cost least "
                   "output SQNR within --budget-flash (an exact knapsack over measured sensitivities).")
@click.option("--budget-flash", "--flash-budget", "flash_budget", type=int, default=None,
              help="With --weights mixed: bytes of weights + biases to fit (default: 70% of the all-int8 model's, "
                   "at least what all-int4 needs).")
@click.option("--rounding", type=click.Choice(ROUNDING_MODES), default=DEFAULTS.rounding, show_default=True,
              help="gptq: round each layer's weights to minimize its output error on the calibration inputs (GPTQ), "
                   "kept per output channel only where it is lower on held-back samples; auto: gptq for int4 weights "
                   "and for the int8 weights of int16-activation layers (16x8), nearest for int8 weights of int8 "
                   "layers; nearest: round to nearest.")
@click.option("--activations", type=click.Choice(ACTIVATION_MODES), default=DEFAULTS.activations, show_default=True,
              help="int16: TFLite's 16x8 (int16 activations, int8 weights, int64 biases) in every layer with an int16 "
                   "kernel; auto: int16 for the layers that gain most within --budget-sram, int8 elsewhere "
                   "(QUANTIZE ops join them).")
@click.option("--int16-fallback", type=click.Choice(INT16_FALLBACKS), default=DEFAULTS.int16_fallback,
              show_default=True,
              help="With --activations int16/auto, an op TFLM has no int16 kernel for (HARD_SWISH, ELU, LOG_SOFTMAX, "
                   "DIV, L2_NORMALIZATION, DEPTH_TO_SPACE, ...): int8 (its layer runs int8; small and fast) or float "
                   "(it runs in float32 between DEQUANTIZE and QUANTIZE and its layer stays int16, as the TFLite "
                   "converter's 16x8 falls back: more accurate, slower without an FPU).")
@click.option("--budget-sram", "--sram-budget", "sram_budget", type=int, default=None,
              help="With --activations auto: arena bytes to fit, as tinyq's planner gives them (default: halfway "
                   "between the all-int8 and all-int16 arenas, at least the all-int8 one).")
@click.option("--bias-correction/--no-bias-correction", default=DEFAULTS.bias_correction, show_default=True,
              help="Fold the mean output shift caused by weight rounding into the bias "
                   "(with --self-check: kept where it helps).")
@click.option("--equalize/--no-equalize", default=DEFAULTS.equalize, show_default=True,
              help="Cross-layer equalization of consecutive conv/FC layers, ReLU or nothing between them "
                   "(with --self-check: kept where it helps).")
@click.option("--self-check/--no-self-check", default=DEFAULTS.self_check, show_default=True,
              help="Build every on/off combination of the optional steps (equalization, bias correction, "
                   "clipping search), run each in TFLM, keep the best not below plain min/max on the calibration data.")
@click.option("--report", is_flag=True, help="Print per-tensor SQNR, chosen ranges and the layers that lose most.")
@click.option("--report-samples", default=64, show_default=True, help="Calibration samples the report runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and --report's rows) as JSON.")
def quantize(model: Path, calib_path: Path, out_path: Path, io_type: str, per_channel: bool, observer: str,
             weights: str, flash_budget: int | None, rounding: str, activations: str, int16_fallback: str,
             sram_budget: int | None, bias_correction: bool,
             equalize: bool, self_check: bool, report: bool, report_samples: int, as_json: bool):
    """Quantize a float MODEL to a full-integer .tflite for TFLM and tinyq: int8, 16x8 or both per layer."""
    from tinyq.codegen.output import check_output_file, write_output_file
    from tinyq.progress import MessageProgress
    from tinyq.quantize.data import load_calibration
    from tinyq.quantize.pipeline import quantize_graph
    from tinyq.quantize.prepare import prepare_float_graph
    from tinyq.quantize.summary import summary_text
    from tinyq.tflite.reader import read_model_file
    from tinyq.tflite.writer import write_model

    check_output_file(out_path)
    config = QuantizeConfig(io=io_type, per_channel=per_channel, observer=observer, weights=weights,
                            flash_budget=flash_budget, rounding=rounding, activations=activations,
                            int16_fallback=int16_fallback, sram_budget=sram_budget,
                            bias_correction=bias_correction, equalize=equalize, self_check=self_check)
    graph = read_model_file(model)
    calib = load_calibration(calib_path, prepare_float_graph(graph, str(model)))
    click.echo(f"quantizing {model} with {calib.count} calibration samples from {calib_path}", err=True)
    progress = MessageProgress()  # on a terminal the calibration's counts are a bar
    try:
        result = quantize_graph(graph, calib, config, progress=progress, where=str(model))
    finally:
        progress.close()
    data = write_model(result.graph)
    write_output_file(out_path, data)  # a temporary file renamed over it: never half-written
    if not as_json:
        click.echo(summary_text(result, str(out_path), len(data)))
    rep = None
    if report:
        from tinyq.quantize.report import format_report, sqnr_report

        _progress(f"report: running float (LiteRT) and the quantized model (TFLM) on "
                  f"{min(report_samples, calib.count)} samples")
        rep = sqnr_report(result.float_graph, result.graph, calib.records(result.float_graph, report_samples))
    if as_json:
        import json

        from tinyq.quantize.summary import summary_data

        click.echo(json.dumps(summary_data(result, str(out_path), len(data), rep), indent=2))
        return
    if report:
        click.echo(format_report(rep, result.activations))
        if result.check is not None:
            click.echo(result.check.describe())


def compare(float_path: Path, int8_path: Path, calib_path: Path | None, samples: int) -> str:
    """`tinyq inspect --compare FLOAT INT8 --calib DATA`: the SQNR report of any int8 model vs its float one."""
    from tinyq.errors import TinyqError
    from tinyq.quantize.data import load_calibration
    from tinyq.quantize.equalize import equalize
    from tinyq.passes.fold import fold_constants
    from tinyq.quantize.pipeline import quantize_metadata
    from tinyq.quantize.prepare import prepare_float_graph
    from tinyq.quantize.report import format_report, sqnr_report
    from tinyq.tflite.reader import read_model_file

    if calib_path is None:
        raise TinyqError("--compare needs --calib DATA (the inputs to run both models on)")
    float_graph = prepare_float_graph(read_model_file(float_path), str(float_path))
    int8_graph = fold_constants(read_model_file(int8_path))
    made_with = quantize_metadata(int8_graph)
    if made_with and made_with.get("equalize"):  # its tensors are those of the equalized float graph
        float_graph = equalize(float_graph)
    calib = load_calibration(calib_path, float_graph)
    _progress(f"running {float_path.name} (LiteRT) and {int8_path.name} (TFLM) on "
              f"{min(samples, calib.count)} samples")
    rep = sqnr_report(float_graph, int8_graph, calib.records(float_graph, samples))
    if not rep.rows:
        raise TinyqError("no tensor of the int8 model could be paired with the float model",
                         where=str(int8_path), hint="are these the float and int8 versions of one model?")
    return f"compare {int8_path} against {float_path}\n" + format_report(rep)
