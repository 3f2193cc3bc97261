"""The benchmark firmware: a generated project rebuilt with the MLPerf Tiny DUT protocol.

`tinyq build` links tinyq's batch harness (firmware/tq_harness.c, driven by
`tinyq run`). `tinyq qemu` and `tinyq flash` instead link firmware/tq_dut.c, the
protocol `tinyq bench` and the MLPerf Tiny runner speak over a serial port, into
build/<board>-dut/. The protocol sources (and harness files newer than the
project) come from tinyq itself, so older projects build too; tq_dut_model.h (model hash, MLPerf
benchmark, output quantization) is rendered here from the project's .tflite.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board
from tinyq.build.firmware import FIRMWARE_SRC
from tinyq.build.project import MANIFEST, Project, load_project, project_kind
from tinyq.codegen.generate import environment
from tinyq.errors import TinyqError
from tinyq.ir import Graph

DUT_SOURCES = ("tq_main_dut.c", "tq_dut.c", "tq_capture.c")  # tq_capture.c: capture mode (tinyq calibrate)
DUT_HEADERS = ("tq_dut.h", "tq_capture.h")
# Harness files the DUT build leaves out: the batch protocol and its semihosting record file.
BATCH_ONLY = ("tq_main.c", "tq_harness.c", "tq_records_semihost.c", "tq_records_none.c")
# SDK projects: where the harness lives and which file lists its sources.
SDK_LAYOUT = {"pico-sdk": ("firmware", "CMakeLists.txt", "tq_main_pico.c"),
              "esp-idf": ("main", "main/CMakeLists.txt", "tq_main_esp.c")}
# Model file name fragments -> MLPerf Tiny benchmark (what `profile` reports, how `infer` converts data).
# MLPerf Tiny's newer benchmarks: ic02 is the larger ResNet (pretrainedResnet_large); sww01 the streaming wake word
# benchmark, which a two-model project (frontend + classifier) answers over the UART.
MLPERF_BY_NAME = (("kws", "kws01"), ("dscnn", "kws01"), ("resnet_large", "ic02"), ("resnetlarge", "ic02"),
                  ("ic02", "ic02"), ("resnet", "ic01"), ("ic_", "ic01"),
                  ("vww", "vww01"), ("person", "vww01"), ("autoencoder", "ad01"), ("ad_", "ad01"),
                  ("anomaly", "ad01"))
INPUT_MODE = {"ic01": "TQ_DUT_INPUT_UINT8", "ic02": "TQ_DUT_INPUT_UINT8", "vww01": "TQ_DUT_INPUT_UINT8",
              "ad01": "TQ_DUT_INPUT_FLOAT"}
DUT_TYPES = {"int8": "TQ_DUT_INT8", "uint8": "TQ_DUT_UINT8", "int16": "TQ_DUT_INT16", "int32": "TQ_DUT_INT32",
             "float32": "TQ_DUT_FLOAT32"}


@dataclass(frozen=True)
class DutBuild:
    elf: Path
    board: str
    project: Project
    model_hash: str
    mlperf_model: str


def model_hash(path: Path) -> str:
    """What the firmware reports and `tinyq bench` checks: 16 hex digits of the file's SHA-256."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def mlperf_model(name: str) -> str:
    lowered = name.lower()
    return next((code for part, code in MLPERF_BY_NAME if part in lowered), name)


def _c_float(x: float) -> str:
    text = repr(float(x))
    return text + ("f" if ("." in text or "e" in text) else ".0f")


def _quant(t) -> tuple[float, int]:
    if t.quant is None or t.quant.per_channel:
        return 0.0, 0
    return t.quant.s, t.quant.zp


def dut_model_header(graph: Graph, board: Board, name: str, model_file: str, digest: str, arena_bytes: int,
                     mlperf: str) -> str:
    """tq_dut_model.h for `graph` on `board`."""
    for i in list(graph.inputs) + list(graph.outputs):
        if graph.tensors[i].dtype not in DUT_TYPES:
            raise TinyqError(f"the benchmark firmware cannot report {graph.tensors[i].dtype} tensors",
                             where=f"tensor '{graph.tensors[i].name}'")
    first = graph.tensors[graph.inputs[0]]
    single_int8 = len(graph.inputs) == 1 and first.dtype == "int8" and first.quant is not None
    mode = INPUT_MODE.get(mlperf, "TQ_DUT_INPUT_RAW") if single_int8 else "TQ_DUT_INPUT_RAW"
    in_bytes = sum(graph.tensors[i].nbytes for i in graph.inputs)
    db_bytes = max(in_bytes, 4 * first.numel) if mode == "TQ_DUT_INPUT_FLOAT" else in_bytes
    outputs, offset = [], 0
    for i in graph.outputs:
        t = graph.tensors[i]
        scale, zp = _quant(t) if t.dtype != "float32" else (0.0, 0)
        outputs.append({"type": DUT_TYPES[t.dtype], "count": t.numel, "offset": offset, "scale_c": _c_float(scale),
                        "zero_point": zp})
        offset += t.nbytes
    out0 = graph.tensors[graph.outputs[0]]
    results_mse = (mlperf == "ad01" and single_int8 and len(graph.outputs) == 1 and out0.numel == first.numel
                   and out0.dtype == "int8")
    in_scale, in_zp = _quant(first)
    ctx = {"name": name, "board": board, "model_file": model_file, "model_hash": digest, "mlperf_model": mlperf,
           "arena_bytes": arena_bytes, "icount_shift": board.qemu.icount_shift if board.qemu else -1,
           "input_mode": mode, "results_mse": results_mse, "db_bytes": db_bytes,
           "input": {"count": first.numel, "scale_c": _c_float(in_scale), "zero_point": in_zp}, "outputs": outputs,
           "input_descriptions": [input_description(graph.tensors[i]) for i in graph.inputs]}
    return environment().get_template("firmware/tq_dut_model.h.j2").render(ctx)


