"""No QEMU outlives tinyq: SIGKILL (which runs no cleanup code at all) or SIGTERM of a real
`tinyq run --qemu` / `tinyq qemu` process, and the real qemu-system-arm it started is gone
within a couple of seconds (tinyq.proc: process group + PR_SET_PDEATHSIG)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyq.cli import main
from tinyq.serial.qemu import free_port
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")

BOARD = "qemu-m0-an385"  # the quickest firmware to build
GONE_WITHIN_S = 3.0
START_WITHIN_S = 120.0  # building the firmware comes first


def small_project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    b = GraphBuilder("orphan")
    x = b.input((1, 16), scale=0.05, zero_point=0)
    w = b.const(rng.integers(-127, 128, size=(4, 16)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    model = tmp_path / "orphan.tflite"
    model.write_bytes(write_model(b.build([y])))
    out = tmp_path / "project"
    main(["generate", str(model), "-o", str(out), "--board", BOARD])
    return out


def proc_state(pid: int) -> str | None:
    """The kernel's state letter of `pid`, None when it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def children_named(parent: int, name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and comm.startswith(name[:15]):  # comm is cut to 15 characters
            found.append(int(entry.name))
    return found


def wait_for_qemu(tinyq: subprocess.Popen) -> int:
    deadline = time.monotonic() + START_WITHIN_S
    while time.monotonic() < deadline:
        qemu = children_named(tinyq.pid, "qemu-system-arm")
        if qemu:
            return qemu[0]
        assert tinyq.poll() is None, f"tinyq exited first: {tinyq.stdout.read()}"
        time.sleep(0.1)
    raise AssertionError("tinyq started no qemu-system-arm")


def assert_gone(pid: int) -> float:
    """Seconds until `pid` is gone; a zombie (dead, not yet reaped by init) counts as gone."""
    start = time.monotonic()
    while time.monotonic() - start < GONE_WITHIN_S:
        if proc_state(pid) in (None, "Z", "X"):
            return time.monotonic() - start
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)  # don't leave it to the next test
    except ProcessLookupError:
        pass
    raise AssertionError(f"qemu-system-arm (pid {pid}) still runs {GONE_WITHIN_S:g} s after tinyq died")


def start_tinyq(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinyq", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def hang_after_boot(root: Path) -> None:
    """A guest that never reports ready: `tinyq run` keeps QEMU up until its timeout."""
    main_c = root / "firmware" / "tq_main.c"
    text = main_c.read_text()
    assert "  tq_timer_init();\n" in text
    main_c.write_text(text.replace("  tq_timer_init();\n", "  tq_timer_init();\n  for (;;) { }\n"))


def kill_and_check(tinyq: subprocess.Popen, signum: int) -> None:
    qemu = wait_for_qemu(tinyq)
    assert proc_state(qemu) not in (None, "Z")
    os.kill(tinyq.pid, signum)  # tinyq alone, not its process group
    try:
        assert tinyq.wait(timeout=30) == -signum
        assert_gone(qemu)
    finally:
        if tinyq.poll() is None:
            os.killpg(tinyq.pid, signal.SIGKILL)
        tinyq.wait()
        tinyq.stdout.close()


@needs_qemu
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_qemu_of_tinyq_run_dies_with_tinyq(tmp_path, signum):
    root = small_project(tmp_path)
    hang_after_boot(root)
    kill_and_check(start_tinyq(["run", str(root), "--qemu", "--inputs", "1", "--timeout", "300"]), signum)


@needs_qemu
def test_qemu_of_tinyq_qemu_dies_with_tinyq_on_sigkill(tmp_path):
    root = small_project(tmp_path)
    tinyq = start_tinyq(["qemu", str(root), "--serial", f"tcp:{free_port()}", "--timeout", "300"])
    kill_and_check(tinyq, signal.SIGKILL)


def test_children_die_with_their_parent_even_when_it_is_killed(tmp_path):
    """The helper itself, without QEMU: a long `sleep` started through tinyq.proc from a Python
    process that is then SIGKILLed."""
    script = ("import sys, time; from tinyq import proc; "
              "p = proc.popen(['sleep', '300']); print(p.pid, flush=True); time.sleep(300)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        sleeper = int(parent.stdout.readline())
        assert proc_state(sleeper) not in (None, "Z")
        assert os.getpgid(sleeper) == sleeper  # its own process group
        parent.kill()
        parent.wait()
        assert_gone(sleeper)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        parent.stdout.close()


def test_run_kills_the_group_on_timeout_and_keeps_the_output():
    from tinyq import proc

    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as err:
        proc.run(["sh", "-c", "echo started; sleep 300 & wait"], capture_output=True, text=True, timeout=1)
    assert time.monotonic() - start < 10
    assert err.value.output == "started\n"
    assert proc.run(["sh", "-c", "exit 3"]).returncode == 3
