"""`tinyq verify --json` and `--junit`: the comparison as data and as a JUnit report for CI.

JUnit: one test suite (the model on its board), one test case per input record, a failure per
record whose outputs differ from TFLM's (naming the tensor, first byte and largest difference).
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tinyq.verify.compare import VerifyResult


def result_dict(model: str, board: str, backend: str, result: VerifyResult, qemu_summary: dict | None = None) -> dict:
    data = {"model": model, "board": board, "backend": backend, "inputs": result.records,
            "tensors_compared": result.tensors_compared, "bit_exact": result.ok, "ended_early": result.ended_early,
            "mismatches": [dataclasses.asdict(m) for m in result.mismatches]}
    if qemu_summary is not None:
        data["qemu"] = qemu_summary
    return data


def result_json(*args, **kwargs) -> str:
    return json.dumps(result_dict(*args, **kwargs), indent=2)


def junit_xml(model: str, board: str, result: VerifyResult, seconds: float = 0.0) -> str:
    failed: dict[int, list] = {}
    for m in result.mismatches:
        failed.setdefault(m.record, []).append(m)
    suite = ET.Element("testsuite", name=f"tinyq verify {model} on {board}", tests=str(result.records),
                       failures=str(len(failed)), errors="0", skipped="0", time=f"{seconds:.3f}")
    for record in range(result.records):
        case = ET.SubElement(suite, "testcase", classname=f"tinyq.verify.{model}.{board}", name=f"input {record}",
                             time=f"{seconds / max(result.records, 1):.3f}")
        for m in failed.get(record, []):
            where = f" (op {m.op})" if m.op is not None else ""
            text = (f"tensor {m.tensor} '{m.tensor_name}'{where}: {m.bytes_differing} bytes differ from TFLM's, "
                    f"the first at byte {m.first_byte}, largest difference {m.max_abs_diff}")
            kind = "mismatch"
            if m.ended_early:  # no tensor compared: only one side's invoke ran
                text, kind = f"only {m.ended_early}'s invoke ended early (kTfLiteAbort)", "ended early"
            ET.SubElement(case, "failure", message=text, type=kind).text = text
    root = ET.Element("testsuites", tests=str(result.records), failures=str(len(failed)))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, *args, **kwargs) -> None:
    from tinyq.codegen.output import write_output_file

    write_output_file(path, junit_xml(*args, **kwargs))
