"""The serial client against a scripted fake device on a local socket: stalls, garbled and torn
replies, resets, wrong firmware, busy and missing ports all end in one-line errors within the
timeout; a torn reply is recovered by resyncing. (End to end against QEMU: test_serial_qemu.py.)"""

import os
import re
import socket
import threading
import time

import numpy as np
import pytest

from tinyq.bench.latency import Stats, run_bench, ticks_to_count
from tinyq.cli import main
from tinyq.errors import TinyqError
from tinyq.serial.dut import DeviceInfo, Dut
from tinyq.serial.firmware import model_hash
from tinyq.serial.link import DeviceError, DeviceReset, GarbledReply, Link
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

TIMEOUT = 8.0  # generous: a loaded CI machine (QEMU spinning on both cores) can starve the fake device
SLACK = 10.0  # seconds an error may take beyond the timeout on a loaded machine


def info_reply(digest="0123456789abcdef", input_bytes=8, output_bytes=4):
    lines = [f"m-tinyq-model-[fake]", f"m-tinyq-hash-[{digest}]", "m-tinyq-board-[fakeboard]",
             "m-tinyq-mlperf-[fake]", "m-tinyq-arena-[64]", f"m-tinyq-input-bytes-[{input_bytes}]",
             f"m-tinyq-output-bytes-[{output_bytes}]", f"m-tinyq-db-bytes-[{input_bytes}]",
             "m-tinyq-tick-hz-[1000000]", "m-tinyq-clock-hz-[133000000]", "m-tinyq-qemu-[-1]"]
    return "".join(line + "\r\n" for line in lines)


class FakeDevice:
    """Answers each '%'-terminated command with `script(cmd)`: a str (then m-ready), raw bytes, or None
    (silence)."""

    def __init__(self, script):
        self.script = script
        self.commands = []
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(10)
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        conn.settimeout(0.05)
        buffer = b""
        with conn:
            while not self.stopped.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"%" in buffer:
                    raw, buffer = buffer.split(b"%", 1)
                    cmd = raw.decode(errors="replace")
                    self.commands.append(cmd)
                    reply = self.script(cmd)
                    if isinstance(reply, bytes):  # raw bytes: exactly these, no m-ready
                        conn.sendall(reply)
                    elif reply is not None:
                        conn.sendall(reply.encode("latin-1") + b"m-ready\r\n")

    def close(self):
        self.stopped.set()
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake():
    devices = []

    def make(script):
        devices.append(FakeDevice(script))
        return devices[-1]

    yield make
    for d in devices:
        d.close()


def protocol(overrides=None):
    """A well-behaved device, with some commands replaced by `overrides[name](cmd)`."""
    overrides = overrides or {}

    def script(cmd):
        name = cmd.split(" ")[0] if cmd else ""
        if name in overrides:
            return overrides[name](cmd)
        if name == "":
            return ""
        if name == "tinyq":
            return info_reply()
        if name == "name":
            return "m-name-dut-[tinyq]\r\n"
        return f"e-[Unknown command: {name}]\r\n"
    return script


def timed(fn):
    start = time.monotonic()
    with pytest.raises(TinyqError) as err:
        fn()
    return err.value, time.monotonic() - start


def test_stalled_device_times_out_with_a_clear_error(fake):
    device = fake(protocol({"tinyq": lambda cmd: None}))
    with Link(device.url, timeout=TIMEOUT) as link:
        link.sync()
        err, took = timed(lambda: Dut(link).info())
    assert "no reply" in str(err) and "'tinyq'" in str(err) and "\n" not in str(err)
    assert TIMEOUT <= took < TIMEOUT + SLACK


def test_partial_line_then_silence_quotes_the_partial_line(fake):
    device = fake(protocol({"name": lambda cmd: b"m-name-du"}))  # starts a line, stalls mid-way
    with Link(device.url, timeout=TIMEOUT) as link:
        err, took = timed(lambda: Dut(link).name())
    assert "no reply" in str(err) and "partial line 'm-name-du'" in str(err)
    assert took < TIMEOUT + SLACK


