"""Generated firmware under QEMU: bit-exact with TFLM on the Armv8.1-M (M55/M85) build and the
ARMv6-M (RP2040) build, deterministic instruction counts, and clear errors when the guest
crashes or hangs (QEMU is always killed)."""

import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import shared_file
from test_firmware import firmware_project, small_model
from tinyq.boards import get_board
from tinyq.cli import main
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import TinyqError
from tinyq.build.arm import build_firmware
from tinyq.bench.firmware import FirmwareRow, format_table
from tinyq.ir import DTYPES
from tinyq.run.qemu import run_qemu
from tinyq.verify import run_project, verify_qemu
from tinyq.verify import make_inputs, summarize
from tinyq.tflite.writer import write_model

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi "
           "qemu-system-arm)")

MLPERF = ["ad_fc_autoencoder_int8", "kws_dscnn_int8", "ic_resnet8_int8"]
M55_BUILD, ARMV6M_BUILD = "qemu-m55", "qemu-m0-an385"


@pytest.mark.slow
@pytest.mark.parametrize("board", [M55_BUILD, ARMV6M_BUILD])
@pytest.mark.parametrize("model", MLPERF)
def test_mlperf_tiny_models_are_bit_exact_under_qemu(model, board):
    path = shared_file("models", "mlperf-tiny", f"{model}.tflite")
    b = get_board(board)
    compiled = compile_file(path, b)
    report = verify_qemu(compiled, b, n_inputs=20, seed=3)
    assert report.result.records == 20
    assert report.result.ok, summarize(report.result, compiled.graph)
    assert min(report.run.instructions) > 10_000  # it ran the model (the fast kernels: tens of thousands on AD)
    print(f"{model} on {board}: {sorted(report.run.instructions)[10]:,} instructions per inference, "
          f"flash {report.sizes.flash_bytes:,} B, SRAM {report.sizes.ram_bytes:,} B")


@pytest.mark.parametrize("board", ["qemu-m55", "qemu-m0", "qemu-m0-an385"])
def test_small_model_is_bit_exact_on_every_qemu_board(board):
    b = get_board(board)
    report = verify_qemu(compile_graph(small_model(seed=5), b), b, n_inputs=20, seed=1)
    assert report.result.ok, summarize(report.result, small_model(seed=5))
    assert len(report.run.instructions) == 20 and min(report.run.instructions) > 1000


def test_instruction_counts_are_deterministic_and_independent_of_the_machine(tmp_path):
    """The same Cortex-M0+ code on a real M0 (microbit) and on the AN385: one count, up to a tick."""
    graph = small_model(seed=9)
    inputs = make_inputs(graph, 6)
    specs = [(graph.tensors[i].shape, DTYPES[graph.tensors[i].dtype][0]) for i in graph.outputs]
    runs = []
    for name in ("qemu-m0", "qemu-m0-an385"):
        board = get_board(name)
        _, root = firmware_project(tmp_path, graph, board)
        elf = build_firmware(root, board).elf
        runs += [run_qemu(elf, board, inputs, specs) for _ in range(2 if name == "qemu-m0" else 1)]
    assert runs[0].ticks == runs[1].ticks  # -icount: the same run twice is the same count
    for microbit, an385 in zip(runs[0].instructions, runs[2].instructions):
        assert abs(microbit - an385) <= 125  # one SysTick on each clock (62.5 and 40 instructions)


def _project(tmp_path, board="qemu-m55"):
    model = tmp_path / "fw.tflite"
    model.write_bytes(write_model(small_model(seed=2)))
    out = tmp_path / "project"
    main(["generate", str(model), "-o", str(out), "--board", board])
    return out


def _qemu_processes_running(path_fragment: str) -> bool:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any("qemu-system-arm" in line and path_fragment in line for line in ps.splitlines())


def _patch_main(root, statement):
    main_c = root / "firmware" / "tq_main.c"
    text = main_c.read_text()
    main_c.write_text(text.replace("  tq_timer_init();\n", f"  tq_timer_init();\n  {statement}\n"))


def test_a_crashing_guest_is_a_clear_error_with_the_console(tmp_path):
    root = _project(tmp_path)
    _patch_main(root, "((void (*)(void))0x0FFFFFF1u)();  /* jump nowhere */")
    start = time.monotonic()
    with pytest.raises(TinyqError) as exc:
        run_project(root, None, n_inputs=2, timeout=60)
    message = str(exc.value)
    assert "\n" not in message
    assert re.search(r"QEMU mps3-an547: guest crashed \(tinyq-fault exception=3 pc=0x0ffffff0", message), message
    assert time.monotonic() - start < 55  # reported at once, not at the timeout
    assert not _qemu_processes_running(str(root))


