"""Where `tinyq eval` runs a model: TFLM on the host, the generated firmware in QEMU, or a device.

Host: TFLM's Python interpreter runs the file as given (int8 and float alike: TFLM has float
kernels too, and tinyq's code is bit-exact with it, so host figures are what the device gives).
QEMU (`--board qemu-*`): the model compiled by tinyq into the board's firmware and booted as
`tinyq verify --board` does (tinyq.verify.QemuRunner). A device (`--port`): tinyq's benchmark
firmware answering over serial (`tinyq flash`, or `tinyq qemu DIR --serial tcp:PORT`); every sample
is loaded with `db` and run with `tinyq-infer`, the outputs come back as raw bytes.
"""

from __future__ import annotations

import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, Graph
from tinyq.progress import Progress

@dataclass(frozen=True)
class ModelRun:
    path: Path
    graph: Graph
    where: str  # "host (TFLM)", "qemu-m55 (QEMU mps3-an547)", the port's URL
    values: tuple[np.ndarray, ...]  # per graph output: N x shape, dequantized to float
    instructions: tuple[int, ...] = field(default=())  # per inference, under QEMU (-icount)
    cycles: tuple[int, ...] = field(default=())  # per inference, on a board (timer ticks at its clock)

    def timing(self) -> dict:
        if self.instructions:
            return {"instructions_median": int(statistics.median(self.instructions))}
        if self.cycles:
            return {"cycles_median": int(statistics.median(self.cycles))}
        return {}


