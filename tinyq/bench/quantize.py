"""`tinyq bench quantize`: tinyq's quantizer against TFLiteConverter's int8 PTQ, on real data.

Cases (read from ../shared, skipped when absent):
* digits (scikit-learn's bundled digits, 200 calibration / 540 labelled test
  samples): cnn_digits and mlp_digits, each with the converter's full-int8
  model beside the float one. Reported: top-1 of float (LiteRT), tinyq int8,
  converter int8, tinyq int4 and mixed (all int8 results from TFLM), output
  SQNR against float, file and weight bytes, quantize time, and per-layer SQNR
  of tinyq's and the converter's int8 model.
* MLPerf Tiny float models: no data ships with them, so calibration and test
  inputs are uniform random over the input range of the MLPerf int8 model: this
  shows the quantizer runs on them and what output SQNR it reaches, not accuracy.

    tinyq bench quantize [--ablation]   (or: python -m tinyq.bench.quantize)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click
import numpy as np

from tinyq.golden import tflm_run
from tinyq.ir import Graph
from tinyq.quantize import QuantizeConfig, check_calibration, quantize_graph
from tinyq.quantize.floatrun import FloatRunner
from tinyq.passes.fold import fold_constants
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.qparams import sqnr_db
from tinyq.quantize.report import quantize_inputs, sqnr_report
from tinyq.quantize.summary import weight_bytes
from tinyq.tflite.reader import read_model_file
from tinyq.tflite.writer import write_model

SHARED = Path(__file__).resolve().parent.parent.parent.parent / "shared"
DIGITS = SHARED / "quant"
MLPERF = SHARED / "models" / "mlperf-tiny"
MLPERF_CASES = ("ad_fc_autoencoder", "kws_dscnn", "ic_resnet8")
VARIANTS = {  # name -> config; int8 is the default configuration
    "int8": QuantizeConfig(),
    "int4": QuantizeConfig(weights="int4"),
    "mixed": QuantizeConfig(weights="mixed"),
}


@dataclass(frozen=True)
class Variant:
    name: str
    accuracy: float | None
    output_sqnr_db: float
    file_bytes: int
    weight_bytes: int
    seconds: float | None = None


@dataclass(frozen=True)
class CaseResult:
    case: str
    calib: str
    float_accuracy: float | None
    float_file_bytes: int
    float_weight_bytes: int
    variants: tuple[Variant, ...]  # tinyq int8, int4, mixed, then the reference int8 model
    layers: tuple[tuple[int, str, float, float | None], ...] = field(default=())  # op, kind, tinyq, reference


def _decode(graph: Graph, outputs: list[list[np.ndarray]]) -> np.ndarray:
    t = graph.tensors[graph.outputs[0]]
    values = np.array([np.asarray(o[0], dtype=np.float64).reshape(-1) for o in outputs])
    return (values - t.quant.zp) * t.quant.s if t.quant is not None else values


def _evaluate(name: str, graph: Graph, data: bytes, records, want: np.ndarray, labels, seconds=None) -> Variant:
    got = _decode(graph, tflm_run(data, [quantize_inputs(graph, r) for r in records]))
    accuracy = None if labels is None else float(np.mean(got.argmax(axis=1) == labels))
    return Variant(name, accuracy, sqnr_db(want, got), len(data), weight_bytes(graph), seconds)


def run_case(case: str, float_path: Path, reference_path: Path | None, calib: np.ndarray, test: np.ndarray,
             labels: np.ndarray | None, calib_note: str, progress: Callable[[str], None]) -> CaseResult:
    graph = read_model_file(float_path)
    float_graph = prepare_float_graph(graph, str(float_path))
    shape = float_graph.tensors[float_graph.inputs[0]].shape
    records = [[x.reshape(shape)] for x in test]
    runner = FloatRunner(float_graph)
    want = np.array([np.concatenate([np.ravel(o) for o in runner.outputs(r)]) for r in records])
    float_accuracy = None if labels is None else float(np.mean(want.argmax(axis=1) == labels))
    calib_set = check_calibration([calib.reshape((len(calib),) + shape[1:])], float_graph, calib_note)
    variants, int8 = [], None
    for name, config in VARIANTS.items():
        progress(f"{case}: quantizing ({name})")
        start = time.perf_counter()
        result = quantize_graph(graph, calib_set, config)
        seconds = time.perf_counter() - start
        data = write_model(result.graph)
        variants.append(_evaluate(f"tinyq {name}", result.graph, data, records, want, labels, seconds))
        int8 = int8 or result
    layers = []
    ours = sqnr_report(int8.float_graph, int8.graph, records)
    theirs = {}
    if reference_path is not None and reference_path.exists():
        progress(f"{case}: running the reference int8 model")
        ref = fold_constants(read_model_file(reference_path))
        variants.append(_evaluate("reference int8", ref, reference_path.read_bytes(), records, want, labels))
        theirs = {r.float_tensor: r.sqnr_db for r in sqnr_report(float_graph, ref, records).rows}
    for r in ours.rows:
        if r.op_index is not None:
            layers.append((r.op_index, r.op, r.sqnr_db, theirs.get(r.float_tensor)))
    return CaseResult(case, calib_note, float_accuracy, float_path.stat().st_size, weight_bytes(float_graph),
                      tuple(variants), tuple(layers))


def digits_cases(progress) -> list[CaseResult]:
    data = DIGITS / "data" / "digits"
    if not (data / "x_calib.npy").exists():
        progress(f"{data} is absent: digits cases skipped")
        return []
    calib, test, labels = (np.load(data / f) for f in ("x_calib.npy", "x_test.npy", "y_test.npy"))
    results = []
    for case in ("cnn_digits", "mlp_digits"):
        folder = DIGITS / "models" / case
        results.append(run_case(case, folder / "float32.tflite", folder / "tfl_int8.tflite", calib, test, labels,
                                f"digits x_calib ({len(calib)})", progress))
    return results


def mlperf_cases(progress, n_calib: int = 64, n_test: int = 32, seed: int = 0) -> list[CaseResult]:
    results = []
    for case in MLPERF_CASES:
        float_path, ref_path = MLPERF / f"{case}_float32.tflite", MLPERF / f"{case}_int8.tflite"
        if not float_path.exists():
            progress(f"{float_path} is absent: skipped")
            continue
        ref = read_model_file(ref_path)
        q = ref.tensors[ref.inputs[0]].quant
        lo, hi = q.s * (-128 - q.zp), q.s * (127 - q.zp)
        shape = ref.tensors[ref.inputs[0]].shape[1:]
        rng = np.random.default_rng(seed)
        calib = rng.uniform(lo, hi, size=(n_calib, *shape)).astype(np.float32)
        test = rng.uniform(lo, hi, size=(n_test, *shape)).astype(np.float32)
        results.append(run_case(case, float_path, ref_path, calib, test, None,
                                f"uniform random [{lo:.3g}, {hi:.3g}] ({n_calib})", progress))
    return results


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def format_table(results: list[CaseResult]) -> str:
    lines = [f"{'case':<18} {'model':<15} {'top-1':>8} {'out SQNR':>9} {'file B':>9} {'weights B':>10} "
             f"{'vs int8':>8} {'time s':>7}"]
    for r in results:
        lines.append(f"{r.case:<18} {'float':<15} {_pct(r.float_accuracy):>8} {'':>9} {r.float_file_bytes:>9,} "
                     f"{r.float_weight_bytes:>10,} {'':>8} {'':>7}")
        int8_bytes = r.variants[0].weight_bytes
        for v in r.variants:
            ratio = f"{v.weight_bytes / int8_bytes:7.0%}" if int8_bytes else ""
            secs = f"{v.seconds:7.2f}" if v.seconds is not None else ""
            lines.append(f"{'':<18} {v.name:<15} {_pct(v.accuracy):>8} {v.output_sqnr_db:7.1f}dB "
                         f"{v.file_bytes:>9,} {v.weight_bytes:>10,} {ratio:>8} {secs:>7}")
        lines.append(f"{'':<18} calibration: {r.calib}")
        if r.float_accuracy is None:
            lines.append(f"{'':<18} (the reference int8 model was calibrated on real data: on these random inputs"
                         " its SQNR is not comparable)")
    lines.append("")
    lines.append("per-layer output SQNR (dB) vs float, int8: tinyq / reference (converter) model")
    for r in results:
        parts = [f"op{op} {kind[:7]} {a:.1f}/{'-' if b is None else f'{b:.1f}'}" for op, kind, a, b in r.layers]
        lines.append(f"  {r.case:<18} " + ", ".join(parts))
    return "\n".join(lines)


ABLATION = {  # each improvement in turn, on the digits test set; the last line is the default
    "minmax (the converter's choice)": QuantizeConfig(observer="minmax", bias_correction=False, equalize=False),
    "minmax + bias correction": QuantizeConfig(observer="minmax", equalize=False),
    "percentile + bias correction": QuantizeConfig(observer="percentile", equalize=False),
    "mse + bias correction": QuantizeConfig(observer="mse", equalize=False),
    "mse + bias correction + equalization": QuantizeConfig(observer="mse", equalize=True),
}


def ablation(progress) -> str:
    data = DIGITS / "data" / "digits"
    if not (data / "x_calib.npy").exists():
        return "digits data absent: ablation skipped"
    calib, test, labels = (np.load(data / f) for f in ("x_calib.npy", "x_test.npy", "y_test.npy"))
    lines = [f"{'case':<11} {'configuration':<38} {'top-1':>7} {'mean layer':>10} {'logits':>7} {'output':>7}  dB"]
    for case in ("cnn_digits", "mlp_digits"):
        graph = read_model_file(DIGITS / "models" / case / "float32.tflite")
        shape = graph.tensors[graph.inputs[0]].shape
        records = [[x.reshape(shape)] for x in test]
        for label, config in ABLATION.items():
            progress(f"ablation: {case}, {label}")
            result = quantize_graph(graph, [calib.reshape((len(calib),) + shape[1:])], config)
            rows = [r for r in sqnr_report(result.float_graph, result.graph, records).rows if r.op_index is not None]
            outputs = tflm_run(write_model(result.graph), [quantize_inputs(result.graph, r) for r in records])
            top1 = float(np.mean([np.argmax(o[0]) == y for o, y in zip(outputs, labels)]))
            mean = float(np.mean([r.sqnr_db for r in rows[:-1]]))
            lines.append(f"{case:<11} {label:<38} {_pct(top1):>7} {mean:10.2f} {rows[-2].sqnr_db:7.2f} "
                         f"{rows[-1].sqnr_db:7.2f}")
    return "\n".join(lines)


@click.command("quantize")
@click.option("--cases", type=click.Choice(["all", "digits", "mlperf"]), default="all", show_default=True)
@click.option("--ablation", "run_ablation", is_flag=True,
              help="Also measure observers, bias correction and equalization one by one on the digits cases.")
def quantize_bench(cases: str, run_ablation: bool):
    """tinyq int8/int4/mixed vs TFLiteConverter int8: accuracy, SQNR, bytes, time."""
    def progress(message: str) -> None:
        click.echo(f"  {message}", err=True)

    if run_ablation:
        click.echo(ablation(progress))
        click.echo("")
    results = []
    if cases in ("all", "digits"):
        results += digits_cases(progress)
    if cases in ("all", "mlperf"):
        results += mlperf_cases(progress)
    if not results:
        click.echo("no benchmark data under ../shared: nothing to run (skipped)")
        return
    click.echo(format_table(results))


if __name__ == "__main__":
    quantize_bench()
