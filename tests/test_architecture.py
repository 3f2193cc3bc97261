"""Imports follow the stage order, and the generated docs are current.

read (tflite/) -> fold (passes/) -> lower (ops/) -> bind (backends/) -> plan -> generate (codegen/)
come before build, run, serial, flash, bench and the CLI: an earlier stage never imports a later
one (tinyq/driver.py ties them together), and the kernel backends know nothing of the quantizer or
the build."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tinyq import docs

PACKAGE = Path(__file__).resolve().parent.parent / "tinyq"

CORE = ("tinyq.ir", "tinyq.qmath", "tinyq.tflite", "tinyq.passes", "tinyq.ops", "tinyq.lower", "tinyq.backends",
        "tinyq.bind", "tinyq.plan", "tinyq.codegen", "tinyq.libraries")
OUTER = ("tinyq.cli", "tinyq.build", "tinyq.run", "tinyq.serial", "tinyq.flash", "tinyq.bench", "tinyq.verify",
         "tinyq.demo")
FORBIDDEN = {core: OUTER for core in CORE}
FORBIDDEN["tinyq.backends"] = OUTER + ("tinyq.quantize", "tinyq.plan", "tinyq.codegen", "tinyq.bind")
FORBIDDEN["tinyq.ops"] = OUTER + ("tinyq.quantize", "tinyq.backends", "tinyq.bind", "tinyq.plan", "tinyq.codegen")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("tinyq")}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_no_import_runs_against_the_stage_order():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        for stage, banned in FORBIDDEN.items():
            if not _within(me, stage):
                continue
            wrong += [f"{me} imports {name}" for name in sorted(imports(path))
                      if any(_within(name, b) for b in banned) and not _within(name, stage)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path, expected", [(docs.OPS_MD, docs.ops_markdown),
                                            (docs.README, lambda: docs.readme_with_table(docs.README.read_text()))])
def test_generated_docs_are_current(path, expected):
    assert path.read_text() == expected(), f"{path.name} is stale: run python -m tinyq.docs"