def dequantized(graph: Graph, records: list[list[np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Per output, the N records' values as floats: (q - zero point) * scale for quantized outputs."""
    ended = sum(r is None for r in records)  # the runners' None: an invoke that wrote no outputs
    if ended:
        raise TinyqError(f"the model's invoke ended early on {ended} of {len(records)} samples, without outputs "
                         "(a CIRCULAR_BUFFER runs the graph every cycles_max-th invoke only)",
                         hint="evaluate a model whose every invoke runs; `tinyq verify` checks this one")
    values = []
    for k, index in enumerate(graph.outputs):
        t = graph.tensors[index]
        raw = np.stack([np.asarray(r[k]).reshape(t.shape) for r in records])
        if t.quant is not None and np.dtype(DTYPES[t.dtype][0]).kind in "iu":
            values.append((raw.astype(np.float64) - t.quant.zp) * t.quant.s)
        else:
            values.append(raw.astype(np.float64))
    return tuple(values)


def chunks(count: int, parts: int = 50) -> list[range]:
    step = max(1, -(-count // parts))
    return [range(start, min(start + step, count)) for start in range(0, count, step)]


def hybrid(graph: Graph) -> bool:
    """Whether an op takes float activations with int8 constant weights (TFLite's dynamic-range "hybrid"
    models, such as MLPerf Tiny's float KWS): TFLM refuses those, LiteRT runs them."""
    for op in graph.operators:
        ins = [graph.tensor(i) for i in op.inputs]
        if any(t is not None and not t.is_const and t.dtype == "float32" for t in ins) and \
                any(t is not None and t.is_const and t.dtype in ("int8", "int4") for t in ins):
            return True
    return False


def _litert_run(model: bytes, records: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise TinyqError("this hybrid model (float activations, int8 weights) runs under LiteRT, which is missing",
                         hint="pip install ai-edge-litert") from None
    try:
        interp = Interpreter(model_content=model,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise TinyqError(f"LiteRT cannot run the model: {str(exc).strip().splitlines()[0][:200]}") from None
    ins, outs = interp.get_input_details(), interp.get_output_details()
    results = []
    for record in records:
        for d, array in zip(ins, record):
            interp.set_tensor(d["index"], np.ascontiguousarray(array))
        interp.invoke()
        results.append([interp.get_tensor(d["index"]).copy() for d in outs])
    return results


def run_host(path: Path, graph: Graph, records: list[list[np.ndarray]]) -> ModelRun:
    """TFLM on the host (LiteRT for a hybrid model), with a progress bar: a fresh interpreter per
    slice of samples (the same interpreter state a model without variables always has); a model with
    variables (state kept across invokes) runs as one sequence, as the firmware runs it."""
    from tinyq.golden import require_tflm, tflm_run

    runtime, run = ("LiteRT", _litert_run) if hybrid(graph) else ("TFLM", tflm_run)
    if runtime == "TFLM":
        require_tflm()
        _refuse_what_tflm_miscomputes(graph)
    model = Path(path).read_bytes()
    progress = Progress(f"{Path(path).name} under {runtime}")
    outputs: list[list[np.ndarray]] = []
    try:
        stateful = any(t.is_variable for t in graph.tensors)
        for part in chunks(len(records), parts=1 if stateful else 50):
            outputs += run(model, [records[r] for r in part])
            progress.update(len(outputs), len(records))
    finally:
        progress.close()
    return ModelRun(path=Path(path), graph=graph, where=f"host ({runtime})", values=dequantized(graph, outputs))


def _refuse_what_tflm_miscomputes(graph: Graph) -> None:
    """The refusal tinyq's compile gives (and `tinyq verify`) for an op whose declared shapes TFLM would
    trust and compute only part of (a dilated convolution exported with an unknown batch size)."""
    from tinyq.lower import lower_op
    from tinyq.ops.space_batch import TFLM_TRUSTS_DECLARED_SHAPE

    for op in graph.operators:
        if op.op in TFLM_TRUSTS_DECLARED_SHAPE:
            lower_op(graph, op)


def run_generated(path: Path, graph: Graph, records: list[list[np.ndarray]], board, echo) -> ModelRun:
    """tinyq's generated code: built for the host with `--board host`, else for `board`'s QEMU machine
    (its stand-in for a board QEMU does not emulate), all samples in one run."""
    from tinyq.driver import compile_file
    from tinyq.run.qemu import qemu_board_for
    from tinyq.verify.runners import HostRunner, QemuRunner

    if board.runner == "host":
        echo(f"running {Path(path).name} compiled by tinyq on the host, {len(records)} samples ...")
        run = HostRunner(board).run(compile_file(path, board), records)
        return ModelRun(path=Path(path), graph=graph, where="host (tinyq C)", values=dequantized(graph, run.outputs))
    qemu_board = qemu_board_for(board)
    compiled = compile_file(path, qemu_board)
    echo(f"running {Path(path).name} on {qemu_board.name} (QEMU {qemu_board.qemu.machine}), "
         f"{len(records)} samples ...")
    run = QemuRunner(qemu_board).run(compiled, records)  # bounded as verify is: 60 s + 5 s per sample
    qemu = run.details["qemu"]
    return ModelRun(path=Path(path), graph=graph, where=f"{qemu_board.name} (QEMU {qemu_board.qemu.machine})",
                    values=dequantized(graph, run.outputs), instructions=qemu.instructions)


@contextmanager
def device(port: str, baud: int, timeout: float):
    """One connection to a device running tinyq's benchmark firmware: (its Dut, what it reports)."""
    from tinyq.serial.dut import Dut
    from tinyq.serial.link import Link

    with Link(port, baud=baud, timeout=timeout) as link:
        link.sync()
        dut = Dut(link)
        yield dut, dut.info()


def device_model(info, paths: list[Path], port: str) -> int:
    """Which of `paths` the device's firmware was built from (by the hash it reports)."""
    from tinyq.serial.firmware import model_hash

    for k, path in enumerate(paths):
        if model_hash(path) == info.hash:
            return k
    names = " or ".join(Path(p).name for p in paths)
    raise TinyqError(f"the device runs model '{info.model}' (hash {info.hash}), not {names}", where=port,
                     hint="flash the firmware built from the model to evaluate: tinyq flash DIR (QEMU: tinyq qemu DIR)")


def run_device(dut, info, path: Path, graph: Graph, records: list[list[np.ndarray]], timeout: float) -> ModelRun:
    """Every sample through the device's benchmark firmware: `db load` + `tinyq-infer 1 0`."""
    from tinyq.verify.compare import split_outputs

    out_bytes = sum(graph.tensors[i].nbytes for i in graph.outputs)
    outputs, ticks = [], []
    port = dut.link.url
    progress = Progress(f"{Path(path).name} on {port}")
    try:
        for record in records:
            dut.load(b"".join(np.ascontiguousarray(a).tobytes() for a in record))
            # an invoke that ends early is counted, and refused with the host's words, by dequantized()
            timed = dut.timed_runs(1, 0, out_bytes, timeout, may_end_early=True)
            ticks.append(timed.ticks[0])
            outputs.append(None if timed.ended_early else split_outputs(graph, timed.outputs))
            progress.update(len(outputs), len(records))
    finally:
        progress.close()
    values = dequantized(graph, outputs)
    if info.on_qemu:  # QEMU -icount: a tick is a fixed number of instructions
        per_tick = 1e9 / info.tick_hz / (1 << info.qemu_icount_shift)
        return ModelRun(path=Path(path), graph=graph, where=port, values=values,
                        instructions=tuple(round(t * per_tick) for t in ticks))
    return ModelRun(path=Path(path), graph=graph, where=port, values=values,
                    cycles=tuple(round(t * info.clock_hz / info.tick_hz) for t in ticks))