def test_garbled_reply_is_a_clear_error_after_one_resync(fake):
    device = fake(protocol({"tinyq": lambda cmd: "m-tinyq-mo\x00\xffdel-[x]\r\n"}))
    with Link(device.url, timeout=TIMEOUT) as link:
        link.sync()
        err, took = timed(lambda: Dut(link).info())
    assert isinstance(err, GarbledReply) and "garbled reply to 'tinyq'" in str(err)
    assert device.commands.count("tinyq") == 2  # tried again after resyncing
    assert took < TIMEOUT + SLACK


def test_torn_reply_is_recovered_by_resync(fake):
    replies = iter(["m-tinyq-mod" + info_reply(), info_reply()])  # first line torn: two lines glued together
    device = fake(protocol({"tinyq": lambda cmd: next(replies)}))
    with Link(device.url, timeout=TIMEOUT) as link:
        link.sync()
        info = Dut(link).info()
    assert info.model == "fake" and info.clock_hz == 133_000_000 and not info.on_qemu
    assert any(c.startswith("tinyq-sync-") for c in device.commands[1:])


def test_reset_mid_run_is_reported(fake):
    reset = "m-tinyq-ticks-5\r\nm-timestamp-mode-performance\r\nm-init-done\r\n"
    device = fake(protocol({"tinyq-infer": lambda cmd: reset}))
    with Link(device.url, timeout=TIMEOUT) as link:
        err, _ = timed(lambda: Dut(link).timed_runs(2, 0, 4))
    assert "the device reset during 'tinyq-infer 2 0' (boot banner 'm-timestamp-mode-performance'" in str(err)


def test_device_error_line_becomes_the_message(fake):
    device = fake(protocol({"db": lambda cmd: "e-[Supplied buffer size 9 exceeds maximum of 8]\r\n"}))
    with Link(device.url, timeout=TIMEOUT) as link:
        err, _ = timed(lambda: Dut(link).load(bytes(9)))
    assert "refused 'db load 9': Supplied buffer size 9 exceeds maximum of 8" in str(err)


def test_a_refused_command_leaves_the_link_in_step(fake):
    """The refusal's m-ready is read with it: the next command gets its own reply, not a stale m-ready
    taken for a reboot's, and no resync is needed in between."""
    device = fake(protocol())
    with Link(device.url, timeout=TIMEOUT) as link:
        link.sync()
        for _ in range(3):
            with pytest.raises(DeviceError, match="refused 'tinyq-pipeline': Unknown command: tinyq-pipeline"):
                link.command("tinyq-pipeline", answers=True)
            assert Dut(link).name() == "tinyq"
    assert sum(c.startswith("tinyq-sync-") for c in device.commands) == 1  # the first sync only


def test_a_refusal_then_a_reboot_is_a_reset(fake):
    refusal_then_boot = "e-[Unknown command: x]\r\nm-timestamp-mode-performance\r\nm-init-done\r\n"
    device = fake(protocol({"x": lambda cmd: refusal_then_boot}))
    with Link(device.url, timeout=TIMEOUT) as link:
        err, _ = timed(lambda: link.command("x"))
    assert isinstance(err, DeviceReset) and "after the device refused it" in str(err)


def test_a_refusal_without_its_ready_line_is_still_the_refusal(fake):
    device = fake(protocol({"x": lambda cmd: b"e-[Busy]\r\n"}))  # no m-ready follows
    with Link(device.url, timeout=1.0) as link:
        err, took = timed(lambda: link.command("x"))
    assert isinstance(err, DeviceError) and "refused 'x': Busy" in str(err) and took < 1.0 + SLACK


def test_firmware_without_tinyq_commands_is_refused(fake):
    device = fake(protocol({"tinyq": lambda cmd: "e-[Unknown command: tinyq]\r\n"}))
    with Link(device.url, timeout=TIMEOUT) as link:
        err, _ = timed(lambda: Dut(link).info())
    assert "does not run tinyq's benchmark firmware" in str(err)