def test_a_hung_guest_times_out_and_qemu_is_killed(tmp_path):
    root = _project(tmp_path, board="qemu-m0-an385")
    _patch_main(root, 'tq_puts("about to hang\\n"); for (;;) { }')
    text = (root / "firmware" / "tq_main.c").read_text()
    (root / "firmware" / "tq_main.c").write_text('#include "tq_console.h"\n' + text)
    with pytest.raises(TinyqError, match=r"guest hung: no ready line before the timeout; "
                                         r"last console lines: about to hang"):
        run_project(root, None, n_inputs=2, timeout=3)
    assert not _qemu_processes_running(str(root))


def test_wrong_outputs_fail_the_comparison(tmp_path, capsys):
    root = _project(tmp_path)
    model_c = next((root / "model").glob("*_model.c"))
    text = model_c.read_text()
    text = text.replace("  return 0;\n}", "  ((unsigned char *)outputs[0])[1] ^= 1u;\n  return 0;\n}", 1)
    model_c.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(["run", str(root), "--qemu", "--inputs", "4"])
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "FAIL: 4 of 4 inputs differ from TFLM" in out
    # the mismatch table: input 0, one value differing, at byte 1 (plain columns: pytest's stdout is no terminal)
    assert re.search(r"^\s+0\s+\d+ '[^']*'\s+1\s+1\s+max \|diff\| \d+$", out, re.M), out


def test_run_command_reports_instructions_and_sizes_as_json(tmp_path, capsys):
    (tmp_path / "m55").mkdir()  # (a Pico SDK project on its stand-in: tests/test_run_sdk_project.py)
    root = _project(tmp_path / "m55")
    capsys.readouterr()
    for board in ("qemu-m55", "qemu-m0"):  # a bare-metal project boots on its board or another
        with pytest.raises(SystemExit) as exc:
            main(["run", str(root), "--qemu", "--board", board, "--inputs", "5", "--format", "json"])
        assert exc.value.code == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["board"] == board and summary["bit_exact"] and summary["inputs"] == 5
        ins = summary["instructions_per_inference"]
        assert 1000 < ins["min"] <= ins["median"] <= ins["max"]
        assert summary["flash_bytes"] > summary["arena_bytes"] > 0
        assert summary["sram_bytes"] == summary["arena_bytes"] + summary["stack_bytes"] + summary["static_bytes"]


def test_verify_command_runs_boards_on_their_qemu_stand_in(tmp_path, capsys):
    model = tmp_path / "fw.tflite"
    model.write_bytes(write_model(small_model(seed=4)))
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(model), "--board", "rp2040", "--inputs", "5"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "on qemu-m0-an385 (QEMU mps2-an385, stand-in for rp2040)" in out and "PASS: 5 inputs" in out
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(model), "--board", "esp32s3"])
    assert exc.value.code == 2 and "no QEMU machine runs this board's code" in capsys.readouterr().err


