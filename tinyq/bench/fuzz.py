"""`tinyq bench fuzz`: mutated models through the real command line, counted by outcome.

Every mutated file (tinyq/bench/mutate.py) goes through `tinyq inspect`, `plan`, `generate`
and, for float models, `quantize`, each called in-process as `tinyq.cli.main([...])`, so
whatever the CLI itself does is exercised too. Each command runs in a worker process with
a deadline (code can hang; a hung worker is killed and replaced) and an address-space limit
(a runaway allocation fails instead of taking the machine). Outcomes:

* accepted: exit 0; `generate` wrote its directory, `quantize` its file;
* refused: exit 2 with exactly one `tinyq: error: ...` line on stderr and nothing written;
* crash: any other exception, escaping or reported by main() as an internal error (exit 3)
  (signature: its type and the innermost tinyq frame);
* hang, died (the worker was killed by a signal), exit N (another exit code),
  partial (output left behind by a failed command), bad message (exit 2 without the one line).

Anything but accepted/refused is a defect. Samples of the accepted files then check that accepted
means right: their generated C is compiled with -Wall -Wextra -Werror and ASan+UBSan and run on a
few inputs (tinyq/bench/sanitize.py), and `tinyq verify` compares them with TFLM (a file TFLM refuses,
or whose outputs differ, was accepted but wrong). The table is tinyq/bench/fuzz_report.py.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

import numpy as np

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DEFAULT_MODEL_DIRS = (SHARED / "models" / "mlperf-tiny", SHARED / "quant" / "models", SHARED / "models" / "tflm-corpus")
MAX_MODEL_BYTES = 2 << 20  # bigger files (the corpus' 4 MB MobileNetV2) cost more than they find
COMMANDS = ("inspect", "plan", "generate", "quantize")
GOOD = ("accepted", "refused")
# `tinyq verify` on an accepted file: accepted = bit-exact with TFLM; the others are clean exits that say
# tinyq accepted something wrong (its output differs, or TFLM refuses the model)
VERIFY_GOOD = ("differs", "tflm refuses")
VERIFY_INPUTS = 5
MEMORY_LIMIT = 6 << 30  # bytes of address space per worker
INTERNAL_ERROR = 3  # main()'s exit code for an exception that is a bug in tinyq
MAX_MESSAGE = 300  # characters after "tinyq: error: " (errors.LINE_LIMIT): longer lines are counted
SUPPORTED_WEIGHT = 4  # models whose unmutated file generates are drawn this many times as often


@dataclass(frozen=True)
class Job:
    model: str  # path of the unmutated file
    seed: int | None  # None: the file as it is (the baseline run)
    command: str
    calib: str | None = None  # calibration .npy/.npz for quantize


def display_name(path: str | Path) -> str:
    """`mlp_digits/tfl_int8.tflite`: the folder too, as several shared models share a file name."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


@dataclass
class Outcome:
    model: str  # display_name of the unmutated file
    seed: int | None
    command: str
    status: str
    signature: str = ""  # crash: "TypeError at tinyq/x.py:func"; refused: "" (the message is kept)
    message: str = ""
    has_hint: bool = True
    mutation: str = ""
    seconds: float = 0.0
    path: str = ""  # the unmutated file


@dataclass
class FuzzReport:
    outcomes: list[Outcome] = field(default_factory=list)
    baseline: list[Outcome] = field(default_factory=list)
    verified: list[Outcome] = field(default_factory=list)  # `tinyq verify` on a sample of accepted files
    sanitizer: dict = field(default_factory=dict)
    seconds: float = 0.0

    def files(self) -> int:
        return len({(o.model, o.seed) for o in self.outcomes})

    def defects(self) -> list[Outcome]:
        """Crashes, hangs, partial outputs, bad messages: the CLI failed to fail cleanly."""
        return [o for o in self.outcomes + self.baseline + self.verified if o.status not in GOOD + VERIFY_GOOD]

    def disagreements(self) -> list[Outcome]:
        """Accepted files whose generated C differs from TFLM, or that TFLM refuses: accepted but wrong."""
        return [o for o in self.verified if o.status in VERIFY_GOOD]


