"""The quantizer in one screen: prepare -> (equalize) -> calibrate -> choose params -> rewrite -> self-check.

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
from tinyq.quantize.actparams import ActivationChoice, choose_activation_params
from tinyq.quantize.config import IO_TYPES, WEIGHT_MODES, QuantizeConfig
from tinyq.quantize.data import CalibrationSet, check_calibration
from tinyq.quantize.equalize import equalizable_pairs, equalize
from tinyq.quantize.floatrun import FloatRunner, activation_tensors
from tinyq.quantize.mixed import MixedPlan, choose_weight_dtypes
from tinyq.quantize.observers import OBSERVERS, StatsCollector, TensorStats
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.report import LayerWarning, layer_warnings, sqnr_report
from tinyq.quantize.rewrite import WeightChoice, build_int8_graph
from tinyq.quantize.selfcheck import SelfCheck, candidate_configs, check_candidates, check_sample_count

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
    graph: Graph  # the int8 graph
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


def check_config(config: QuantizeConfig) -> None:
    if config.io not in IO_TYPES:
        raise TinyqError(f"--io {config.io} is not one of {', '.join(IO_TYPES)}")
    if config.observer not in OBSERVERS:
        raise TinyqError(f"observer {config.observer} is not one of {', '.join(OBSERVERS)}")
    if config.weights not in WEIGHT_MODES:
        raise TinyqError(f"--weights {config.weights} is not one of {', '.join(WEIGHT_MODES)}")
    if config.flash_budget is not None and config.weights != "mixed":
        raise TinyqError("--flash-budget only applies to --weights mixed")


def calibrate(graph: Graph, calib: CalibrationSet, progress: Progress | None = None,
              label: str = "") -> dict[int, TensorStats]:
    """Run the float graph over every sample and record every activation."""
    tensors = activation_tensors(graph)
    runner = FloatRunner(graph)
    collector = StatsCollector(tensors, calib.count)
    step = max(1, calib.count // 10)
    for i in range(calib.count):
        collector.update(runner.run(calib.record(i, graph), tensors))
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


def _build(float_graph: Graph, stats: dict[int, TensorStats], acts: dict[int, ActivationChoice],
           config: QuantizeConfig, dtypes: dict[int, str]) -> _Built:
    qgraph, weights = build_int8_graph(float_graph, acts, dtypes, config, stats)
    return _Built(float_graph, stats, acts, qgraph, weights)


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
    candidates = candidate_configs(config, equalizable=bool(equalizable_pairs(prepared)))
    float_graphs = {eq: equalize(prepared) if eq else prepared for eq in {c.equalize for _, c in candidates}}
    stats = {eq: calibrate(g, calib, progress, "equalized model" if eq else "") for eq, g in float_graphs.items()}
    acts = {(c.equalize, c.observer): choose_activation_params(float_graphs[c.equalize], stats[c.equalize], c.observer)
            for _, c in candidates}  # candidates differing in weights only share their activation ranges
    first = candidates[0][1]
    mixed = None
    dtypes: dict[int, str] = {}
    if config.weights != "int8":  # chosen once, with every allowed step on; the candidates share it
        dtypes, mixed = choose_weight_dtypes(float_graphs[first.equalize], calib, first,
                                             acts[first.equalize, first.observer], stats[first.equalize], progress)
    built = [_build(float_graphs[c.equalize], stats[c.equalize], acts[c.equalize, c.observer], c, dtypes)
             for _, c in candidates]
    records = calib.records(prepared, check_sample_count(prepared, len(candidates), calib.count))
    check = None
    if config.self_check:
        check = check_candidates(candidates, [b.graph for b in built], prepared, records, progress)
    kept = check.kept if check else 0
    chosen, kept_config = built[kept], candidates[kept][1]
    # the per-layer check runs even without the self-check: a collapsing layer is named, whatever was asked
    warnings = layer_warnings(sqnr_report(chosen.float_graph, chosen.graph, records[:WARN_SAMPLES]),
                              chosen.float_graph) if golden else ()
    # the float model's metadata described its own conversion; ours records how this one was made
    qgraph = replace(chosen.graph, description="tinyq quantize",
                     metadata=((METADATA_NAME, json.dumps(asdict(kept_config), sort_keys=True).encode()),))
    return QuantizeResult(float_graph=chosen.float_graph, graph=qgraph, config=kept_config, stats=chosen.stats,
                          activations=chosen.activations, weights=chosen.weights, weight_dtypes=dtypes, mixed=mixed,
                          seconds=time.perf_counter() - start, samples=calib.count, check=check, warnings=warnings)
