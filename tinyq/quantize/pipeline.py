"""The quantizer in one screen: prepare -> (equalize) -> calibrate -> choose params -> rewrite.

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
from tinyq.ir import Graph
from tinyq.quantize.actparams import ActivationChoice, choose_activation_params
from tinyq.quantize.config import IO_TYPES, WEIGHT_MODES, QuantizeConfig
from tinyq.quantize.data import CalibrationSet, check_calibration
from tinyq.quantize.equalize import equalize
from tinyq.quantize.floatrun import FloatRunner, activation_tensors
from tinyq.quantize.mixed import MixedPlan, choose_weight_dtypes
from tinyq.quantize.observers import OBSERVERS, StatsCollector, TensorStats
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.rewrite import WeightChoice, build_int8_graph

Progress = Callable[[str], None]
METADATA_NAME = "tinyq_quantize"  # model metadata entry: the QuantizeConfig as JSON


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


def check_config(config: QuantizeConfig) -> None:
    if config.io not in IO_TYPES:
        raise TinyqError(f"--io {config.io} is not one of {', '.join(IO_TYPES)}")
    if config.observer not in OBSERVERS:
        raise TinyqError(f"observer {config.observer} is not one of {', '.join(OBSERVERS)}")
    if config.weights not in WEIGHT_MODES:
        raise TinyqError(f"--weights {config.weights} is not one of {', '.join(WEIGHT_MODES)}")
    if config.flash_budget is not None and config.weights != "mixed":
        raise TinyqError("--flash-budget only applies to --weights mixed")


def calibrate(graph: Graph, calib: CalibrationSet, progress: Progress | None = None) -> dict[int, TensorStats]:
    """Run the float graph over every sample and record every activation."""
    tensors = activation_tensors(graph)
    runner = FloatRunner(graph)
    collector = StatsCollector(tensors, calib.count)
    step = max(1, calib.count // 10)
    for i in range(calib.count):
        collector.update(runner.run(calib.record(i, graph), tensors))
        if progress and ((i + 1) % step == 0 or i + 1 == calib.count):
            progress(f"calibrating: {i + 1}/{calib.count} samples")
    stats = collector.finish()
    for t, st in stats.items():
        if not (np.isfinite(st.lo) and np.isfinite(st.hi)):
            raise TinyqError(f"the float model computes NaN/Inf in tensor {t} ({graph.tensors[t].name}) "
                             "on the calibration data", where=graph.name,
                             hint="check the data's scale and the model's weights")
    return stats


def quantize_graph(graph: Graph, calib: CalibrationSet | list, config: QuantizeConfig = QuantizeConfig(),
                   progress: Progress | None = None, where: str = "model") -> QuantizeResult:
    start = time.perf_counter()
    check_config(config)
    float_graph = prepare_float_graph(graph, where)
    if not isinstance(calib, CalibrationSet):
        calib = check_calibration(calib, float_graph)
    if config.equalize:
        float_graph = equalize(float_graph)
    stats = calibrate(float_graph, calib, progress)
    acts = choose_activation_params(float_graph, stats, config.observer)
    mixed = None
    dtypes: dict[int, str] = {}
    if config.weights != "int8":
        dtypes, mixed = choose_weight_dtypes(float_graph, calib, config, acts, stats, progress)
    qgraph, weights = build_int8_graph(float_graph, acts, dtypes, config, stats)
    # the float model's metadata described its own conversion; ours records how this one was made
    qgraph = replace(qgraph, description="tinyq quantize",
                     metadata=((METADATA_NAME, json.dumps(asdict(config), sort_keys=True).encode()),))
    return QuantizeResult(float_graph=float_graph, graph=qgraph, config=config, stats=stats, activations=acts,
                          weights=weights, weight_dtypes=dtypes, mixed=mixed,
                          seconds=time.perf_counter() - start, samples=calib.count)