def input_description(t) -> str:
    """What `tinyq-inputs` says of an input: type, shape, scale, zero point, name (tinyq/serial/capture.py
    reads it). The name keeps only characters that are safe in a C string and a reply line."""
    scale, zp = _quant(t) if t.quant is not None else (0.0, 0)
    name = "".join(c if c.isalnum() or c in "_.:/-" else "_" for c in t.name)[:64]
    return f"{t.dtype},{'x'.join(str(d) for d in t.shape) or '1'},{float(scale)!r},{zp},{name}"


def _project_header(project: Project, board: Board, mlperf: str | None) -> tuple[str, str, str]:
    from tinyq.tflite.reader import read_model_file

    graph = read_model_file(project.model_path)
    digest = model_hash(project.model_path)
    pipeline = json.loads((project.root / MANIFEST).read_text()).get("pipeline")
    code = mlperf or ("sww01" if pipeline else mlperf_model(project.name))
    header = dut_model_header(graph, board, project.name, project.model_file, digest, project.arena_bytes, code)
    return header, digest, code


def _write_protocol(folder: Path, header: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel in DUT_SOURCES + DUT_HEADERS:
        shutil.copyfile(FIRMWARE_SRC / rel, folder / rel)
    (folder / "tq_dut_model.h").write_text(header)


def build_dut_firmware(root: Path, board: Board, mlperf: str | None = None) -> DutBuild:
    """Build the benchmark firmware of project `root` for `board` (bare metal or vendor SDK)."""
    project = load_project(root)
    kind = project_kind(board)
    if kind != project.kind:
        raise TinyqError(f"project is a {project.kind} project (for {project.board}), {board.name} needs {kind}",
                         where=str(project.root),
                         hint=f"tinyq generate {project.model_path} -o DIR --board {board.name}")
    header, digest, code = _project_header(project, board, mlperf)
    if kind == "firmware":
        elf = _build_bare_metal(project, board, header)
    elif kind in SDK_LAYOUT:
        elf = _build_sdk(project, board, kind, header)
    else:
        raise TinyqError("the host board runs no firmware", hint="choose a device or qemu-* board")
    return DutBuild(elf=elf, board=board.name, project=project, model_hash=digest, mlperf_model=code)


def _build_bare_metal(project: Project, board: Board, header: str) -> Path:
    from tinyq.build.arm import link_firmware
    from tinyq.build.firmware import harness_sources

    out = project.root / "build" / f"{board.name}-dut"
    _write_protocol(out, header)
    # The project's own harness files; ones added to tinyq after it was generated come from tinyq.
    harness = [_harness_file(project, s) for s in harness_sources(board) if s not in BATCH_ONLY]
    sources = sorted((project.root / "model").glob("*.c")) + harness + [out / s for s in DUT_SOURCES]
    return link_firmware(project.root, board, sources, out, [project.root / "firmware", FIRMWARE_SRC],
                         f"{board.name} benchmark firmware build")


def _harness_file(project: Project, name: str) -> Path:
    own = project.root / "firmware" / name
    return own if own.is_file() else FIRMWARE_SRC / name


def sdk_dut_project(project: Project, board: Board, kind: str, header: str) -> Path:
    """A copy of an SDK project whose firmware speaks the DUT protocol (build/<board>-dut/project)."""
    folder, cmake, sdk_main = SDK_LAYOUT[kind]
    dest = project.root / "build" / f"{board.name}-dut" / "project"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(project.root, dest, ignore=lambda d, names: ["build"] if Path(d) == project.root else [])
    _write_protocol(dest / folder, header)
    text = (dest / cmake).read_text()
    if sdk_main not in text or "tq_harness.c" not in text:
        raise TinyqError(f"{cmake} does not list {sdk_main} and tq_harness.c", where=str(project.root),
                         hint="regenerate the project with `tinyq generate MODEL -o DIR --board BOARD`")
    # the harness's line becomes the protocol's two files, in the list's own form (a path or a quoted name)
    text = re.sub(r'(["\w/.${}-]*?)tq_harness\.c("?)', r"\1tq_dut.c\2 \1tq_capture.c\2",
                  text.replace(sdk_main, "tq_main_dut.c"))
    (dest / cmake).write_text(text)
    return dest


def _build_sdk(project: Project, board: Board, kind: str, header: str) -> Path:
    from tinyq.build.sdk import build_with_sdk

    dest = sdk_dut_project(project, board, kind, header)
    report = build_with_sdk(kind, dest, board, project.name)
    return report.elf