def small_model_file(tmp_path):
    rng = np.random.default_rng(3)
    b = GraphBuilder("tiny")
    x = b.input((1, 8), scale=0.05, zero_point=0)
    w = b.const(rng.integers(-127, 128, size=(4, 8)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    path = tmp_path / "tiny.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


def test_wrong_model_hash_is_refused(fake, tmp_path):
    model = small_model_file(tmp_path)
    device = fake(protocol())
    err, _ = timed(lambda: run_bench(device.url, model, [[np.zeros((1, 8), np.int8)]], timeout=TIMEOUT))
    assert "wrong firmware" in str(err) and model_hash(model) in str(err) and "0123456789abcdef" in str(err)


def test_cli_reports_a_stall_as_one_line_exit_2(fake, tmp_path, capsys):
    model = small_model_file(tmp_path)
    digest = model_hash(model)
    device = fake(protocol({"tinyq": lambda cmd: info_reply(digest), "db": lambda cmd: None}))
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", device.url, "--model", str(model), "--random", "1", "--timeout", str(TIMEOUT)])
    assert exit_info.value.code == 2
    err_lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tinyq: error")]
    assert len(err_lines) == 1 and "no reply while waiting for the reply to 'db load 8'" in err_lines[0]


def test_missing_and_refused_ports(tmp_path):
    err, _ = timed(lambda: Link(str(tmp_path / "ttyNOPE"), timeout=TIMEOUT))
    assert "no such serial port" in str(err)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        err, _ = timed(lambda: Link(f"socket://127.0.0.1:{port}", timeout=TIMEOUT))
    assert "nothing listens" in str(err)


def test_busy_port_is_reported():
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        with Link(name, timeout=TIMEOUT):
            err, _ = timed(lambda: Link(name, timeout=TIMEOUT))
        assert "busy" in str(err)
    finally:
        os.close(master)
        os.close(slave)


def test_statistics_and_units():
    s = Stats.of([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])
    assert (s.min, s.median, s.p90, s.max) == (1, 5.5, 9, 10)
    qemu = DeviceInfo("m", "h", "b", "x", 0, 1, 1, 1, tick_hz=32_000_000, clock_hz=32_000_000, qemu_icount_shift=0)
    pico = DeviceInfo("m", "h", "b", "x", 0, 1, 1, 1, tick_hz=1_000_000, clock_hz=133_000_000, qemu_icount_shift=-1)
    assert ticks_to_count(2, qemu) == 62.5  # one SysTick at 32 MHz = 31.25 ns = 31.25 instructions
    assert ticks_to_count(2, pico) == 266  # microseconds at 133 MHz


class ModelDevice:
    """A fake board that runs the model in TFLM (optionally flipping an output bit) and reports ticks."""

    def __init__(self, model_path, corrupt=False):
        from tinyq.tflite.reader import read_model_file

        self.graph = read_model_file(model_path)
        self.model_bytes = model_path.read_bytes()
        self.digest = model_hash(model_path)
        self.corrupt = corrupt
        self.db = bytearray()
        self.expect = 0

    def __call__(self, cmd):
        from tinyq.golden import tflm_run

        parts = cmd.split(" ")
        if parts[0] == "tinyq":
            return info_reply(self.digest, input_bytes=8, output_bytes=4)
        if parts[:2] == ["db", "load"]:
            self.expect, self.db = int(parts[2]), bytearray()
            return f"m-[Expecting {self.expect} bytes]\r\n"
        if parts[0] == "db":
            self.db += bytes.fromhex(parts[1])
            return "m-load-done\r\n" if len(self.db) == self.expect else ""
        if parts[0] == "tinyq-infer":
            x = np.frombuffer(bytes(self.db), np.int8).reshape(1, 8)
            out = bytearray(tflm_run(self.model_bytes, [[x]])[0][0].tobytes())
            if self.corrupt:
                out[0] ^= 1
            ticks = "".join(f"m-tinyq-ticks-{1000 + r}\r\n" for r in range(int(parts[1])))
            return ticks + f"m-tinyq-outputs-[{bytes(out).hex()}]\r\n"
        return protocol()(cmd)


def test_bench_report_json_csv_and_verdict(fake, tmp_path, capsys):
    model = small_model_file(tmp_path)
    device = fake(ModelDevice(model))
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", device.url, "--model", str(model), "--random", "4", "--runs", "3", "--warmup", "2",
              "--timeout", str(TIMEOUT), "--json-file", str(out_json), "--csv", str(out_csv)])
    assert exit_info.value.code == 0
    import json
    report = json.loads(out_json.read_text())
    assert report["bit_exact"] and report["unit"] == "cycles" and not report["on_qemu"]
    assert report["ticks"] == [[1000, 1001, 1002]] * 4
    assert report["counts"] == {"min": 133000.0, "median": 133133.0, "p90": 133266.0, "max": 133266.0}
    assert report["ms"]["median"] == pytest.approx(1.001)
    rows = out_csv.read_text().splitlines()
    assert rows[0] == "model,board,input,run,ticks,cycles,ms" and rows[1] == "fake,fakeboard,0,0,1000,133000,1.000000"
    assert len(rows) == 1 + 4 * 3
    assert "tinyq-infer 3 2" in device.commands
    out = capsys.readouterr().out
    assert re.search(r"^  per inference\s+median\s+p90\s+min\s+max$", out, re.M), out
    assert re.search(r"^  cycles\s+133,133\s+133,266\s+133,000\s+133,266$", out, re.M), out
    assert re.search(r"^  ms\s+1\.001\s+1\.002\s+1\.000\s+1\.002$", out, re.M), out