# --- the worker side: one command on one (mutated) file ---

def _crash_signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}tinyq{os.sep}" in f.filename]
    where = ""
    if ours:
        f = ours[-1]
        where = f" at tinyq/{f.filename.rsplit(os.sep + 'tinyq' + os.sep, 1)[1]}:{f.name}"
    return f"{type(exc).__name__}{where}"


def _call_cli(argv: list[str]) -> tuple[int | None, BaseException | None, str, str]:
    """(exit code, escaped exception or the TinyqError behind an exit, stdout, stderr)."""
    from tinyq.cli import main

    out, err = io.StringIO(), io.StringIO()
    code, exc = 0, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            exc = stop.__context__  # the TinyqError main() turned into this exit
        except BaseException as escaped:  # noqa: BLE001 - every escape is what the fuzzer counts
            code, exc = None, escaped
    return code, exc, out.getvalue(), err.getvalue()


def _argv(job: Job, path: Path, out: Path) -> list[str]:
    if job.command == "generate":
        return ["generate", str(path), "-o", str(out / "gen")]
    if job.command == "quantize":
        return ["quantize", str(path), "--calib", str(job.calib), "-o", str(out / "q.tflite")]
    if job.command == "verify":
        return ["verify", str(path), "--inputs", str(VERIFY_INPUTS)]
    return [job.command, str(path)]


def run_job(job: Job, work: Path) -> Outcome:
    """One command on one file, classified (runs inside a worker)."""
    from tinyq.bench.mutate import mutate
    from tinyq.errors import TinyqError

    data = Path(job.model).read_bytes()
    mutation = ""
    if job.seed is not None:
        data, mutation = mutate(data, job.seed)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    path = work / "fuzz.tflite"
    path.write_bytes(data)
    out = work / "out"
    out.mkdir()
    start = time.perf_counter()
    code, exc, _, err = _call_cli(_argv(job, path, out))
    outcome = Outcome(model=display_name(job.model), path=job.model, seed=job.seed, command=job.command,
                      status="", mutation=mutation, seconds=time.perf_counter() - start)
    written = sorted(p.name for p in out.iterdir())
    wanted = {"generate": ["gen"], "quantize": ["q.tflite"]}.get(job.command, [])
    if code is None or (code == INTERNAL_ERROR and exc is not None and not isinstance(exc, TinyqError)):
        outcome.status, outcome.signature = "crash", _crash_signature(exc)  # main()'s exit 3 keeps it as context
        outcome.message = f"{type(exc).__name__}: {str(exc)[:200]}"
    elif code == 0:
        outcome.status = "accepted" if written == wanted else "partial"
        outcome.message = "" if written == wanted else f"exit 0 but wrote {written}"
    elif code == 2:
        lines = [line for line in err.splitlines() if line.startswith("tinyq: error:")]
        outcome.message = lines[-1] if lines else err.strip()[-300:]
        if written:
            outcome.status, outcome.signature = "partial", f"exit 2 left {written}"
        elif len(lines) != 1 or "Traceback" in err or lines[0] != err.rstrip("\n").splitlines()[-1]:
            outcome.status, outcome.signature = "bad message", "exit 2 without exactly one error line"
        else:
            outcome.status = "refused"
            outcome.has_hint = not isinstance(exc, TinyqError) or bool(exc.hint)
    elif job.command == "verify" and code == 1:  # verify's "not bit-exact"
        outcome.status, outcome.signature = "differs", "output differs from TFLM"
    else:
        outcome.status, outcome.signature = f"exit {code}", f"exit {code}"
        outcome.message = err.strip()[-300:]
    if job.command == "verify" and outcome.status == "refused":  # generate accepted it: the golden model did not
        outcome.status, outcome.signature = "tflm refuses", "TFLM refuses a model tinyq accepts"
    shutil.rmtree(work, ignore_errors=True)
    return outcome


