"""Faulty devices: small real TCP servers on 127.0.0.1 that behave like broken boards, driven by the
real `tinyq bench` client. Each fault ends in one error line within a few seconds, by design:
noise that never completes a line, a heartbeat log, a flood without line ends, a board that
reboots between two commands, and addresses that cannot work."""

import socket
import threading
import time

import pytest

from test_serial_link import info_reply, small_model_file
from tinyq.cli import main
from tinyq.errors import TinyqError
from tinyq.serial.firmware import model_hash
from tinyq.serial.link import Link

TIMEOUT = 2.0  # the --timeout every case runs with
SLACK = 4.0  # what a loaded machine may add
LIFETIME_S = 30.0  # no fake device talks for longer than this


class Device:
    """Plays one device to the first client: `talk(conn, stop)` runs in a thread once it connects."""

    def __init__(self, talk):
        self.talk = talk
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(10)
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            try:
                self.talk(conn, self.stop)
            except OSError:  # the client hung up: the normal end
                pass

    def close(self):
        self.stop.set()
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def device():
    made = []

    def make(talk):
        made.append(Device(talk))
        return made[-1]

    yield make
    for d in made:
        d.close()


def every(seconds, stop):
    """Ticks every `seconds` until `stop` or LIFETIME_S."""
    end = time.monotonic() + LIFETIME_S
    while not stop.is_set() and time.monotonic() < end:
        yield
        stop.wait(seconds)


def noise_byte_every_half_second(conn, stop):
    for _ in every(0.5, stop):
        conn.sendall(b"\xa5")


def heartbeat_every_0_3_s(conn, stop):
    for n, _ in enumerate(every(0.3, stop)):
        conn.sendall(f"heartbeat {n}\r\n".encode())


def flood_without_newlines(conn, stop):
    block = bytes(range(0x20, 0x7f)) * 64  # printable, never a line end
    sent, end = 0, time.monotonic() + LIFETIME_S
    while not stop.is_set() and sent < 64 << 20 and time.monotonic() < end:
        conn.sendall(block)
        sent += len(block)


def chatty_protocol_lines(conn, stop):
    for n, _ in enumerate(every(0.05, stop)):
        conn.sendall(f"m-log-{n}\r\n".encode())


def commands(conn, stop):
    """The '%'-terminated commands a client sends."""
    conn.settimeout(0.05)
    buffer = b""
    end = time.monotonic() + LIFETIME_S
    while not stop.is_set() and time.monotonic() < end:
        try:
            data = conn.recv(4096)
        except socket.timeout:
            continue
        if not data:
            return
        buffer += data
        while b"%" in buffer:
            raw, buffer = buffer.split(b"%", 1)
            yield raw.decode(errors="replace")


def rebooting_device(digest, banner):
    """A tinyq device that reboots right after answering `tinyq`: `banner` is what the boot prints."""
    def talk(conn, stop):
        for cmd in commands(conn, stop):
            if cmd.startswith("tinyq-sync-"):
                conn.sendall(f"e-[Unknown command: {cmd}]\r\nm-ready\r\n".encode())
            elif cmd == "":
                conn.sendall(b"m-ready\r\n")
            elif cmd == "tinyq":
                conn.sendall((info_reply(digest) + "m-ready\r\n").encode())
                time.sleep(0.05)
                conn.sendall(banner.encode())
            else:
                conn.sendall(f"e-[Unknown command: {cmd}]\r\nm-ready\r\n".encode())
    return talk


def bench(url, model, capsys, timeout=TIMEOUT):
    """Run `tinyq bench` against `url`: (exit code, the one error line, seconds)."""
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", url, "--model", str(model), "--random", "1", "--timeout", str(timeout)])
    took = time.monotonic() - start
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tinyq: error")]
    assert len(errors) == 1, errors
    return exit_info.value.code, errors[0], took


@pytest.mark.parametrize("talk,expected", [
    (noise_byte_every_half_second, "no complete reply within 2 s while waiting for the device to answer a resync: "
                                   "bytes keep arriving without a line end"),
    (heartbeat_every_0_3_s, "no complete reply within 2 s while waiting for the device to answer a resync: the "
                            "device keeps sending lines that are not the answer (last 'heartbeat"),
    (chatty_protocol_lines, "the device keeps sending lines that are not the answer (last 'm-log-"),
], ids=["noise-byte-every-0.5s", "heartbeat-every-0.3s", "protocol-lines-forever"])
def test_a_device_that_keeps_talking_never_outlasts_the_timeout(device, tmp_path, capsys, talk, expected):
    d = device(talk)
    code, error, took = bench(d.url, small_model_file(tmp_path), capsys)
    assert code == 2 and expected in error, error
    assert TIMEOUT <= took < TIMEOUT + SLACK


