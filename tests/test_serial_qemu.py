"""End to end over a serial line: the benchmark firmware of each MLPerf Tiny int8 model boots in
QEMU (mps3-an547) with its UART on a local TCP port, `tinyq bench --port socket://...` drives it,
outputs are bit-exact with TFLM and instruction counts come back. The same firmware answers the
MLPerf Tiny runner's own exchange (31-byte db lines, infer N W, m-results), a paused guest is a
timeout error, and `tinyq qemu` serves it from the command line."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import shared_file
from test_orphans import children_named, proc_state
from tinyq.bench.latency import load_graph
from tinyq.boards import get_board
from tinyq.build.project import generated_files
from tinyq.cli import main
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_file
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.serial.dut import Dut
from tinyq.serial.firmware import build_dut_firmware
from tinyq.serial.link import Link
from tinyq.serial.qemu import QemuSerial, SerialSpec, free_port
from tinyq.tflite.writer import write_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]

BOARD = "qemu-m55"
TIMEOUT = 30.0  # silence allowed per reply: QEMU's UART is slow on a loaded machine
# (model, random inputs): few inputs, the UART moves ~1 KB/s under QEMU on a busy CI machine
MODELS = [("ic_resnet8_int8.tflite", 1), ("ad_fc_autoencoder_int8.tflite", 2)]  # kws: test_tinyq_qemu_command...


def make_project(tmp_path, model_path):
    board = get_board(BOARD)
    compiled = compile_file(model_path, board)
    return write_output_dir(tmp_path / compiled.source.name, generated_files(compiled, board, model_path))


def serve(elf):
    return QemuSerial(get_board(BOARD), elf, SerialSpec("tcp", free_port()))


def bench_cli(url, root, tmp_path, n_inputs):
    out_json, out_csv = tmp_path / "bench.json", tmp_path / "bench.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", url, "--model", str(root), "--random", str(n_inputs), "--runs", "2",
              "--warmup", "1", "--timeout", str(TIMEOUT), "--json-file", str(out_json), "--csv", str(out_csv)])
    return exit_info.value.code, json.loads(out_json.read_text()), out_csv.read_text().splitlines()


def dequantize(raw: bytes, graph):
    t = graph.tensors[graph.outputs[0]]
    return (np.frombuffer(raw, np.int8).astype(np.float64) - t.quant.zp) * t.quant.s


@pytest.mark.parametrize("model,n_inputs", MODELS, ids=[m.split("_")[0] for m, _ in MODELS])
def test_bench_over_serial_is_bit_exact_and_counts_instructions(tmp_path, capsys, model, n_inputs):
    model_path = shared_file("models", "mlperf-tiny", model)
    root = make_project(tmp_path, model_path)
    build = build_dut_firmware(root, get_board(BOARD))
    with serve(build.elf) as q:
        check_bench(q.url, root, tmp_path, capsys, n_inputs, build.model_hash)
        if build.mlperf_model == "ad01":  # the runner's float features, quantized on the device
            with Link(q.url, timeout=TIMEOUT) as link:
                link.sync()
                check_mlperf_exchange(link, model_path, build.mlperf_model)


def check_bench(url, root, tmp_path, capsys, n_inputs, model_hash):
    code, report, rows = bench_cli(url, root, tmp_path, n_inputs)
    text = capsys.readouterr().out
    assert code == 0, text
    assert report["bit_exact"] and report["on_qemu"] and report["unit"] == "instructions"
    assert report["model_hash"] == model_hash and report["inputs"] == n_inputs
    counts = report["counts"]
    assert 10_000 < counts["min"] <= counts["median"] <= counts["p90"] <= counts["max"]  # (CMSIS-NN: AD ~54K)
    # deterministic guest: the runs of one input agree to within one SysTick phase
    assert all(max(t) - min(t) <= 2 for t in report["ticks"])
    assert len(rows) == 1 + n_inputs * 2 and rows[0].startswith("model,board,input,run,ticks,instructions")
    assert "bit-exact with TFLM" in text
    assert re.search(rf"^  instructions\s+{counts['median']:,.0f}\s+{counts['p90']:,.0f}\s", text, re.M), text


def check_mlperf_exchange(link, model_path, mlperf):
    """What the official runner sends and parses (its regexes), on the same firmware."""
    graph, _ = load_graph(model_path)
    dut = Dut(link)
    assert re.match(r"^m-name-dut-\[([^]]+)]$", link.command("name")[0])
    profile = link.command("profile")
    assert any(re.match(r"^m-(model|profile)-\[([^]]+)]$", line) for line in profile)
    assert f"m-model-[{mlperf}]" in profile
    rng = np.random.default_rng(7)
    t_in = graph.tensors[graph.inputs[0]]
    if mlperf == "ad01":
        # The runner sends float32 features; the firmware quantizes them like the reference does.
        features = rng.normal(0, 8, size=t_in.numel).astype(np.float32)
        dut.load(features.tobytes())
        v = features / np.float32(t_in.quant.s)
        q = np.clip(np.trunc(v + np.where(v >= 0, 0.5, -0.5)) + t_in.quant.zp, -128, 127).astype(np.int8)
        model_input = q.reshape(t_in.shape)
    elif mlperf == "ic01":
        pixels = rng.integers(0, 256, size=t_in.numel, dtype=np.uint8)  # the runner sends uint8 pixels
        dut.load(pixels.tobytes())
        model_input = (pixels.astype(np.int16) - 128).astype(np.int8).reshape(t_in.shape)
    else:
        model_input = rng.integers(-128, 128, size=t_in.shape, dtype=np.int8)
        dut.load(model_input.tobytes(), per_line=31)  # the runner's chunk size
    result = dut.infer(1, 0, timeout=TIMEOUT)
    assert result["elapsed_us"] > 0
    raw = bytes.fromhex(link.command("tinyq-outputs")[0].split("[")[1].rstrip("]"))
    golden = tflm_run(write_model(graph), [[model_input]])[0][0]
    assert raw == golden.tobytes()  # the runner's data path is bit-exact too
    values = dequantize(raw, graph)
    if mlperf == "ad01":
        expected = [float(np.mean((values - features.astype(np.float64)) ** 2))]
    else:
        expected = list(values)
    assert np.allclose(result["results"], expected, atol=1.5e-3, rtol=1e-4)


def test_tinyq_qemu_command_kws_bench_mlperf_runner_exchange_and_a_paused_guest(tmp_path, capsys):
    model_path = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    root = make_project(tmp_path, model_path)
    # tcp:0: tinyq picks a free port and prints its URL alone on a line of stdout
    proc = subprocess.Popen([sys.executable, "-m", "tinyq", "qemu", str(root), "--serial", "tcp:0",
                             "--timeout", "900"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        banner = ""
        while "serving" not in banner:
            line = proc.stdout.readline()
            assert line, f"tinyq qemu exited: {banner}"
            banner += line
        url = re.search(r"^(socket://127\.0\.0\.1:[0-9]+)$", banner, re.M).group(1)
        assert not url.endswith(":0") and f"on {url}" in banner
        digest = re.search(r"hash ([0-9a-f]{16})", banner).group(1)
        check_bench(url, root, tmp_path, capsys, 2, digest)
        with Link(url, timeout=TIMEOUT) as link:
            link.sync()
            info = Dut(link).info()
            assert info.model == "kws_dscnn_int8" and info.on_qemu and info.input_bytes == 490
            check_mlperf_exchange(link, model_path, "kws01")
        # Freeze tinyq and QEMU (its own process group): the client must give up after its timeout.
        (qemu,) = children_named(proc.pid, "qemu-system-arm")
        groups = (proc.pid, os.getpgid(qemu))
        for group in groups:
            os.killpg(group, signal.SIGSTOP)
        try:
            with Link(url, timeout=2.0) as link:
                start = time.monotonic()
                with pytest.raises(TinyqError, match="no reply"):
                    Dut(link).name()
                assert time.monotonic() - start < 2.0 + 10.0
        finally:
            for group in groups:
                os.killpg(group, signal.SIGCONT)
        # `kill PID` on tinyq alone stops QEMU too.
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert proc_state(qemu) in (None, "Z", "X")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_verify_over_a_serial_port(tmp_path, capsys):
    """`tinyq verify MODEL --port P`: the serial runner of the one verify driver, against the firmware
    QEMU serves on a TCP port; a device running another model is named as such."""
    model_path = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    root = make_project(tmp_path, model_path)
    build = build_dut_firmware(root, get_board(BOARD))
    with serve(build.elf) as q:
        with pytest.raises(SystemExit) as exit_info:
            main(["verify", str(model_path), "--port", q.url, "--inputs", "2"])
        out = capsys.readouterr()
        assert exit_info.value.code == 0 and "PASS: 2 inputs" in out.out, out.out + out.err
        other = tmp_path / "other.tflite"
        other.write_bytes(model_path.read_bytes() + b"\0")  # same graph, another file: another hash
        with pytest.raises(SystemExit) as exit_info:
            main(["verify", str(other), "--port", q.url, "--inputs", "1"])
        assert exit_info.value.code == 2 and "wrong firmware" in capsys.readouterr().err


def test_verify_over_a_serial_port_with_invokes_that_end_early(tmp_path, capsys):
    """A CIRCULAR_BUFFER that runs every 3rd invoke: the firmware says which timed run ended early
    (m-tinyq-ended-early-[r], no outputs), `tinyq verify --port` takes those records as TFLM's ended
    (not compared) and the others bit-exact; timing such a run is a one-line error, not garbage."""
    from test_circular_buffer import buffer_graph

    cycles, n = 3, 9
    model_path = tmp_path / "cb3.tflite"
    model_path.write_bytes(write_model(buffer_graph(slots=4, h=2, w=3, cycles=cycles)))
    root = make_project(tmp_path, model_path)
    build = build_dut_firmware(root, get_board(BOARD))
    with serve(build.elf) as q:
        with pytest.raises(SystemExit) as exit_info:
            main(["verify", str(model_path), "--port", q.url, "--inputs", str(n), "--json"])
        out = capsys.readouterr()
        assert exit_info.value.code == 0, out.out + out.err
        data = json.loads(out.out)
        assert data["bit_exact"] and data["inputs"] == n and data["ended_early"] == n - n // cycles
        with Link(q.url, timeout=TIMEOUT) as link:
            link.sync()
            dut = Dut(link)
            info = dut.info()
            dut.load(bytes(info.input_bytes))
            # 9 invokes so far: the next two end early, the third runs
            ended = dut.timed_runs(1, 0, info.output_bytes, may_end_early=True)
            assert ended.ended_early and ended.outputs is None and len(ended.ticks) == 1
            with pytest.raises(TinyqError, match="timed run 0 ended early"):
                dut.timed_runs(1, 0, info.output_bytes)
            ran = dut.timed_runs(1, 0, info.output_bytes, may_end_early=True)
            assert not ran.ended_early and len(ran.outputs) == info.output_bytes
            # two warmups end early, as they may; the timed run is the third invoke and runs
            ran = dut.timed_runs(1, 2, info.output_bytes)
            assert not ran.ended_early and len(ran.outputs) == info.output_bytes
        # eval on the device counts the samples whose invoke ended early, in the host's words
        rng = np.random.default_rng(1)
        np.save(tmp_path / "x.npy", rng.integers(-128, 128, (6, 1, 2, 3)).astype(np.int8))
        np.save(tmp_path / "y.npy", np.ones((6, 1, 4, 2, 3), np.float32))
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", str(model_path), "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                  "--port", q.url, "--timeout", str(TIMEOUT)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "invoke ended early on 4 of 6 samples" in err, err
