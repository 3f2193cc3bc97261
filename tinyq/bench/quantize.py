"""`tinyq bench quantize`: tinyq's quantizer against TFLiteConverter's int8 and 16x8 PTQ.

Cases (the ../shared ones skipped when absent):
* digits (scikit-learn's bundled digits, 200 calibration / 540 labelled test
  samples): cnn_digits and mlp_digits, each with the converter's full-int8
  model beside the float one. Reported: top-1 of float (LiteRT), tinyq int8,
  converter int8, tinyq int4 (nearest and GPTQ rounding) and mixed, tinyq int16
  (16x8) and auto (int8 and int16 activations per layer) (all integer results from TFLM).
* MLPerf Tiny float models (KWS DS-CNN, ResNet-8, AD autoencoder). No data
  ships with them, so calibration (64) and test (64, disjoint) inputs are
  uniform random over the input range of the MLPerf int8 model - the one
  thing the files say about their inputs. The MLPerf int8 files were
  calibrated on the real data: on these inputs they are at a disadvantage.
  Without labels, a classifier's measure is its top-1 agreement with the float
  model on the test inputs (beside the output and logits SQNR).
* MobileNetV1-0.25 96x96 built in code with near-dead channels
  (tinyq.bench.float_mobilenet), ReLU like MLPerf's visual wake words model
  and a ReLU6 variant, on random images.

With `--converter-python PY` (a Python with tensorflow), the converter also
quantizes each float file with the same calibration inputs as tinyq, in int8
and in its 16x8 mode (tflite_converter.py; given the float graph tinyq
prepared, i.e. hybrid weights made float, which the 16x8 quantizer refuses):
the like-for-like comparison. Every integer model runs in TFLM; SQNR is against
the float model (LiteRT) on the test inputs, at the outputs and at the logits
under an output softmax. The arena of each model is tinyq's plan for it (host,
reference kernels). The int4 table puts the weight-precision rows side by side:
output SQNR, top-1 (or agreement with float), weight bytes against tinyq int8,
seconds per quantize, and whether the row is within 3 dB of tinyq int8's output
SQNR at 30% or more fewer weight bytes.

    tinyq bench quantize [--cases all|digits|mlperf|mobilenet] [--variants int8,int4,...] [--converter-python PY]
                         [--ablation]
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click
import numpy as np

from tinyq import qmath
from tinyq.commands.options import json_format
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ir import Graph
from tinyq.passes.fold import fold_constants
from tinyq.quantize import QuantizeConfig, check_calibration, quantize_graph
from tinyq.quantize.activations import arena_bytes
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.qparams import sqnr_db
from tinyq.quantize.report import sqnr_report
from tinyq.quantize.selfcheck import Reference, float_reference, point_values, steps_text
from tinyq.quantize.summary import weight_bytes
from tinyq.tables import table
from tinyq.tflite.reader import read_model, read_model_file
from tinyq.tflite.writer import write_model

SHARED = Path(__file__).resolve().parent.parent.parent.parent / "shared"
DIGITS = SHARED / "quant"
MLPERF = SHARED / "models" / "mlperf-tiny"
MLPERF_CASES = ("ad_fc_autoencoder", "kws_dscnn", "ic_resnet8")
CONVERTER_SCRIPT = Path(__file__).with_name("tflite_converter.py")
PLAIN = QuantizeConfig(self_check=False, observer="minmax", bias_correction=False, equalize=False)
VARIANTS = {  # name -> config; int8 is the default configuration
    "int8": QuantizeConfig(),
    "plain min/max": PLAIN,
    "int4 nearest": QuantizeConfig(weights="int4", rounding="nearest"),
    "int4": QuantizeConfig(weights="int4"),  # GPTQ rounding (the default for int4 weights)
    "mixed": QuantizeConfig(weights="mixed"),
    "mixed+a16": QuantizeConfig(weights="mixed", activations="auto"),  # both budgets: flash 70%, SRAM halfway
    "int16 nearest": QuantizeConfig(activations="int16", rounding="nearest"),
    "int16": QuantizeConfig(activations="int16"),  # GPTQ rounding of its int8 weights (the default at 16x8)
    "auto nearest": QuantizeConfig(activations="auto", rounding="nearest"),
    "auto": QuantizeConfig(activations="auto"),
}
FILE_ROW, SAME_CALIB_ROW = "converter int8 file", "converter int8 same calib"
SAME_CALIB_16X8_ROW = "converter 16x8 same calib"


@dataclass(frozen=True)
class Case:
    name: str
    graph: Graph  # the float model as read or built
    float_bytes: bytes
    reference_path: Path | None  # the converter's int8 file shipped beside it
    calib: np.ndarray
    test: np.ndarray
    labels: np.ndarray | None
    inputs: str  # what the calibration and test inputs are


@dataclass(frozen=True)
class Variant:
    name: str
    accuracy: float | None
    sqnr_db: tuple[float, ...]  # outputs, then logits
    outputs: int
    file_bytes: int
    weight_bytes: int
    seconds: float | None = None
    kept: str | None = None  # the optional steps the self-check kept
    arena_bytes: int | None = None  # tinyq's plan (None: tinyq cannot lower it)
    int16_layers: str = ""  # "k/n": layers with int16 activations
    agreement: float | None = None  # top-1 agreement with the float model (classifiers: an output softmax)

    @property
    def output_sqnr_db(self) -> float:
        return min(self.sqnr_db[:self.outputs])

    @property
    def logits_sqnr_db(self) -> float | None:
        return self.sqnr_db[self.outputs] if len(self.sqnr_db) > self.outputs else None


@dataclass(frozen=True)
class CaseResult:
    case: str
    calib: str
    float_accuracy: float | None
    float_file_bytes: int
    float_weight_bytes: int
    variants: tuple[Variant, ...]  # tinyq variants, then the converter's int8 models
    layers: tuple[tuple[int, str, float, float | None], ...] = field(default=())  # op, kind, tinyq, reference

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


def _arena(graph: Graph) -> int | None:
    try:
        return arena_bytes(fold_constants(graph))
    except UnsupportedError:
        return None


def _int16_layers(result) -> str:
    if result.widths is None:
        return ""
    return f"{sum(r.dtype == 'int16' for r in result.widths.rows)}/{len(result.widths.rows)}"


def _top1(values: np.ndarray, samples: int) -> np.ndarray:
    return values.reshape(samples, -1).argmax(axis=1)


def _evaluate(name: str, graph: Graph, file_bytes: int, ref: Reference, labels, seconds=None, kept=None,
              int16_layers: str = "") -> Variant:
    values = point_values(graph, ref)
    samples = len(ref.records)
    accuracy = None
    if labels is not None:
        accuracy = float(np.mean(_top1(values[0], samples) == labels))
    agreement = None
    if len(ref.values) > ref.outputs:  # a softmax output: a classifier
        agreement = float(np.mean(_top1(values[0], samples) == _top1(ref.values[0], samples)))
    sqnrs = tuple(sqnr_db(want, got) for want, got in zip(ref.values, values))
    return Variant(name, accuracy, sqnrs, ref.outputs, file_bytes, weight_bytes(graph), seconds, kept, _arena(graph),
                   int16_layers, agreement)


def run_converter(python: str, float_bytes: bytes, calib: np.ndarray, activations: str = "int8") -> tuple[bytes, float]:
    """The converter's int8 or 16x8 model of a float .tflite with these calibration inputs, and its seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "float.tflite").write_bytes(float_bytes)
        np.savez(folder / "calib.npz", input_0=calib)
        start = time.perf_counter()
        done = subprocess.run([python, str(CONVERTER_SCRIPT), str(folder / "float.tflite"), str(folder / "calib.npz"),
                               str(folder / "int8.tflite"), activations], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            raise TinyqError(f"the converter failed: {last}", where=python,
                             hint="--converter-python must be a Python with tensorflow installed")
        return (folder / "int8.tflite").read_bytes(), seconds


def run_case(case: Case, progress: Callable[[str], None], converter_python: str | None = None,
             only: tuple[str, ...] | None = None) -> CaseResult:
    """Every variant (or int8 and those in `only`), then the converter's models, on one case."""
    float_graph = prepare_float_graph(case.graph, case.name)
    shape = float_graph.tensors[float_graph.inputs[0]].shape
    ref = float_reference(float_graph, [[x.reshape(shape)] for x in case.test])
    float_accuracy = None
    if case.labels is not None:
        float_accuracy = float(np.mean(ref.values[0].reshape(len(case.labels), -1).argmax(axis=1) == case.labels))
    calib_set = check_calibration([case.calib.reshape((len(case.calib),) + shape[1:])], float_graph, case.inputs)
    todo = {name: config for name, config in VARIANTS.items() if only is None or name in only or name == "int8"}
    variants, int8 = [], None
    for name, config in todo.items():
        progress(f"{case.name}: quantizing ({name})")
        start = time.perf_counter()
        result = quantize_graph(case.graph, calib_set, config)
        seconds = time.perf_counter() - start
        kept = steps_text(result.check.kept_steps, result.config) if result.check else None
        variants.append(_evaluate(f"tinyq {name}", result.graph, len(write_model(result.graph)), ref, case.labels,
                                  seconds, kept, _int16_layers(result)))
        int8 = int8 or result
    theirs = {}
    records = list(ref.records)
    if case.reference_path is not None and case.reference_path.exists():
        progress(f"{case.name}: running the converter's int8 file")
        converted = fold_constants(read_model_file(case.reference_path))
        variants.append(_evaluate(FILE_ROW, converted, case.reference_path.stat().st_size, ref, case.labels))
        theirs = {r.float_tensor: r.sqnr_db for r in sqnr_report(float_graph, converted, records).rows}
    if converter_python:
        progress(f"{case.name}: the converter quantizes the float model with the same calibration inputs")
        data, seconds = run_converter(converter_python, case.float_bytes, calib_set.arrays[0])
        variants.append(_evaluate(SAME_CALIB_ROW, fold_constants(read_model(data)), len(data), ref, case.labels,
                                  seconds))
    if converter_python and {"int16", "auto"} & set(todo):
        progress(f"{case.name}: the converter's 16x8 mode, same calibration inputs")
        data, seconds = run_converter(converter_python, write_model(float_graph), calib_set.arrays[0], "int16")
        variants.append(_evaluate(SAME_CALIB_16X8_ROW, fold_constants(read_model(data)), len(data), ref, case.labels,
                                  seconds))
    ours = sqnr_report(int8.float_graph, int8.graph, records)
    layers = tuple((r.op_index, r.op, r.sqnr_db, theirs.get(r.float_tensor)) for r in ours.rows
                   if r.op_index is not None)
    return CaseResult(case.name, case.inputs, float_accuracy, len(case.float_bytes), weight_bytes(float_graph),
                      tuple(variants), layers)


def _file_case(name: str, float_path: Path, reference_path: Path, calib, test, labels, inputs: str) -> Case:
    return Case(name, read_model_file(float_path), float_path.read_bytes(), reference_path, calib, test, labels,
                inputs)


def digits_cases(progress) -> list[Case]:
    data = DIGITS / "data" / "digits"
    if not (data / "x_calib.npy").exists():
        progress(f"{data} is absent: digits cases skipped")
        return []
    calib, test, labels = (np.load(data / f) for f in ("x_calib.npy", "x_test.npy", "y_test.npy"))
    return [_file_case(case, DIGITS / "models" / case / "float32.tflite", DIGITS / "models" / case / "tfl_int8.tflite",
                       calib, test, labels, f"digits x_calib ({len(calib)}), x_test ({len(test)})")
            for case in ("cnn_digits", "mlp_digits")]


def mlperf_cases(progress, n_calib: int = 64, n_test: int = 64, seed: int = 0) -> list[Case]:
    cases = []
    for case in MLPERF_CASES:
        float_path, ref_path = MLPERF / f"{case}_float32.tflite", MLPERF / f"{case}_int8.tflite"
        if not float_path.exists():
            progress(f"{float_path} is absent: skipped")
            continue
        ref = read_model_file(ref_path)
        q = ref.tensors[ref.inputs[0]].quant
        lo, hi = qmath.real_range(q.s, q.zp)
        shape = ref.tensors[ref.inputs[0]].shape[1:]
        rng = np.random.default_rng(seed)
        calib = rng.uniform(lo, hi, size=(n_calib, *shape)).astype(np.float32)
        test = rng.uniform(lo, hi, size=(n_test, *shape)).astype(np.float32)
        cases.append(_file_case(case, float_path, ref_path, calib, test, None,
                                f"uniform [{lo:.3g}, {hi:.3g}] ({n_calib} calib, {n_test} test)"))
    return cases


def mobilenet_cases(n_calib: int = 64, n_test: int = 64) -> list[Case]:
    from tinyq.bench.float_mobilenet import image_inputs, mobilenet_v1_float

    cases = []
    for activation, near_dead, seed in (("RELU", 0.1, 0), ("RELU6", 0.2, 1)):  # ReLU: like MLPerf's VWW model
        graph = mobilenet_v1_float(activation=activation, near_dead=near_dead, seed=seed)
        cases.append(Case(f"mobilenet_v1 {activation.lower()}", graph, write_model(graph), None,
                          image_inputs(n_calib, 96, seed=0), image_inputs(n_test, 96, seed=1), None,
                          f"random images ({n_calib} calib, {n_test} test), {near_dead:.0%} near-dead channels, "
                          f"weights seed {seed}"))
    return cases


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _db(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _bytes(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def format_table(results: list[CaseResult]) -> str:
    header = ("case", "model", "top-1", "out dB", "logit dB", "file B", "weights B", "vs int8", "arena B", "a16",
              "time s")
    rows = []
    for r in results:
        rows.append((r.case, "float", _pct(r.float_accuracy), "", "", f"{r.float_file_bytes:,}",
                     f"{r.float_weight_bytes:,}", "", "", "", ""))
        int8_bytes = r.variants[0].weight_bytes
        for v in r.variants:
            ratio = f"{v.weight_bytes / int8_bytes:.0%}" if int8_bytes else ""
            rows.append(("", v.name, _pct(v.accuracy), f"{v.output_sqnr_db:.1f}", _db(v.logits_sqnr_db),
                         f"{v.file_bytes:,}", f"{v.weight_bytes:,}", ratio, _bytes(v.arena_bytes), str(v.int16_layers),
                         f"{v.seconds:.2f}" if v.seconds is not None else ""))
        rows.append(("", f"inputs: {r.calib}"))  # a note row
    lines = [table(header, rows, align="llr"), ""]
    lines.append("per-layer SQNR (dB) vs float, int8: tinyq / the converter's int8 file")
    for r in results:
        parts = [f"op{op} {kind[:7]} {a:.1f}/{_db(b)}" for op, kind, a, b in r.layers]
        lines.append(f"  {r.case:<20} " + ", ".join(parts))
    return "\n".join(lines)


def auto_wins(r: CaseResult) -> bool:
    """Mixed a8/a16 above all-int8 (top-1 where there are labels, else output SQNR) at less arena than all-int16."""
    int8, auto, int16 = r.variant("tinyq int8"), r.variant("tinyq auto"), r.variant("tinyq int16")
    if None in (int8, auto, int16) or None in (auto.arena_bytes, int16.arena_bytes):
        return False
    better = (auto.accuracy > int8.accuracy if auto.accuracy is not None and auto.accuracy != int8.accuracy
              else auto.output_sqnr_db > int8.output_sqnr_db)
    return better and auto.arena_bytes < int16.arena_bytes


def format_activations(results: list[CaseResult]) -> str:
    """int8, auto and int16 activations side by side: accuracy, output SQNR, arena; and the converter's 16x8."""
    title = ("activations: int8 / auto (a8+a16 per layer, default budget) / int16 (16x8) / converter 16x8 same calib: "
             "top-1, output dB, arena B; 'wins': auto above int8 at less arena than int16")
    rows = []
    for r in results:
        cells = []
        for name in ("tinyq int8", "tinyq auto", "tinyq int16", SAME_CALIB_16X8_ROW):
            v = r.variant(name)
            cells.append("-" if v is None else
                         f"{_pct(v.accuracy) if v.accuracy is not None else ''} {v.output_sqnr_db:.1f} dB "
                         f"{_bytes(v.arena_bytes)} B".strip())
        rows.append((r.case, *cells, "yes" if auto_wins(r) else "no"))
    return table(("model", "int8", "auto", "int16", "converter 16x8", "wins"), rows, align="lrrrrl", indent="  ",
                 title=title)


def format_comparison(results: list[CaseResult]) -> str:
    """One row per model: output / logits SQNR of the converter's int8 and tinyq's, and what the self-check kept."""
    def pair(v: Variant | None) -> str:
        return "-" if v is None else f"{v.output_sqnr_db:.1f}/{_db(v.logits_sqnr_db)}"

    rows = []
    for r in results:
        ours, plain = r.variant("tinyq int8"), r.variant("tinyq plain min/max")
        file_row, same = r.variant(FILE_ROW), r.variant(SAME_CALIB_ROW)
        theirs = same or file_row
        delta = f"{ours.output_sqnr_db - theirs.output_sqnr_db:+.1f}" if theirs else "-"
        rows.append((r.case, pair(file_row), pair(same), pair(plain), pair(ours), delta, f"{ours.seconds:.2f}",
                     ours.kept))
    lines = [table(("model", "conv. file", "conv. same", "plain", "tinyq", "delta", "time s", "self-check kept"), rows,
                   align="lrrrrrrl", indent="  ",
                   title="int8 output/logits SQNR vs float (dB), TFLM, on the test inputs; delta = tinyq - converter "
                         "at the output (same-calibration converter when run, else its file)")]
    if not any(r.variant("tinyq int16") for r in results):
        return "\n".join(lines)
    rows = []
    for r in results:
        ours, theirs = r.variant("tinyq int16"), r.variant(SAME_CALIB_16X8_ROW)
        if ours is None:
            continue
        delta = f"{ours.output_sqnr_db - theirs.output_sqnr_db:+.1f}" if theirs else "-"
        rows.append((r.case, pair(theirs), pair(ours), delta, f"{ours.seconds:.2f}", ours.kept))
    lines.append(table(("model", "conv. 16x8", "tinyq", "delta", "time s", "self-check kept"), rows,
                       align="lrrrrl", indent="  ",
                       title="16x8 (int16 activations) output/logits SQNR vs float (dB); delta = tinyq int16 - the "
                             "converter's 16x8 mode at the output (same calibration inputs; needs --converter-python)"))
    return "\n".join(lines)


INT4_ROWS = (SAME_CALIB_ROW, FILE_ROW, "tinyq int8", "tinyq int4 nearest", "tinyq int4", "tinyq mixed",
             "tinyq mixed+a16")
WEIGHT_ROWS = INT4_ROWS[3:]  # the rows the mark applies to
WITHIN_DB, FEWER_BYTES = 3.0, 0.30  # issue #17's mark: within 3 dB of tinyq int8 at >= 30% fewer weight bytes


def meets_mark(v: Variant, int8: Variant) -> bool:
    return (v.output_sqnr_db >= int8.output_sqnr_db - WITHIN_DB
            and v.weight_bytes <= (1 - FEWER_BYTES) * int8.weight_bytes)


def format_int4(results: list[CaseResult]) -> str:
    """Weight precision side by side: the converter's int8, tinyq int8, int4 (nearest, GPTQ) and mixed."""
    title = (f"weights: output / logits SQNR vs float (dB, TFLM, test inputs), top-1 (labels) or top-1 agreement "
             f"with float (no labels), weight bytes vs tinyq int8, seconds per quantize; mark: within {WITHIN_DB:g} dB "
             f"of tinyq int8's output SQNR at >= {FEWER_BYTES:.0%} fewer weight bytes")
    rows = []
    for r in results:
        int8 = r.variant("tinyq int8")
        for name in INT4_ROWS:
            v = r.variant(name)
            if v is None or (name == FILE_ROW and r.variant(SAME_CALIB_ROW) is not None):
                continue
            mark = ("yes" if meets_mark(v, int8) else "no") if name in WEIGHT_ROWS else ""
            rows.append((r.case, v.name, f"{v.output_sqnr_db:.1f}", _db(v.logits_sqnr_db), _pct(v.accuracy),
                         _pct(v.agreement), f"{v.weight_bytes:,}", f"{v.weight_bytes / int8.weight_bytes:.0%}",
                         _bytes(v.arena_bytes), f"{v.seconds:.2f}" if v.seconds is not None else "", mark))
    return table(("model", "variant", "out dB", "logit dB", "top-1", "agree", "weights B", "vs int8", "arena B",
                  "time s", "mark"), rows, align="llrrrrrrrrl", indent="  ", title=title)


ABLATION = {  # each step alone, without the self-check, on the digits test set; the last line is the default steps
    "minmax (the converter's choice)": PLAIN,
    "minmax + bias correction": QuantizeConfig(self_check=False, observer="minmax", equalize=False),
    "percentile + bias correction": QuantizeConfig(self_check=False, observer="percentile", equalize=False),
    "mse + bias correction": QuantizeConfig(self_check=False, observer="mse", equalize=False),
    "mse + bias correction + equalization": QuantizeConfig(self_check=False, observer="mse", equalize=True),
}


def ablation(progress) -> list[dict] | None:
    """Each ABLATION configuration on the digits cases (None: the digits data is absent)."""
    data = DIGITS / "data" / "digits"
    if not (data / "x_calib.npy").exists():
        return None
    calib, test, labels = (np.load(data / f) for f in ("x_calib.npy", "x_test.npy", "y_test.npy"))
    table_rows = []
    for case in ("cnn_digits", "mlp_digits"):
        graph = read_model_file(DIGITS / "models" / case / "float32.tflite")
        shape = graph.tensors[graph.inputs[0]].shape
        records = [[x.reshape(shape)] for x in test]
        for label, config in ABLATION.items():
            progress(f"ablation: {case}, {label}")
            result = quantize_graph(graph, [calib.reshape((len(calib),) + shape[1:])], config)
            rows = [r for r in sqnr_report(result.float_graph, result.graph, records).rows if r.op_index is not None]
            ref = float_reference(result.float_graph, records)
            top1 = _evaluate(label, result.graph, 0, ref, labels).accuracy
            mean = float(np.mean([r.sqnr_db for r in rows[:-1]]))
            table_rows.append({"case": case, "configuration": label, "top1": top1, "mean_layer_sqnr_db": mean,
                               "logits_sqnr_db": rows[-2].sqnr_db, "output_sqnr_db": rows[-1].sqnr_db})
    return table_rows


def format_ablation(rows: list[dict] | None) -> str:
    if rows is None:
        return "digits data absent: ablation skipped"
    return table(("case", "configuration", "top-1", "mean layer dB", "logits dB", "output dB"),
                 [(r["case"], r["configuration"], _pct(r["top1"]), f"{r['mean_layer_sqnr_db']:.2f}",
                   f"{r['logits_sqnr_db']:.2f}", f"{r['output_sqnr_db']:.2f}") for r in rows], align="llr")


def _json_value(value):
    """Tuples as lists, inf/NaN (an exact match's SQNR) as null: standard JSON."""
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def as_json(results: list[CaseResult], ablation_rows: list[dict] | None) -> str:
    """The cases (each variant with its output and logits SQNR), the ablation, and what produced them."""
    import json
    from dataclasses import asdict

    from tinyq.doctor import versions

    cases = [{**asdict(r), "variants": [{**asdict(v), "output_sqnr_db": v.output_sqnr_db,
                                         "logits_sqnr_db": v.logits_sqnr_db} for v in r.variants]}
             for r in results]
    return json.dumps(_json_value({"cases": cases, "ablation": ablation_rows, "versions": versions()}), indent=2)


@click.command("quantize")
@click.option("--cases", type=click.Choice(["all", "digits", "mlperf", "mobilenet"]), default="all", show_default=True)
@click.option("--converter-python", default=lambda: os.environ.get("TINYQ_CONVERTER_PYTHON"),
              help="A Python with tensorflow: the converter also quantizes each float model with tinyq's "
                   "calibration inputs (default: $TINYQ_CONVERTER_PYTHON; without it, only the converter's files).")
@click.option("--ablation", "run_ablation", is_flag=True,
              help="Also measure observers, bias correction and equalization one by one on the digits cases.")
@click.option("--variants", "only", default=None, metavar="NAMES",
              help=f"Comma-separated tinyq variants to run (int8 always runs): {', '.join(VARIANTS)} (default: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@json_format
def quantize_bench(cases: str, converter_python: str | None, run_ablation: bool, only: str | None, fmt: str):
    """tinyq int8/int4/mixed vs TFLiteConverter int8: accuracy, SQNR, bytes, time, the steps the self-check kept."""
    def progress(message: str) -> None:
        click.echo(f"  {message}", err=True)

    names = None
    if only is not None:  # checked before any work
        names = tuple(n.strip() for n in only.split(",") if n.strip())
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            raise TinyqError(f"--variants: unknown {', '.join(unknown)}", hint=f"choose from {', '.join(VARIANTS)}")
    ablation_rows = ablation(progress) if run_ablation else None
    if run_ablation and fmt == "text":
        click.echo(format_ablation(ablation_rows))
        click.echo("")
    todo = []
    if cases in ("all", "digits"):
        todo += digits_cases(progress)
    if cases in ("all", "mlperf"):
        todo += mlperf_cases(progress)
    if cases in ("all", "mobilenet"):
        todo += mobilenet_cases()
    if not todo and fmt == "text":
        click.echo("no benchmark data under ../shared: nothing to run (skipped)")
        return
    from tinyq.progress import Progress

    results = []
    with Progress("bench quantize: cases", total=len(todo)) as bar:
        for case in todo:
            results.append(run_case(case, progress, converter_python, names))
            bar.update(len(results))
    if fmt == "json":
        click.echo(as_json(results, ablation_rows))
        return
    click.echo(format_table(results))
    click.echo("")
    click.echo(format_int4(results))
    click.echo("")
    click.echo(format_comparison(results))
    if any(r.variant(name) for r in results for name in ("tinyq int16", "tinyq auto")):
        click.echo("")
        click.echo(format_activations(results))


if __name__ == "__main__":
    quantize_bench()
