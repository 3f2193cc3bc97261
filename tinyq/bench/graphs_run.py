"""`tinyq bench graphs`: each random model (graphs.py) through LiteRT, tinyq and TFLM, counted by outcome.

Per model: LiteRT runs the float file and its shapes are compared with the declared ones (a
difference is the generator's mistake: "invalid", not counted against tinyq); the float model
is compiled and verified against TFLM; then it is quantized in each mode and every result is
verified against TFLM and measured against the float model (output SQNR on held-out samples).

Outcomes per (model, mode): pass (bit-exact), refused (a TinyqError: one line, and the line is
kept so a wrong refusal can be read; one whose hint calls it a tinyq bug is a crash), differs (tinyq's output is not TFLM's), crash (any other
exception), hang/died (the worker was killed or died). A pass whose SQNR is under LOW_SQNR_DB is
listed too: random graphs make some hard cases (cancellation, saturation), so those are leads to
read, not defects by themselves.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from dataclasses import asdict, dataclass, replace

import numpy as np

from tinyq.bench.graphs import RandomModel, calibration, random_model
from tinyq.bench.graphs_more import OP_SETS

MODES = {  # name -> QuantizeConfig fields
    "float": None,
    "int8": {},
    "int16": {"activations": "int16"},
    "int4": {"weights": "int4"},
    "auto": {"activations": "auto"},
    "int16-float": {"activations": "int16", "int16_fallback": "float"},  # ops without an int16 kernel in float
}
DEFAULT_MODES = ("float", "int8", "int16", "int4")
CALIB_SAMPLES = 32
TEST_SAMPLES = 8
VERIFY_INPUTS = 4
LOW_SQNR_DB = 15.0


@dataclass(frozen=True)
class Row:
    seed: int
    mode: str
    status: str  # pass | refused | differs | crash | invalid | hang | died
    message: str = ""
    sqnr_db: float | None = None
    ops: str = ""
    seconds: float = 0.0


def _litert_check(model: RandomModel, data: bytes, sample: list[np.ndarray]) -> str:
    """'' when LiteRT runs the float file and computes every declared shape; else what differs."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # the flag's "for debugging" warning: debugging is what this is
        warnings.simplefilter("ignore")
        interp = Interpreter(model_content=data, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    for detail, x in zip(interp.get_input_details(), sample):
        interp.set_tensor(detail["index"], x.reshape(detail["shape"]))
    interp.invoke()
    for t in model.graph.tensors:
        if t.is_const or t.dtype != "float32":
            continue
        try:
            got = tuple(interp.get_tensor(t.index).shape)
        except ValueError:  # a tensor LiteRT computed in place of another keeps no data of its own
            continue
        if got != tuple(t.shape):
            return f"tensor {t.index} ({t.name}) is {got} in LiteRT, declared {t.shape}"
    return ""


def _error_line(exc: BaseException) -> str:
    from tinyq.errors import TinyqError

    if isinstance(exc, TinyqError):
        return str(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/tinyq/" in f.filename]
    where = f" at {frames[-1].filename.rsplit('/tinyq/', 1)[1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}: {str(exc)[:200]}"


def _verify(graph, boards: tuple[str, ...]) -> tuple[str, str]:
    """Bit-exact with TFLM on each board (the host, QEMU ones with their default backend), or what differs."""
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph
    from tinyq.verify import verify_host, verify_qemu
    from tinyq.verify.compare import summarize

    for name in boards:
        board = get_board(name)
        compiled = compile_graph(graph, board, arena="fast")
        result = verify_host(compiled, board, n_inputs=VERIFY_INPUTS) if board.runner == "host" else \
            verify_qemu(compiled, board, n_inputs=VERIFY_INPUTS).result
        if not result.ok:
            return "differs", f"{name}: " + summarize(result, graph, limit=2)
    return "pass", ""


def check_model(seed: int, modes: tuple[str, ...], max_ops: int, boards: tuple[str, ...] = ("host",),
                op_set: str = "base") -> list[Row]:
    """Every mode of one random model (runs in a worker); `op_set`: a name of graphs_more.OP_SETS."""
    from tinyq.errors import TinyqError
    from tinyq.quantize import quantize_graph
    from tinyq.quantize.config import QuantizeConfig
    from tinyq.quantize.report import sqnr_report
    from tinyq.tflite.writer import write_model

    model = random_model(seed, max_ops, OP_SETS[op_set])
    ops = " ".join(model.ops)
    calib = calibration(model, CALIB_SAMPLES)
    test = calibration(model, TEST_SAMPLES, seed=2)
    records = [[x[k][None] if model.graph.tensors[t].shape[0] == 1 else x[k] for x, t in zip(test, model.graph.inputs)]
               for k in range(TEST_SAMPLES)]
    try:
        problem = _litert_check(model, write_model(model.graph), records[0])
    except (ValueError, RuntimeError) as exc:  # LiteRT refused the file: the generator wrote it wrong
        problem = f"LiteRT: {str(exc)[:200]}"
    if problem:
        return [Row(seed, "float", "invalid", problem, ops=ops)]
    rows = []
    for mode in modes:
        start = time.perf_counter()
        row = Row(seed, mode, "pass", ops=ops)
        try:
            if MODES[mode] is None:
                status, message = _verify(model.graph, boards)
                row = replace(row, status=status, message=message)
            else:
                result = quantize_graph(model.graph, calib, QuantizeConfig(**MODES[mode]))
                status, message = _verify(result.graph, boards)
                sqnr = min(sqnr_report(result.float_graph, result.graph, records).output_sqnr_db)
                row = replace(row, status=status, message=message, sqnr_db=round(float(sqnr), 1))
        except TinyqError as exc:  # one line; but one that owns up to a tinyq bug is a defect
            bug = "tinyq bug" in (exc.hint or "")
            row = replace(row, status="crash" if bug else "refused", message=_error_line(exc))
        except Exception as exc:  # noqa: BLE001 - anything else is what the benchmark counts
            row = replace(row, status="crash", message=_error_line(exc))
        rows.append(replace(row, seconds=round(time.perf_counter() - start, 2)))
    return rows


def _child(conn, seed: int, modes: tuple[str, ...], max_ops: int, boards: tuple[str, ...], op_set: str) -> None:
    try:
        conn.send([asdict(r) for r in check_model(seed, modes, max_ops, boards, op_set)])
    except BaseException as exc:  # noqa: BLE001 - reported as the model's crash
        conn.send([asdict(Row(seed, "-", "crash", _error_line(exc)))])


def run_models(seeds, modes=DEFAULT_MODES, max_ops: int = 8, timeout: float = 300.0, progress=None,
               boards: tuple[str, ...] = ("host",), op_set: str = "base") -> list[Row]:
    """Each seed's model in a child process of its own: a hang or a dying interpreter costs one model."""
    ctx = multiprocessing.get_context("fork")
    rows: list[Row] = []
    for i, seed in enumerate(seeds):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, seed, tuple(modes), max_ops, tuple(boards), op_set),
                           daemon=True)
        proc.start()
        child.close()
        got = parent.poll(timeout)
        if got:
            try:
                rows += [Row(**r) for r in parent.recv()]
            except EOFError:
                got = False
        if not got:
            status = "hang" if proc.is_alive() else "died"
            proc.kill()
            rows.append(Row(seed, "-", status, f"no answer in {timeout:.0f} s" if status == "hang"
                            else f"exit code {proc.exitcode}"))
        proc.join()
        if progress:
            progress(f"[{i + 1}/{len(seeds)}] seed {seed}: "
                     + ", ".join(f"{r.mode} {r.status}" for r in rows if r.seed == seed))
    return rows


