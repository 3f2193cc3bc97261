"""The sanitizer half of `tinyq bench fuzz`: accepted mutated models, compiled strictly and run under ASan+UBSan.

A model tinyq accepts must give C that compiles with -Wall -Wextra -Werror and runs without
undefined behaviour or an out-of-bounds access, whatever its shapes and quantization. Each
sampled model is generated again from its seed (`tinyq generate`, in-process), compiled with
the host harness, and run on edge-case and random inputs; any sanitizer report fails it
(-fno-sanitize-recover=all turns every finding into a non-zero exit).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

CFLAGS = ("-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
          "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
FILL_BYTES = (0x00, 0x7F, 0x80)  # then random records
RANDOM_RECORDS = 2
COMPILE_TIMEOUT_S = 600.0
NAME = "fuzz"  # the mutated file is written as fuzz.tflite, so the C names are tinyq_fuzz_*


def spread_sample(candidates: list[tuple[Path, int]], n: int, seed: int) -> list[tuple[Path, int]]:
    """Up to n candidates, spread evenly over the models they come from."""
    rng = np.random.default_rng(seed)
    by_model: dict[Path, list[tuple[Path, int]]] = {}
    for c in candidates:
        by_model.setdefault(c[0], []).append(c)
    for items in by_model.values():
        rng.shuffle(items)
    picked: list[tuple[Path, int]] = []
    while len(picked) < n and any(by_model.values()):
        for items in by_model.values():
            if items and len(picked) < n:
                picked.append(items.pop())
    return picked


def _generate(model: Path, seed: int, folder: Path) -> tuple[list[int] | None, str]:
    """Generate the mutated model's C into folder/gen; (input sizes in bytes, "") or (None, why not)."""
    from tinyq.bench.fuzz import _call_cli
    from tinyq.bench.mutate import mutate
    from tinyq.tflite.reader import read_model

    data, _ = mutate(model.read_bytes(), seed)
    path = folder / f"{NAME}.tflite"
    path.write_bytes(data)
    code, exc, _, err = _call_cli(["generate", str(path), "-o", str(folder / "gen")])
    if code != 0:
        return None, f"generate exit {code}: {err.strip()[-200:] or exc!r}"
    graph = read_model(data)
    return [graph.tensors[i].nbytes for i in graph.inputs], ""


def _harness(gen: Path, name: str) -> None:
    from tinyq.codegen.generate import environment

    env = environment()
    ctx = {"name": name, "NAME": name.upper()}
    (gen / "main.c").write_text(env.get_template("host/main.c.j2").render(ctx))
    (gen / "tq_host_trace.h").write_text(env.get_template("host/tq_host_trace.h").render(ctx))


def _records(sizes: list[int], seed: int) -> tuple[bytes, int]:
    rng = np.random.default_rng(seed)
    records = [b"".join(bytes([fill]) * n for n in sizes) for fill in FILL_BYTES]
    records += [b"".join(rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes)
                for _ in range(RANDOM_RECORDS)]
    return b"".join(records), len(records)


def run_sanitized(gen: Path, name: str, sizes: list[int], seed: int = 0, timeout: float = 120.0
                  ) -> tuple[str, str, bytes]:
    """Compile `tinyq generate`'s output in `gen` (model `name`) with the host harness, -Wall -Wextra
    -Werror and ASan+UBSan, run it on edge-case and random records of `sizes` input bytes.
    Returns ("clean", "", outputs) or (the stage that failed, the first lines that say why, b"")."""
    _harness(gen, name)
    sources = sorted(p.name for p in gen.glob("*.c"))
    try:  # a bounded wait: ASan builds of a large generated model take long, but not forever
        proc = subprocess.run(["cc", *CFLAGS, "-I.", *sources, "-o", "model_test", "-lm"], cwd=gen,
                              capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "compile", f"cc did not finish within {COMPILE_TIMEOUT_S:g} s", b""
    if proc.returncode != 0:
        first = [line for line in proc.stderr.splitlines() if "error" in line][:2] or proc.stderr.splitlines()[:2]
        return "compile", " | ".join(first), b""
    stdin, count = _records(sizes, seed)
    try:
        # the harness's own buffers are never freed (it exits): leaks are not the model's
        env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
        run = subprocess.run(["./model_test", str(count)], cwd=gen, input=stdin, capture_output=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "run", f"no result within {timeout:g} s", b""
    report = run.stderr.decode(errors="replace")
    if run.returncode != 0 or "runtime error" in report or "Sanitizer" in report:
        lines = [line for line in report.splitlines()
                 if "runtime error" in line or "ERROR:" in line or "SUMMARY" in line]
        return "run", f"exit {run.returncode}: " + " | ".join(lines[:3] or report.splitlines()[:3]), b""
    return "clean", "", run.stdout


def sanitize_sample(candidates: list[tuple[Path, int]], n: int, seed: int, workers: int,
                    progress: Callable[[str], None] = lambda m: None, timeout: float = 120.0) -> dict:
    """Compile and run up to n of the accepted (model, seed) pairs under ASan+UBSan."""
    if shutil.which("cc") is None:
        return {"sampled": 0, "compiled": 0, "clean": 0, "inputs": 0,
                "failures": [{"model": "-", "seed": 0, "stage": "setup", "detail": "no C compiler (cc)"}]}
    picked = spread_sample(candidates, n, seed)
    progress(f"sanitizers: {len(picked)} accepted models under ASan+UBSan")
    result = {"sampled": len(picked), "compiled": 0, "clean": 0, "inputs": len(FILL_BYTES) + RANDOM_RECORDS,
              "failures": [], "models": sorted({f"{m.parent.name}/{m.name}" for m, _ in picked})}
    with tempfile.TemporaryDirectory(prefix="tinyq-fuzz-asan-") as tmp, ThreadPoolExecutor(max(1, workers)) as pool:
        futures = []
        for i, (model, file_seed) in enumerate(picked):
            folder = Path(tmp) / f"m{i}"
            folder.mkdir()
            sizes, why = _generate(model, file_seed, folder)  # in this process: the CLI is not thread-safe
            if sizes is None:
                result["failures"].append({"model": f"{model.parent.name}/{model.name}", "seed": file_seed,
                                           "stage": "generate", "detail": why})
                continue
            futures.append((model, file_seed, pool.submit(run_sanitized, folder / "gen", NAME, sizes, file_seed,
                                                          timeout)))
        for done, (model, file_seed, future) in enumerate(futures, 1):
            stage, detail, _ = future.result()
            result["compiled"] += stage != "compile"
            result["clean"] += stage == "clean"
            if stage != "clean":
                result["failures"].append({"model": f"{model.parent.name}/{model.name}", "seed": file_seed,
                                           "stage": stage, "detail": detail})
            if done % 50 == 0:
                progress(f"  {done}/{len(futures)} compiled and run")
    return result