def test_bench_json_prints_the_report_and_the_old_json_path_still_writes_it(fake, tmp_path, capsys):
    """--json means one thing in every command (print the report as JSON); bench's old --json PATH
    writes the file as --json-file does, with a warning naming the new option."""
    import json
    model = small_model_file(tmp_path)
    args = ["bench", "--port", None, "--model", str(model), "--random", "2", "--runs", "1", "--timeout", str(TIMEOUT)]
    args[2] = fake(ModelDevice(model)).url
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--json"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 0 and "warning" not in captured.err
    printed = json.loads(captured.out)
    assert printed["bit_exact"] and printed["ticks"] == [[1000], [1000]] and printed["unit"] == "cycles"
    old = tmp_path / "old.json"
    args[2] = fake(ModelDevice(model)).url
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--json", str(old)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 0 and re.search(r"^  cycles\s+133,000\s", captured.out, re.M)  # the text report
    assert f"tinyq: warning: bench --json PATH is deprecated (--json alone prints the JSON): use --json-file {old}" \
        in captured.err
    assert json.loads(old.read_text())["ticks"] == printed["ticks"]
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--json", str(old), "--json-file", str(old)])
    assert exit_info.value.code == 2 and "give one of them" in capsys.readouterr().err


def test_bench_fails_when_a_device_output_differs(fake, tmp_path, capsys):
    model = small_model_file(tmp_path)
    device = fake(ModelDevice(model, corrupt=True))
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", device.url, "--model", str(model), "--random", "2", "--timeout", str(TIMEOUT)])
    assert exit_info.value.code == 1
    assert "FAIL, 2 of 2 inputs differ from TFLM" in capsys.readouterr().out


def test_input_records_from_a_folder(tmp_path):
    from tinyq.bench.latency import load_graph, read_inputs

    graph, _ = load_graph(small_model_file(tmp_path))
    folder = tmp_path / "inputs"
    folder.mkdir()
    np.save(folder / "a.npy", np.arange(8, dtype=np.int8).reshape(1, 8))
    (folder / "b.bin").write_bytes(bytes(range(8)))
    records = read_inputs(graph, folder)
    assert [r[0].tobytes() for r in records] == [bytes(range(8))] * 2
    (folder / "c.bin").write_bytes(bytes(5))
    with pytest.raises(TinyqError, match="has 5 bytes, the model's inputs take 8"):
        read_inputs(graph, folder)
