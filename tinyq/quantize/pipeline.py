"""The quantizer in one screen: prepare -> (equalize) -> calibrate -> choose weight types and activation
widths -> choose params -> rewrite -> self-check.

    graph = read_model_file("float.tflite")
    calib = load_calibration("x_calib.npy", graph)
    result = quantize_graph(graph, calib, QuantizeConfig())
    Path("int8.tflite").write_bytes(write_model(result.graph))
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np

from tinyq.errors import TinyqError
from tinyq.golden import tflm_available
from tinyq.ir import Graph
from tinyq.quantize.actparams import ActivationChoice, Ranges, activation_ranges, choose_activation_params
from tinyq.quantize.activations import WidthBuilder, choose_widths
from tinyq.quantize.auto import ActivationPlan
from tinyq.quantize import rounding
from tinyq.quantize.comparisons import comparable_operands
from tinyq.quantize.config import ACTIVATION_MODES, IO_TYPES, ROUNDING_MODES, WEIGHT_MODES, QuantizeConfig
from tinyq.quantize.data import CalibrationSet, check_calibration
from tinyq.quantize.equalize import equalizable_pairs, equalize
from tinyq.quantize.floatrun import FloatRunner, activation_tensors
from tinyq.quantize.mixed import MixedPlan, choose_weight_dtypes
from tinyq.quantize.masks import finite_masks
from tinyq.quantize.observers import OBSERVERS, StatsCollector, TensorStats
from tinyq.quantize.prepare import infinitely_padded, prepare_float_graph, without_padded_infinities
from tinyq.quantize.recurrent import CellObserver, cell_tensors
from tinyq.quantize.report import LayerWarning, layer_warnings, sqnr_report
from tinyq.quantize.rewrite import WeightChoice, build_quantized_graph
from tinyq.quantize.selfcheck import (TIE_DB, SelfCheck, candidate_configs, check_candidates, check_sample_count,
                                      float_reference, point_sqnrs)
from tinyq.quantize.weights import weight_ops
from tinyq.quantize.widths import Layout, activation_units

Progress = Callable[[str], None]
METADATA_NAME = "tinyq_quantize"  # model metadata entry: the QuantizeConfig kept, as JSON
WARN_SAMPLES = 8  # calibration samples the per-layer check runs


def quantize_metadata(graph: Graph) -> dict | None:
    """The settings tinyq quantized `graph` with, or None if tinyq did not make it."""
    for name, payload in graph.metadata:
        if name == METADATA_NAME:
            try:
                return json.loads(payload.rstrip(b"\0").decode())
            except (UnicodeDecodeError, ValueError):
                return None
    return None


@dataclass(frozen=True, eq=False)
class QuantizeResult:
    float_graph: Graph  # the prepared float graph: same tensor indices as `graph`
    graph: Graph  # the integer graph (int8, 16x8 or mixed activations)
    config: QuantizeConfig
    stats: dict[int, TensorStats]
    activations: dict[int, ActivationChoice]
    weights: dict[int, WeightChoice]
    weight_dtypes: dict[int, str]
    mixed: MixedPlan | None  # the sensitivity table and choice, with --weights mixed
    seconds: float
    samples: int
    check: SelfCheck | None  # the candidates tried and the one kept (None: self-check off)
    warnings: tuple[LayerWarning, ...] = ()  # layers far below their inputs' SQNR
    widths: ActivationPlan | None = None  # --activations int16/auto: each layer's width, arenas, the trade
    rounding: tuple[rounding.LayerRounding, ...] = ()  # GPTQ: per layer, the output channels kept and the gain


def check_config(config: QuantizeConfig) -> None:
    if config.io not in IO_TYPES:
        raise TinyqError(f"--io {config.io} is not one of {', '.join(IO_TYPES)}")
    if config.observer not in OBSERVERS:
        raise TinyqError(f"observer {config.observer} is not one of {', '.join(OBSERVERS)}")
    if config.weights not in WEIGHT_MODES:
        raise TinyqError(f"--weights {config.weights} is not one of {', '.join(WEIGHT_MODES)}")
    if config.flash_budget is not None and config.weights != "mixed":
        raise TinyqError("--budget-flash only applies to --weights mixed")
    if config.rounding not in ROUNDING_MODES:
        raise TinyqError(f"--rounding {config.rounding} is not one of {', '.join(ROUNDING_MODES)}")
    if config.activations not in ACTIVATION_MODES:
        raise TinyqError(f"--activations {config.activations} is not one of {', '.join(ACTIVATION_MODES)}")
    if config.sram_budget is not None and config.activations != "auto":
        raise TinyqError("--budget-sram only applies to --activations auto")


def calibrate(graph: Graph, calib: CalibrationSet, progress: Progress | None = None,
              label: str = "") -> dict[int, TensorStats]:
    """Run the float graph over every sample and record every activation."""
    tensors = activation_tensors(graph)
    runner = FloatRunner(graph)
    cells = CellObserver(graph)  # recurrent ops' cell state at every step, which LiteRT does not show
    collector = StatsCollector(tensors + cell_tensors(graph), calib.count)
    padded = infinitely_padded(graph)
    step = max(1, calib.count // 10)
    for i in range(calib.count):
        values = runner.run(calib.record(i, graph), tensors + cells.state_tensors)
        collector.update({**{t: without_padded_infinities(values[t]) if t in padded else values[t] for t in tensors},
                          **cells.observe(values)})
        if progress and ((i + 1) % step == 0 or i + 1 == calib.count):
            progress(f"calibrating{f' ({label})' if label else ''}: {i + 1}/{calib.count} samples")
    stats = collector.finish()
    for t, st in stats.items():
        if not (np.isfinite(st.lo) and np.isfinite(st.hi)):
            raise TinyqError(f"the float model computes NaN/Inf in tensor {t} ({graph.tensors[t].name}) "
                             "on the calibration data", where=graph.name,
                             hint="check the data's scale and the model's weights")
    return stats


@dataclass(frozen=True, eq=False)
class _Built:
    float_graph: Graph
    stats: dict[int, TensorStats]
    activations: dict[int, ActivationChoice]
    graph: Graph
    weights: dict[int, WeightChoice]
    layout: Layout


def _build(float_graph: Graph, stats: dict[int, TensorStats], config: QuantizeConfig, dtypes: dict[int, str],
           layout: Layout, ranges: Ranges | None = None, rounder: rounding.Rounder | None = None) -> _Built:
    acts = choose_activation_params(float_graph, stats, config.observer, layout, ranges)
    qgraph, weights = build_quantized_graph(float_graph, acts, dtypes, config, stats, layout, rounder)
    return _Built(float_graph, stats, acts, qgraph, weights, layout)


def quantize_graph(graph: Graph, calib: CalibrationSet | list, config: QuantizeConfig = QuantizeConfig(),
                   progress: Progress | None = None, where: str = "model") -> QuantizeResult:
    """Quantize; with config.self_check, every combination of the optional steps is built and the best kept."""
    start = time.perf_counter()
    check_config(config)
    golden = tflm_available()
    if not golden:  # the self-check and the per-layer check run the int8 candidates in TFLM
        if progress:
            progress("tflite-micro is not installed: the self-check and the per-layer SQNR check are skipped "
                     "(pip install 'tinyq[tflm]' on Linux x86-64 runs them)")
        config = replace(config, self_check=False)
    prepared = prepare_float_graph(graph, where)
    if not isinstance(calib, CalibrationSet):
        calib = check_calibration(calib, prepared)
    prepared = comparable_operands(finite_masks(prepared, calib), calib)
    candidates = candidate_configs(config, equalizable=bool(equalizable_pairs(prepared)))
    float_graphs = {eq: equalize(prepared) if eq else prepared for eq in {c.equalize for _, c in candidates}}
    stats = {eq: calibrate(g, calib, progress, "equalized model" if eq else "") for eq, g in float_graphs.items()}
    ranges: dict[tuple[bool, str], Ranges] = {}
    gptq = "int8" in config.gptq_dtypes or ("int4" in config.gptq_dtypes and config.weights != "int8")
    rounders = {eq: rounding.collect(g, calib, weight_ops(g), config.gptq_dtypes, progress) if gptq else None
                for eq, g in float_graphs.items()}

    def ranges_of(c: QuantizeConfig) -> Ranges:  # candidates differing in weights only share their ranges
        if (c.equalize, c.observer) not in ranges:
            ranges[c.equalize, c.observer] = activation_ranges(float_graphs[c.equalize], stats[c.equalize], c.observer)
        return ranges[c.equalize, c.observer]

    first = candidates[0][1]
    acts8 = choose_activation_params(float_graphs[first.equalize], stats[first.equalize], first.observer,
                                     ranges=ranges_of(first))
    mixed = None
    dtypes: dict[int, str] = {}
    if config.weights != "int8":  # chosen once, with every allowed step on; the candidates share it
        dtypes, mixed = choose_weight_dtypes(float_graphs[first.equalize], calib, first, acts8, stats[first.equalize],
                                             progress, rounders[first.equalize])
    # activation widths likewise (after the weights: int4 layers keep int8 activations, TFLM has no 16x4)
    units = activation_units(prepared)
    widths = choose_widths(float_graphs[first.equalize], units, calib, first, acts8, stats[first.equalize], dtypes,
                           progress)
    all_int16 = "int8" not in widths.layout.dtypes.values()
    if all_int16:  # no observer to try
        candidates = candidate_configs(config, bool(equalizable_pairs(prepared)), int8_activations=False)
    built = [_build(float_graphs[c.equalize], stats[c.equalize], c, dtypes, widths.layout, ranges_of(c),
                    rounders[c.equalize]) for _, c in candidates]
    records = calib.records(prepared, check_sample_count(prepared, len(candidates), calib.count))
    check = None
    if config.self_check:
        check = check_candidates(candidates, [b.graph for b in built], prepared, records, progress)
    kept = check.kept if check else 0
    chosen, kept_config = built[kept], candidates[kept][1]
    plan = widths.plan
    if plan is not None and golden:  # the trade, measured: the same steps with every layer int8, and all int16
        # all-int8 takes the steps kept, and the observer asked for when the int16 layout had none to try
        int8_config = replace(kept_config, observer=config.observer, int8_clip=config.int8_clip) \
            if all_int16 else kept_config
        chosen, plan, kept_config = _measure_widths(chosen, kept_config, int8_config, dtypes, widths, units, prepared,
                                                    records, check, kept, ranges_of(int8_config), progress,
                                                    rounders[kept_config.equalize])
    # the per-layer check runs even without the self-check: a collapsing layer is named, whatever was asked
    warnings = layer_warnings(sqnr_report(chosen.float_graph, chosen.graph, records[:WARN_SAMPLES]),
                              chosen.float_graph) if golden else ()
    # the float model's metadata described its own conversion; ours records how this one was made
    qgraph = replace(chosen.graph, description="tinyq quantize",
                     metadata=((METADATA_NAME, json.dumps(asdict(kept_config), sort_keys=True).encode()),))
    return QuantizeResult(float_graph=chosen.float_graph, graph=qgraph, config=kept_config, stats=chosen.stats,
                          activations=chosen.activations, weights=chosen.weights, weight_dtypes=dtypes, mixed=mixed,
                          seconds=time.perf_counter() - start, samples=calib.count, check=check, warnings=warnings,
                          widths=plan,
                          rounding=_rounding_outcomes(rounders[kept_config.equalize], chosen, kept_config, dtypes))


def _rounding_outcomes(rounder: rounding.Rounder | None, built: _Built, config: QuantizeConfig,
                       dtypes: dict[int, str]) -> tuple[rounding.LayerRounding, ...]:
    """GPTQ's outcome for each layer it rounded (not an int8 layer whose nearest integers another width's
    build also rounded to)."""
    if rounder is None:
        return ()
    found = (rounder.outcome(op, choice.weights.q) for op, choice in sorted(built.weights.items())
             if config.gptq_rounds(dtypes.get(op, "int8"), built.layout.op_dtypes.get(op, "int8")))
    return tuple(o for o in found if o is not None)


def _measure_widths(chosen: _Built, kept_config: QuantizeConfig, config: QuantizeConfig, dtypes, widths, units,
                    prepared: Graph, records, check: SelfCheck | None, kept: int, ranges: Ranges,
                    progress, rounder: rounding.Rounder | None = None) -> tuple[_Built, ActivationPlan, QuantizeConfig]:
    """Output SQNR (TFLM, the check samples) of the chosen widths against all-int8 and all-int16 (built with
    `config`); auto never returns a model below all-int8 on its own data (to TIE_DB): it falls back to all-int8."""
    builder = WidthBuilder(chosen.float_graph, units, chosen.stats, dtypes, config, widths.fallback)
    ref = float_reference(prepared, records)
    ours = check.candidates[kept].output_sqnr_db if check else min(point_sqnrs(chosen.graph, ref)[:ref.outputs])
    alternatives = {"all int8": builder.layout(set())}
    if widths.plan.mode == "auto":
        alternatives["all int16"] = builder.layout(widths.int16_capable)
    measured, built = {}, {}
    for name, layout in alternatives.items():
        built[name] = _build(chosen.float_graph, chosen.stats, config, dtypes, layout, ranges, rounder)
        measured[name] = min(point_sqnrs(built[name].graph, ref)[:ref.outputs])
    plan = widths.plan
    rows = (("all int8", measured["all int8"]), (plan.mode, ours)) + tuple(
        (name, db) for name, db in measured.items() if name != "all int8")
    if progress:
        progress(f"activations {plan.mode}: output SQNR " + ", ".join(f"{name} {db:.1f} dB" for name, db in rows))
    if plan.mode == "auto" and ours < measured["all int8"] - TIE_DB:
        fallback = tuple(replace(r, dtype="int8", arena_added=None, why="fell back to all int8") for r in plan.rows)
        plan = replace(plan, rows=fallback, arena=plan.int8_arena)
        return built["all int8"], plan.with_measured(rows, "the auto layout measured below all int8: all int8 kept"), \
            config
    return chosen, plan.with_measured(rows), kept_config