def _worker_main(conn, work: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            outcome = run_job(job, Path(work))
        except BaseException as exc:  # noqa: BLE001 - a failure of the harness itself is reported, not fatal
            outcome = Outcome(model=display_name(job.model), path=job.model, seed=job.seed, command=job.command,
                              status="crash", signature="harness " + _crash_signature(exc), message=str(exc)[:200])
        conn.send(outcome)


class _Worker:
    def __init__(self, ctx, root: Path, number: int):
        self.work = root / f"w{number}"
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, str(self.work)), daemon=True)
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.deadline = 0.0

    def submit(self, job: Job, timeout: float) -> None:
        self.job, self.deadline = job, time.monotonic() + timeout
        self.conn.send(job)

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def run_jobs(jobs: list[Job], workers: int, timeout: float, describe: Callable[[Job], str],
             progress: Callable[[int, int], None] = lambda done, total: None) -> list[Outcome]:
    """Every job in a pool of worker processes; a job past its deadline kills its worker (a hang)."""
    ctx = multiprocessing.get_context("fork")  # the workers start with tinyq already imported
    results: list[Outcome] = []
    pending = list(reversed(jobs))
    with tempfile.TemporaryDirectory(prefix="tinyq-fuzz-") as tmp:
        pool = [_Worker(ctx, Path(tmp), i) for i in range(max(1, workers))]
        spawned = len(pool)
        try:
            while pending or any(w.job for w in pool):
                for w in pool:
                    if w.job is None and pending:
                        w.submit(pending.pop(), timeout)
                busy = [w for w in pool if w.job]
                ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - time.monotonic()))
                for i, w in enumerate(pool):
                    if w.job is None:
                        continue
                    outcome = None
                    if w.conn in ready:
                        try:
                            outcome = w.conn.recv()
                        except (EOFError, OSError):
                            w.proc.join(5)
                            outcome = Outcome(model=display_name(w.job.model), path=w.job.model, seed=w.job.seed,
                                              command=w.job.command,
                                              status="died", signature=f"worker exit {w.proc.exitcode}",
                                              mutation=describe(w.job))
                    elif time.monotonic() > w.deadline:
                        outcome = Outcome(model=display_name(w.job.model), path=w.job.model, seed=w.job.seed,
                                              command=w.job.command,
                                          status="hang", signature=f"no result within {timeout:g} s",
                                          mutation=describe(w.job), seconds=timeout)
                    if outcome is None:
                        continue
                    results.append(outcome)
                    progress(len(results), len(jobs))
                    if outcome.status in ("hang", "died"):
                        w.stop()
                        pool[i] = _Worker(ctx, Path(tmp), spawned)
                        spawned += 1
                    else:
                        w.job = None
        finally:
            for w in pool:
                w.stop()
    return results


# --- choosing the files ---

def _input_dtypes(path: Path) -> list[str] | None:
    from tinyq.errors import TinyqError
    from tinyq.tflite.reader import read_model_file

    try:
        graph = read_model_file(path)
    except TinyqError:
        return None
    return [graph.tensors[i].dtype for i in graph.inputs]


def calibration_file(path: Path, folder: Path) -> Path | None:
    """Random calibration inputs for a float model with one float32 input (None for other models)."""
    from tinyq.errors import TinyqError
    from tinyq.quantize.data import sample_shape
    from tinyq.tflite.reader import read_model_file

    try:
        graph = read_model_file(path)
    except TinyqError:
        return None
    if len(graph.inputs) != 1 or graph.tensors[graph.inputs[0]].dtype != "float32":
        return None
    shape = sample_shape(graph.tensors[graph.inputs[0]])
    if int(np.prod(shape, dtype=np.int64)) > 1 << 20:
        return None
    calib = folder / f"{path.stem}.calib.npy"
    np.save(calib, np.random.default_rng(0).standard_normal((8, *shape)).astype(np.float32))
    return calib