def test_a_flood_without_line_ends_ends_at_the_line_cap_not_the_timeout(device, tmp_path, capsys):
    d = device(flood_without_newlines)
    code, error, took = bench(d.url, small_model_file(tmp_path), capsys, timeout=30)
    assert code == 2 and "bytes without a line end while waiting for the device to answer a resync" in error
    assert "(a reply line has at most 8192;" in error
    assert took < 5  # the cap, long before the 30 s deadline


@pytest.mark.parametrize("banner,evidence", [
    ("m-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n", "boot banner 'm-timestamp-mode-performance'"),
    ("\x00\xfem-init-done\r\nm-ready\r\n", "m-init-done' in the reply"),  # noise of the reset first
    ("m-ready\r\n", "a bare m-ready instead of the reply, as after a boot"),  # the banner's start was lost
    ("m-name-dut-[tinyq]\r\nm-ready\r\n", "'m-name-dut-[tinyq]' unasked, as on boot"),
    ("ESP-ROM:esp32s3-20210327\r\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n", "boot banner 'ESP-ROM:"),
], ids=["dut-banner", "noisy-banner", "bare-m-ready", "name-line", "esp32s3-rom-log"])
def test_a_reboot_between_two_commands_is_named(device, tmp_path, capsys, banner, evidence):
    model = small_model_file(tmp_path)
    d = device(rebooting_device(model_hash(model), banner))
    code, error, took = bench(d.url, model, capsys)
    assert code == 2 and "the device reset during 'db load 8'" in error and evidence in error, error
    assert took < TIMEOUT + SLACK


def open_error(url):
    start = time.monotonic()
    with pytest.raises(TinyqError) as err:
        Link(url, timeout=TIMEOUT)
    assert time.monotonic() - start < SLACK
    text = str(err.value)
    assert "\n" not in text and text.startswith(url + ": ")
    return text


def test_addresses_that_cannot_work_are_one_line_errors_with_hints(capsys, tmp_path):
    assert "port 99999 is out of range (1-65535) (socket://HOST:PORT" in open_error("socket://127.0.0.1:99999")
    assert "port 0 is out of range" in open_error("socket://127.0.0.1:0")
    assert "no port in the address (socket://HOST:PORT" in open_error("socket://localhost")
    assert "the port 'x' is not a number" in open_error("socket://localhost:x")
    assert "no host in the address" in open_error("socket://:5555")
    # An invalid name: the resolver refuses it without asking any name server.
    assert "unknown host '-bad' (" in open_error("socket://-bad:5555")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        refused = f"socket://127.0.0.1:{s.getsockname()[1]}"
        assert "nothing listens at this address (start the firmware first" in open_error(refused)
    # and from the command line: exit code 2, one line, no traceback
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--port", "socket://localhost", "--model", str(small_model_file(tmp_path))])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("tinyq: error: socket://localhost: no port in the address")



def burst_then_quiet(conn, stop):
    conn.sendall(b"x" * (100 << 10))  # fits the socket buffers: all of it waits when the client opens
    stop.wait(LIFETIME_S)


def test_opening_a_port_does_not_drain_it_so_a_flood_cannot_hold_open_up(device, monkeypatch):
    """pyserial's socket open() reads until the line is quiet, which a flooding device never is. Here
    the burst waits before the client opens: had open() read it, the resync would meet silence."""
    connect = socket.create_connection

    def connect_then_stall(*args, **kwargs):
        sock = connect(*args, **kwargs)
        time.sleep(0.3)  # as on a loaded machine: the device is talking before open() is done
        return sock

    monkeypatch.setattr(socket, "create_connection", connect_then_stall)
    d = device(burst_then_quiet)
    start = time.monotonic()
    with Link(d.url, timeout=TIMEOUT) as link:
        assert time.monotonic() - start < SLACK
        with pytest.raises(TinyqError, match="bytes without a line end while waiting for the device to answer"):
            link.sync()
