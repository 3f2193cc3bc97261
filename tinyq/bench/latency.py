"""`tinyq bench --port P`: on-device latency over the DUT protocol, outputs checked against TFLM.

For each input: load it (`db`), run K untimed and R timed inferences
(`tinyq-infer R K`), keep each run's tick count and the outputs. Ticks become
cycles at the board clock (the DWT / CCOUNT ticks are cycles; the RP2040's
microsecond timer is scaled) or, under QEMU -icount, instructions: QEMU is not
cycle-accurate, so no milliseconds are claimed there. Outputs must equal TFLM's
byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, Graph
from tinyq.serial.dut import DeviceInfo, Dut
from tinyq.serial.link import Link


@dataclass(frozen=True)
class Stats:
    min: float
    median: float
    p90: float
    max: float

    @staticmethod
    def of(values: list[float]) -> "Stats":
        ordered = sorted(values)
        p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank
        return Stats(min=ordered[0], median=statistics.median(ordered), p90=p90, max=ordered[-1])


@dataclass(frozen=True)
class LatencyReport:
    port: str
    model: str
    model_hash: str
    board: str
    on_qemu: bool
    unit: str  # "cycles" or "instructions"
    clock_hz: int
    tick_hz: int
    count_per_tick: float  # cycles or instructions per timer tick
    inputs: int
    warmup: int
    runs: int
    ticks: tuple[tuple[int, ...], ...]  # per input, per timed run
    counts: Stats  # cycles or instructions per inference
    ms: Stats | None  # milliseconds at the board clock (None under QEMU)
    bit_exact: bool
    mismatching_inputs: tuple[int, ...] = field(default=())
    arena_bytes: int = 0

    def to_json(self) -> dict:
        from tinyq.doctor import versions

        data = asdict(self)
        data["ticks"] = [list(t) for t in self.ticks]
        data["versions"] = versions()  # what produced the figures
        return data


def ticks_to_count(ticks: int, info: DeviceInfo) -> float:
    """Cycles (hardware) or instructions (QEMU -icount: 2**shift ns of virtual time each)."""
    if info.on_qemu:
        return ticks * 1e9 / info.tick_hz / (1 << info.qemu_icount_shift)
    return ticks * info.clock_hz / info.tick_hz


def load_graph(model: Path) -> tuple[Graph, Path]:
    """The golden model: a .tflite, or a project directory's copy of it."""
    from tinyq.tflite.reader import read_model_file

    model = Path(model)
    if model.is_dir():
        from tinyq.build.project import load_project

        model = load_project(model).model_path
    if not model.is_file():
        raise TinyqError("no such model file", where=str(model), hint="--model FILE.tflite or a project directory")
    return read_model_file(model), model


def read_inputs(graph: Graph, folder: Path) -> list[list[np.ndarray]]:
    """Records from `folder`: one .npy per record (single-input models) or raw .bin files of all inputs."""
    specs = [(graph.tensors[i].shape or (1,), DTYPES[graph.tensors[i].dtype][0]) for i in graph.inputs]
    sizes = [int(np.prod(s, dtype=np.int64)) * np.dtype(d).itemsize for s, d in specs]
    files = sorted(p for p in Path(folder).iterdir() if p.suffix in (".npy", ".bin")) if Path(folder).is_dir() else []
    if not files:
        raise TinyqError("no .npy or .bin input files", where=str(folder),
                         hint="one file per input record; or use --random N")
    records = []
    for path in files:
        if path.suffix == ".npy":
            if len(specs) != 1:
                raise TinyqError("a .npy record needs a single-input model; use raw .bin files", where=str(path))
            array = np.load(path)
            shape, dtype = specs[0]
            if array.dtype != dtype or array.size != sizes[0]:
                raise TinyqError(f"holds {array.dtype} x {array.size}, the model takes {np.dtype(dtype)} x "
                                 f"{sizes[0] // np.dtype(dtype).itemsize}", where=str(path))
            records.append([array.reshape(shape)])
        else:
            raw = path.read_bytes()
            if len(raw) != sum(sizes):
                raise TinyqError(f"has {len(raw)} bytes, the model's inputs take {sum(sizes)}", where=str(path))
            record, pos = [], 0
            for (shape, dtype), n in zip(specs, sizes):
                record.append(np.frombuffer(raw[pos:pos + n], dtype=dtype).reshape(shape))
                pos += n
            records.append(record)
    return records


