"""`tinyq bench memory`: tinyq's arena next to TFLM's, on the same models, in one run.

For each .tflite model (the MLPerf Tiny int8 models by default, or every model in the folders
and files given):
* tinyq: the arena of the plan the generated C uses (driver's planning path),
  the lower bound under that plan's order and aliasing, and the bound with
  views only in the file's order (what a live-set planner without in-place
  outputs or reordering can reach);
* TFLM: the smallest `arena_size` with which `tflite_micro`'s Python
  interpreter loads and invokes the model, found by binary search, each probe
  in a child process (tflm_probe.py) because too small an arena can crash it.
  It includes TFLM's runtime state (tensor and node structs, per-channel
  quantization data kept in SRAM); tinyq's generated code has no runtime state
  beyond its arena: parameters and requantization tables are const (flash).

A model tinyq refuses gets a row with the reason (and no TFLM search); the table ends with
whether tinyq's arena is at most TFLM's on every model both ran.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc
from tinyq.bench import tflm_probe
from tinyq.errors import TinyqError

DEFAULT_MODELS = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "models" / "mlperf-tiny"
TFLM_CEILING = 64 * 1024 * 1024


@dataclass(frozen=True)
class MemoryRow:
    model: str
    tinyq_arena: int | None  # None when tinyq cannot lower the model
    lower_bound: int | None
    views_only_bound: int | None
    strategy: str
    tflm_arena: int | None  # None when not measured or TFLM cannot run it
    flash_bytes: int | None
    note: str = ""


def _probe_in_child(model: str, arena_size: int) -> None:
    """Body of a forked child: silence TFLM's log (and a crash report), try the arena, exit 0 on success."""
    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os._exit(tflm_probe.main(model, arena_size))


