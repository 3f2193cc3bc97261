"""Upgrading the golden model is a procedure, not an accident.

    python -m tinyq.oracle_check 0.dev20261023182759      (or: make oracle-check NIGHTLY=...)

installs that tflite-micro nightly into a scratch venv beside the pinned test
environment (constraints.txt), runs tinyq's bit-exact tests and the TFLM-corpus
sweep there and in the current environment, and reports what changed: the tests
(and so the ops) whose verdict differs, and the corpus models whose verdict
differs. Nothing in the checkout changes; bump the pin in pyproject.toml (and
constraints.txt) only when the report is clean or every change is understood.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SWEEP = SHARED / "tools" / "sweep.py"
CORPUS = SHARED / "models" / "tflm-corpus"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, **kw)


def scratch_env(nightly: str, folder: Path) -> Path:
    """A venv with the pinned test environment except tflite-micro, which is `nightly`."""
    python = folder / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(folder)], check=True)
    constraints = [line for line in (ROOT / "constraints.txt").read_text().splitlines()
                   if line and not line.startswith("#") and not line.lower().startswith(("tflite_micro", "tflite-micro"))]
    pinned = folder / "constraints-without-oracle.txt"
    pinned.write_text("\n".join(constraints) + "\n")
    _run([str(python), "-m", "pip", "install", "-q", "-r", str(pinned)], check=True)
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)], check=True)
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", f"tflite-micro=={nightly}"], check=True)
    return python


def test_outcomes(python: Path, tests: list[str], out: Path) -> dict[str, str]:
    """pytest's verdict per test id (passed, failed, skipped)."""
    _run([str(python), "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", f"--junitxml={out}", *tests],
         cwd=ROOT)
    outcomes = {}
    for case in ET.parse(out).getroot().iter("testcase"):
        verdict = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                verdict = "failed"
            elif child.tag == "skipped":
                verdict = "skipped"
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = verdict
    return outcomes


def corpus_outcomes(python: Path, out: Path) -> dict[str, str]:
    tinyq = python.parent / "tinyq"
    _run([str(python), str(SWEEP), str(CORPUS), str(out)], env={**os.environ, "TINYQ": str(tinyq), "PY": str(python)},
         check=True)
    return {row["model"]: f"TFLM {row['tflm']}, tinyq {row['tinyq']}" for row in json.loads(out.read_text())}


def differences(before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(k, before.get(k, "-"), after.get(k, "-")) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nightly", help="tflite-micro version to try, e.g. 0.dev20261023182759")
    parser.add_argument("--venv", type=Path, default=None, help="scratch venv (default: a temp folder)")
    parser.add_argument("--tests", nargs="*", default=["tests", "-m", "not slow"], help="pytest arguments")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tinyq-oracle-") as tmp:
        work = Path(tmp)
        python = scratch_env(args.nightly, args.venv or work / "venv")
        report = {"nightly": args.nightly}
        pinned_tests = test_outcomes(Path(sys.executable), args.tests, work / "pinned.xml")
        new_tests = test_outcomes(python, args.tests, work / "nightly.xml")
        report["tests"] = differences(pinned_tests, new_tests)
        if SWEEP.is_file():
            report["corpus"] = differences(corpus_outcomes(Path(sys.executable), work / "pinned.json"),
                                           corpus_outcomes(python, work / "nightly.json"))
    print(f"\ntflite-micro {args.nightly} against the pinned oracle:")
    print(f"  tests whose verdict changed: {len(report['tests'])} of {len(pinned_tests)}")
    for name, before, after in report["tests"]:
        print(f"    {name}: {before} -> {after}")
    if "corpus" in report:
        print(f"  corpus models whose verdict changed: {len(report['corpus'])}")
        for name, before, after in report["corpus"]:
            print(f"    {name}: {before} -> {after}")
    return 1 if report["tests"] or report.get("corpus") else 0


if __name__ == "__main__":
    sys.exit(main())