def find_models(dirs) -> list[Path]:
    models = []
    for d in dirs:
        d = Path(d)
        files = [d] if d.is_file() else sorted(d.rglob("*.tflite")) if d.is_dir() else []
        models += [f for f in files if f.stat().st_size <= MAX_MODEL_BYTES]
    return models


def plan_jobs(models: list[Path], calibs: dict[Path, Path], supported: set[Path], files: int,
              seed: int, commands=COMMANDS) -> list[Job]:
    """`files` mutated files drawn from the models (those tinyq generates weighted up), each through
    every command (quantize only on float models)."""
    weights = np.array([SUPPORTED_WEIGHT if m in supported else 1 for m in models], dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(models), size=files, p=weights / weights.sum())
    jobs = []
    for n, pick in enumerate(picks):
        model = models[int(pick)]
        file_seed = seed * 1_000_003 + n
        for command in commands:
            if command == "quantize" and model not in calibs:
                continue
            jobs.append(Job(str(model), file_seed, command, str(calibs.get(model, "")) or None))
    return jobs


def baseline_jobs(models: list[Path], calibs: dict[Path, Path], commands=COMMANDS) -> list[Job]:
    return [Job(str(m), None, c, str(calibs.get(m, "")) or None) for m in models for c in commands
            if c != "quantize" or m in calibs]


def fuzz(dirs=DEFAULT_MODEL_DIRS, files: int = 1000, seed: int = 0, workers: int = 2, timeout: float = 120.0,
         sanitize: int = 0, verify: int = 0, commands=COMMANDS,
         progress: Callable[[str], None] = lambda m: None) -> FuzzReport:
    """Mutate `files` files from the models in `dirs` and run every command on each; then compile and run
    `sanitize` accepted generated models under ASan+UBSan, and compare `verify` of them with TFLM."""
    from tinyq.bench.mutate import mutate
    from tinyq.progress import Progress

    start = time.perf_counter()
    report = FuzzReport()
    models = find_models(dirs)
    if not models:
        return report

    def describe(job: Job) -> str:
        return "" if job.seed is None else mutate(Path(job.model).read_bytes(), job.seed)[1]

    def run(label: str, jobs: list[Job]) -> list[Outcome]:
        """The jobs with a bar (plain lines each tenth off a terminal)."""
        with Progress(label, total=len(jobs)) as bar:
            return run_jobs(jobs, workers, timeout, describe, bar.update)

    with tempfile.TemporaryDirectory(prefix="tinyq-fuzz-calib-") as calib_dir:
        calibs = {m: c for m in models if (c := calibration_file(m, Path(calib_dir))) is not None}
        progress(f"baseline: {len(models)} unmutated models ({len(calibs)} float models also quantized)")
        report.baseline = run("baseline commands", baseline_jobs(models, calibs, commands))
        supported = {Path(o.path) for o in report.baseline if o.command == "generate" and o.status == "accepted"}
        progress(f"fuzz: {files} mutated files from {len(models)} models ({len(supported)} generate unmutated)")
        jobs = plan_jobs(models, calibs, supported, files, seed, commands)
        report.outcomes = run("fuzz commands", jobs)
    accepted = [(Path(o.path), o.seed) for o in report.outcomes if o.command == "generate" and o.status == "accepted"]
    if verify:
        from tinyq.bench.sanitize import spread_sample

        picked = spread_sample(accepted, verify, seed + 1)
        progress(f"verify: {len(picked)} accepted files against TFLM ({VERIFY_INPUTS} inputs each)")
        report.verified = run("verify against TFLM", [Job(str(m), s, "verify") for m, s in picked])
    if sanitize:
        from tinyq.bench.sanitize import sanitize_sample

        report.sanitizer = sanitize_sample(accepted, sanitize, seed, workers, progress)
    report.seconds = time.perf_counter() - start
    return report