def tflm_accepts(model: Path, arena_size: int, timeout: float = 120.0) -> bool:
    """Whether TFLM loads and invokes `model` with `arena_size` bytes, tried in a child process
    (forked from this one, so the interpreter is imported once; a fresh one where fork is missing)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        cmd = [sys.executable, "-m", "tinyq.bench.tflm_probe", str(model), str(arena_size)]
        try:
            return proc.run(cmd, capture_output=True, timeout=timeout).returncode == 0
        except subprocess.TimeoutExpired:
            return False
    tflm_probe.preload()
    child = multiprocessing.get_context("fork").Process(target=_probe_in_child, args=(str(model), arena_size))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return False
    return child.exitcode == 0


def smallest_tflm_arena(model: Path, start: int = 16 * 1024) -> int | None:
    """Least arena_size TFLM accepts (exact to the byte), or None if none up to 64 MB does."""
    good = start
    if tflm_accepts(model, good):
        bad = good // 2
        while bad > 0 and tflm_accepts(model, bad):
            good, bad = bad, bad // 2
    else:
        bad, good = good, good * 2
        while not tflm_accepts(model, good):
            if good >= TFLM_CEILING:
                return None
            bad, good = good, good * 2
    while good - bad > 1:
        middle = (good + bad) // 2
        if tflm_accepts(model, middle):
            good = middle
        else:
            bad = middle
    return good


def collect_models(paths: list[Path]) -> list[Path]:
    """The .tflite files among `paths` (files as given, folders' files in name order), each once."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.tflite")) if path.is_dir() else [path] if path.suffix == ".tflite" else []
    return list(dict.fromkeys(found))


def tinyq_row(model: Path) -> MemoryRow:
    from tinyq import driver
    from tinyq.boards import get_board
    from tinyq.plan.flash import plan_flash

    try:
        bound = driver.front(driver.read(model)[1], get_board("host"))
        plan = driver.plan(bound)
    except TinyqError as exc:  # the op's reason, without the file's path
        what = f"{exc.where}: {exc.what}" if exc.where and exc.where.startswith("op ") else exc.what
        return MemoryRow(model.name, None, None, None, "", None, None, note=f"not planned: {what}")
    except Exception as exc:  # a tinyq bug: one row says so, the other models still run
        return MemoryRow(model.name, None, None, None, "", None, None,
                         note=f"internal error: {type(exc).__name__}: {exc}")
    return MemoryRow(model.name, plan.arena_bytes, plan.lower_bound_bytes, plan.baseline_lower_bound_bytes,
                     plan.strategy, None, plan_flash(bound).flash_bytes)


def synthetic_models(folder: Path) -> list[Path]:
    """MobileNet-class models built in code (random weights), written to `folder`."""
    from tinyq.bench.synthetic import mobilenet_v1
    from tinyq.tflite.writer import write_model

    path = folder / "mobilenet_v1_0.25_96_synthetic.tflite"
    path.write_bytes(write_model(mobilenet_v1(alpha=0.25, size=96)))
    return [path]


def bench_memory(models: list[Path], tflm: bool = True, progress=None) -> list[MemoryRow]:
    from tinyq.progress import Progress

    rows = []
    with Progress("bench memory: models", total=len(models)) as bar:
        for model in models:
            row = tinyq_row(model)
            if tflm and row.tinyq_arena is not None:
                if progress:
                    progress(f"{model.name}: searching TFLM's smallest arena ...")
                arena = smallest_tflm_arena(model, start=max(row.tinyq_arena, 1024))
                note = "" if arena is not None else f"TFLM runs it with no arena up to {TFLM_CEILING // 2**20} MB"
                row = MemoryRow(**{**row.__dict__, "tflm_arena": arena, "note": note})
            rows.append(row)
            bar.update(len(rows))
    return rows


def within_tflm(rows: list[MemoryRow]) -> tuple[list[MemoryRow], list[MemoryRow]]:
    """(rows where tinyq's arena <= TFLM's, rows where it is larger), among models both ran."""
    both = [r for r in rows if r.tinyq_arena is not None and r.tflm_arena is not None]
    return [r for r in both if r.tinyq_arena <= r.tflm_arena], [r for r in both if r.tinyq_arena > r.tflm_arena]


def _num(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def summary(rows: list[MemoryRow]) -> list[str]:
    within, above = within_tflm(rows)
    refused = sum(r.tinyq_arena is None for r in rows)
    untried = sum(r.tinyq_arena is not None and r.tflm_arena is None for r in rows)
    if not within and not above:
        return ["no model ran in both tinyq and TFLM"]
    verdict = "yes" if not above else "no, larger on " + ", ".join(r.model for r in above)
    lines = [f"tinyq's arena <= TFLM's on every model both ran: {verdict} "
             f"({len(within)} of {len(within) + len(above)} models)"]
    if refused or untried:
        lines.append(f"not compared: {refused} model(s) tinyq refuses, {untried} without a TFLM arena")
    return lines


def format_table(rows: list[MemoryRow]) -> str:
    from tinyq.tables import table

    cells = []
    for r in rows:
        ratio = f"{r.tinyq_arena / r.tflm_arena:.0%}" if r.tinyq_arena and r.tflm_arena else "-"
        note = ("  " if r.strategy else "") + r.note if r.note else ""
        cells.append((r.model, _num(r.tinyq_arena), _num(r.tflm_arena), ratio, _num(r.lower_bound),
                      _num(r.views_only_bound), r.strategy + note))
    header = ("model", "tinyq arena", "TFLM arena", "tinyq/TFLM", "lower bound", "views-only bound", "strategy")
    lines = [table(header, cells, align="lrrrrrl"), ""] + (summary(rows) if any(r.tflm_arena is not None for r in rows) else [])
    lines += ["",
              "tinyq arena: the generated C's whole SRAM for the model (parameters and requantization tables are in",
              "  flash). TFLM arena: smallest arena_size tflite_micro's interpreter loads and invokes the model with",
              "  (includes its runtime structs). lower bound: max over steps of the bytes that must be live at that",
              "  step under tinyq's order and aliasing (views; an in-place pair - element-wise ops, or a sliding-window",
              "  output starting a few rows below its input - counted as the least union its kernel allows). A chain",
              "  of in-place ops can need more than the per-step bound: each output starts below its input, so the",
              "  shifts add up (KWS: the exact search proves 9,792 B optimal for this order and these options).",
              "  views-only bound: the same in file order with views as the only aliasing."]
    return "\n".join(lines)