def defects(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.status in ("differs", "crash", "hang", "died")]


def format_table(rows: list[Row], modes) -> str:
    lines = ["mode         pass  refused  differs  crash  median SQNR  low SQNR (<15 dB)"]
    for mode in modes:
        of = [r for r in rows if r.mode == mode]
        count = {s: sum(r.status == s for r in of) for s in ("pass", "refused", "differs", "crash")}
        # a float output that is not finite (exp of a large value) has no SQNR: left out of the median, listed
        sqnrs = [r.sqnr_db for r in of if r.status == "pass" and r.sqnr_db is not None]
        finite = [s for s in sqnrs if np.isfinite(s)]
        median = f"{np.median(finite):.1f} dB" if finite else "-"
        low = sum(not s >= LOW_SQNR_DB for s in sqnrs)
        lines.append(f"{mode:<12} {count['pass']:>4}  {count['refused']:>7}  {count['differs']:>7}  {count['crash']:>5}"
                     f"  {median:>11}  {low:>4}")
    lost = [r for r in rows if r.mode == "-"]  # the whole model: hung, died, or crashed outside a mode
    if lost:
        lines.append("models lost: " + ", ".join(f"seed {r.seed} {r.status}" for r in lost))
    invalid = [r for r in rows if r.status == "invalid"]
    if invalid:
        lines.append(f"invalid (the generator's mistake, not counted): {len(invalid)}")
    seen: set[str] = set()
    notes = []
    for r in sorted(rows, key=lambda r: (r.status == "refused", r.seed)):
        if not is_lead(r):
            continue
        key = r.status + (r.message if r.status == "refused" else f"{r.seed}{r.mode}")
        if key in seen:
            continue
        seen.add(key)
        what = f"{r.sqnr_db} dB" if r.status == "pass" else r.message
        notes.append(f"  seed {r.seed} {r.mode}: {r.status}: {what} [{r.ops}]")
    if notes:
        lines += ["", "leads (each refusal message once):"] + notes
    return "\n".join(lines)


def is_lead(r: Row) -> bool:
    """A row worth a look: anything but a pass, or a pass under LOW_SQNR_DB."""
    return r.status != "pass" or (r.sqnr_db is not None and not r.sqnr_db >= LOW_SQNR_DB)


def save_models(rows: list[Row], folder, max_ops: int, op_set: str = "base") -> None:
    """SEED.tflite and SEED_calib.npz of every model with a lead (is_lead)."""
    from pathlib import Path

    from tinyq.tflite.writer import write_model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted({r.seed for r in rows if is_lead(r)}):
        model = random_model(seed, max_ops, OP_SETS[op_set])
        (folder / f"{seed}.tflite").write_bytes(write_model(model.graph))
        calib = calibration(model, CALIB_SAMPLES)
        names = [model.graph.tensors[t].name for t in model.graph.inputs]
        np.savez(folder / f"{seed}_calib.npz", **dict(zip(names, calib)))