def run_bench(port: str, model: Path, records: list[list[np.ndarray]], warmup: int = 1, runs: int = 5,
              timeout: float = 10.0, baud: int = 115200, progress=None) -> LatencyReport:
    """Benchmark the firmware at `port` on `records`. `progress(done)` is called with 0 once the device
    has answered and runs the right model, then after each input."""
    from tinyq.serial.firmware import model_hash
    from tinyq.verify import compare_outputs, split_outputs

    if runs < 1 or warmup < 0:
        raise TinyqError("need --runs >= 1 and --warmup >= 0")
    graph, model_path = load_graph(model)
    digest = model_hash(model_path)
    in_bytes = sum(graph.tensors[i].nbytes for i in graph.inputs)
    ticks, outputs = [], []
    with Link(port, baud=baud, timeout=timeout) as link:
        link.sync()
        dut = Dut(link)
        info = dut.info()
        dut.check_model(info, model_path, digest)
        if info.input_bytes != in_bytes:
            raise TinyqError(f"the firmware takes {info.input_bytes} input bytes, the model {in_bytes}", where=port)
        if progress:
            progress(0)
        for k, record in enumerate(records):
            dut.load(b"".join(np.ascontiguousarray(a).tobytes() for a in record))
            timed = dut.timed_runs(runs, warmup, info.output_bytes, timeout)  # `timeout` per inference
            ticks.append(timed.ticks)
            outputs.append(split_outputs(graph, timed.outputs))
            if progress:
                progress(k + 1)
    result = compare_outputs(model_path.read_bytes(), graph, records, outputs)
    flat = [t for per_input in ticks for t in per_input]
    return LatencyReport(
        port=port, model=info.model, model_hash=digest, board=info.board, on_qemu=info.on_qemu,
        unit="instructions" if info.on_qemu else "cycles", clock_hz=info.clock_hz, tick_hz=info.tick_hz,
        count_per_tick=ticks_to_count(1, info), inputs=len(records), warmup=warmup, runs=runs, ticks=tuple(ticks),
        counts=Stats.of([ticks_to_count(t, info) for t in flat]),
        ms=None if info.on_qemu else Stats.of([t * 1e3 / info.tick_hz for t in flat]),
        bit_exact=result.ok, mismatching_inputs=tuple(sorted({m.record for m in result.mismatches})),
        arena_bytes=info.arena_bytes)


STATS = ("median", "p90", "min", "max")


def format_report(r: LatencyReport) -> str:
    from tinyq.tables import table

    where = f"{r.board} (QEMU, -icount)" if r.on_qemu else f"{r.board} at {r.clock_hz / 1e6:g} MHz"
    rows = [(r.unit, *(f"{getattr(r.counts, k):,.0f}" for k in STATS))]
    if r.ms is not None:
        rows.append(("ms", *(f"{getattr(r.ms, k):.3f}" for k in STATS)))
    lines = [f"{r.model} on {where} via {r.port}: {r.inputs} inputs x {r.runs} runs ({r.warmup} warmup)",
             table(("per inference",) + STATS, rows, align="lr", indent="  ")]
    if r.ms is None:
        lines.append("  (QEMU counts instructions, not cycles: no milliseconds)")
    if r.bit_exact:
        lines.append(f"  outputs: bit-exact with TFLM on all {r.inputs} inputs")
    else:
        lines.append(f"  outputs: FAIL, {len(r.mismatching_inputs)} of {r.inputs} inputs differ from TFLM "
                     f"(inputs {', '.join(map(str, r.mismatching_inputs[:10]))})")
    return "\n".join(lines)


def csv_text(r: LatencyReport) -> str:
    """One row per timed run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "board", "input", "run", "ticks", r.unit, "ms"])
    for k, per_input in enumerate(r.ticks):
        for j, t in enumerate(per_input):
            ms = "" if r.on_qemu else f"{t * 1e3 / r.tick_hz:.6f}"
            writer.writerow([r.model, r.board, k, j, t, f"{t * r.count_per_tick:.0f}", ms])
    return out.getvalue()


def write_outputs(r: LatencyReport, json_path: Path | None, csv_path: Path | None) -> None:
    from tinyq.codegen.output import write_output_file  # each written beside, then renamed over

    if json_path:
        write_output_file(json_path, json.dumps(r.to_json(), indent=2) + "\n")
    if csv_path:
        write_output_file(csv_path, csv_text(r))