def test_bench_firmware_reports_each_model_and_board(tmp_path, capsys):
    (tmp_path / "fw_int8.tflite").write_bytes(write_model(small_model(seed=6)))
    main(["bench", "firmware", "--models", str(tmp_path), "--board", "qemu-m0", "--board", "qemu-m55",
          "--inputs", "3", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    # each board's default backend: the reference kernels on the Cortex-M0, CMSIS-NN on the M55
    assert [(r["model"], r["board"], r["backend"]) for r in rows] == [
        ("fw_int8", b, get_board(b).default_backend) for b in ("qemu-m0", "qemu-m55")]
    assert rows[1]["backend"] == "cmsis-nn"
    for r in rows:
        assert r["bit_exact"] is True and r["inputs"] == 3
        assert r["sram_bytes"] == r["arena_bytes"] + r["stack_bytes"] + r["static_bytes"]
        assert 0 < r["stack_used_bytes"] < r["stack_bytes"]
        assert r["instructions_per_inference"] > 1000 and r["flash_bytes"] > r["arena_bytes"]
        assert r.pop("versions")["tflite-micro"]  # what produced the figures
    table = format_table([FirmwareRow(**r) for r in rows])
    assert re.search(r"fw_int8\s+qemu-m0\s+reference\s+yes \(3\)", table)


def _bench_row(backend: str, instructions: int, **changes) -> FirmwareRow:
    values = dict(model="kws_dscnn_int8", board="qemu-m55", backend=backend, bit_exact=True, inputs=3,
                  flash_bytes=9, sram_bytes=9, arena_bytes=1, stack_bytes=4, stack_used_bytes=2, static_bytes=4,
                  instructions_per_inference=instructions, tflm_reference_instructions=40_000_000,
                  tflm_cmsis_nn_instructions=2_000_000)
    return FirmwareRow(**{**values, **changes})


def test_bench_firmware_table_compares_each_backend_with_its_tflm_anchor():
    rows = [_bench_row("reference", 20_000_000), _bench_row("cmsis-nn", 1_000_000),
            _bench_row("cmsis-nn", 0, bit_exact=None, note="cmsis-nn needs its library")]
    lines = format_table(rows).splitlines()
    assert "vs TFLM ref" in lines[0] and "vs TFLM+CMSIS-NN" in lines[0]
    assert re.search(r"reference .*20,000,000\s+0\.50x\s+10\.00x$", lines[2])
    assert re.search(r"cmsis-nn .*1,000,000\s+0\.50x$", lines[3])  # no TFLM-reference ratio for a library
    assert re.search(r"cmsis-nn\s+-\s+cmsis-nn needs its library$", lines[4])


def test_bench_firmware_backends_side_by_side_and_a_missing_library(tmp_path, capsys, monkeypatch):
    (tmp_path / "fw_int8.tflite").write_bytes(write_model(small_model(seed=6)))
    monkeypatch.delenv("TINYQ_CMSIS_NN_DIR", raising=False)
    # no checkout, an empty cache, and an archive that is not there: the fetch fails at once
    monkeypatch.setenv("TINYQ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYQ_CMSIS_NN_ARCHIVE", str(tmp_path / "absent.tar.gz"))
    main(["bench", "firmware", "--models", str(tmp_path), "--board", "qemu-m55", "--backend", "reference",
          "--backend", "cmsis-nn", "--inputs", "3", "--format", "json"])
    reference, cmsis_nn = json.loads(capsys.readouterr().out)
    assert (reference["backend"], reference["bit_exact"]) == ("reference", True)
    assert reference["instructions_per_inference"] > 1000
    assert cmsis_nn["backend"] == "cmsis-nn" and cmsis_nn["bit_exact"] is None
    assert "TINYQ_CMSIS_NN_ARCHIVE" in cmsis_nn["note"]  # what it could not fetch from
    with pytest.raises(SystemExit) as exc:
        main(["bench", "firmware", "--models", str(tmp_path), "--backend", "cmsis-nm"])
    assert exc.value.code == 2 and "unknown backend cmsis-nm" in capsys.readouterr().err


@pytest.mark.skipif(not os.environ.get("TINYQ_CMSIS_NN_DIR"),
                    reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout to benchmark its backend")
def test_bench_firmware_runs_the_cmsis_nn_backend(tmp_path, capsys):
    (tmp_path / "fw_int8.tflite").write_bytes(write_model(small_model(seed=6)))
    main(["bench", "firmware", "--models", str(tmp_path), "--board", "qemu-m55", "--backend", "cmsis-nn",
          "--inputs", "3"])
    assert re.search(r"fw_int8\s+qemu-m55\s+cmsis-nn\s+yes \(3\)", capsys.readouterr().out)


@pytest.mark.skipif(not os.environ.get("TINYQ_CMSIS_NN_DIR"),
                    reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN v7.0.0 checkout to test its backend in firmware")
def test_cmsis_nn_backend_firmware_is_bit_exact_with_helium(tmp_path):
    board = get_board("qemu-m55")
    graph = small_model(seed=8)
    report = verify_qemu(compile_graph(graph, board, backend="cmsis-nn"), board, n_inputs=10, work_dir=tmp_path)
    assert report.result.ok, summarize(report.result, graph)
    elf = tmp_path / board.name / "build" / board.name / "firmware.elf"
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    # the backend's call, linked in: on Helium tinyq's own kernel runs fully connected layers
    assert re.search(r"\b(arm_fully_connected\w*_s8|tq_mve_conv_s8)\b", symbols)
