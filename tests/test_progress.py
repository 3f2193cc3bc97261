"""Progress on long work: a rich bar on a terminal (one live display, nested bars under it), plain lines
elsewhere (never an escape code; none for short work), the quantizer's count messages as a bar; and the
real commands: verify under QEMU in a pseudo-terminal draws its bar, piped it writes no escape code."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from test_api import _int8_model
from tinyq import progress as progress_module
from tinyq.progress import MessageProgress, Progress

ESC = "\x1b"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_off_a_terminal_a_tenth_at_a_time_without_escape_codes():
    out = io.StringIO()
    with Progress("records", total=40, stream=out, quiet=0) as bar:
        for k in range(1, 41):
            bar.update(k)
    lines = out.getvalue().splitlines()
    assert lines == ["  records: 1/40"] + [f"  records: {4 * t}/40" for t in range(1, 11)]  # its start, then tenths
    assert ESC not in out.getvalue()


def test_short_work_off_a_terminal_says_nothing_and_long_work_starts_talking_late():
    out = io.StringIO()
    with Progress("quick", total=5, stream=out, quiet=60) as bar:
        for k in range(1, 6):
            bar.update(k)
    assert out.getvalue() == ""
    out = io.StringIO()
    with Progress("slow", total=10, stream=out, quiet=0.3) as bar:
        bar.update(1)
        time.sleep(0.4)
        for k in range(2, 11):
            bar.update(k)
    assert out.getvalue().splitlines() == [f"  slow: {k}/10" for k in range(2, 11)]


def test_a_terminal_gets_one_rich_display_with_nested_bars(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    term = Terminal()
    with Progress("models", total=2, stream=term) as outer:
        live = progress_module._live
        with Progress("inputs in QEMU", total=3, stream=term) as inner:
            assert progress_module._live is live and progress_module._users == 2
            inner.update(3)
        outer.update(2)
        live.refresh()
        assert progress_module._users == 1
    assert progress_module._live is None and progress_module._users == 0
    shown = term.getvalue()
    assert ESC in shown and "models" in shown and "inputs in QEMU" in shown


def test_a_frozen_display_draws_nothing_until_the_block_ends(monkeypatch):
    """tinyq.tflm_log points fd 2 elsewhere around TFLM's calls: a frame drawn then would be lost, and the
    next one would erase lines it never drew. Rich's refresh thread draws ten frames a second."""
    monkeypatch.delenv("TERM", raising=False)
    term = Terminal()
    with Progress("records", total=10, stream=term) as bar:
        bar.update(3)
        progress_module._live.refresh()
        with progress_module.frozen():
            drawn = len(term.getvalue())
            time.sleep(0.5)
            assert len(term.getvalue()) == drawn
        time.sleep(0.5)
        assert len(term.getvalue()) > drawn  # the refresh thread draws again
    with progress_module.frozen():  # no display: nothing to hold
        pass


def test_term_dumb_is_not_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    term = Terminal()
    with Progress("x", total=10, stream=term, quiet=0) as bar:
        bar.update(10)
    assert ESC not in term.getvalue() and term.getvalue().splitlines() == ["  x: 10/10"]


def test_quantizer_counts_become_a_bar_on_a_terminal_and_stay_lines_elsewhere(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    messages = [f"calibrating: {k}/50 samples" for k in range(5, 55, 5)] + ["self-check 1/2: plain: output SQNR 30.1 dB"]
    plain = io.StringIO()
    lines = MessageProgress(stream=plain)
    for m in messages:
        lines(m)
    lines.close()
    assert plain.getvalue().splitlines() == ["  " + m for m in messages]
    term = Terminal()
    bar = MessageProgress(stream=term)
    for m in messages:
        bar(m)
    bar.close()
    shown = term.getvalue()
    assert ESC in shown  # the bar
    assert "  calibrating: 5/50 samples\n" not in shown  # counts moved the bar instead of printing lines
    assert shown.endswith("  calibrating: 50/50 samples\n  self-check 1/2: plain: output SQNR 30.1 dB\n")
    assert progress_module._live is None


def _model(tmp_path):
    model = tmp_path / "prog_cnn.tflite"
    model.write_bytes(_int8_model(seed=7))
    return model


def test_verify_under_qemu_piped_writes_no_escape_code(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tinyq", "verify", str(_model(tmp_path)), "--board", "qemu-m0",
                          "--inputs", "30"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "bit-exact" in out.stdout and ESC not in out.stderr and ESC not in out.stdout


def _verify_on_a_terminal(*args) -> tuple[int, str, str]:
    """(exit code, what the terminal showed on stderr, stdout) of tinyq verify with stderr on a pseudo-terminal."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "tinyq", "verify", *args], stdout=subprocess.PIPE,
                            stderr=follower, env=env)
    os.close(follower)
    shown = read_terminal(leader, proc, 900)
    stdout = proc.communicate(timeout=60)[0].decode()
    os.close(leader)
    return proc.returncode, shown.decode(errors="replace"), stdout


def read_terminal(leader: int, proc, seconds: float) -> bytes:
    """What `proc` wrote to the pseudo-terminal whose `leader` end this is, until it closes its end or exits."""
    shown, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    return shown


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals here")
def test_verify_under_qemu_on_a_terminal_draws_the_qemu_bar(tmp_path):
    code, text, stdout = _verify_on_a_terminal(str(_model(tmp_path)), "--board", "qemu-m0", "--inputs", "200")
    assert code == 0, text[-500:]
    assert "inputs in QEMU microbit" in text and ESC in text  # rich's bar, redrawn in place
    assert ESC not in stdout and "bit-exact" in stdout  # the report itself stays plain


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals here")
@pytest.mark.parametrize("layers", [(), ("--layers",)])
def test_verify_on_the_host_on_a_terminal_draws_its_bars(tmp_path, layers):
    code, text, stdout = _verify_on_a_terminal(str(_model(tmp_path)), "--inputs", "1500", *layers)
    assert code == 0, text[-500:]
    assert "inputs on the host" in text and "inputs under TFLM" in text and ESC in text
    assert ESC not in stdout and "PASS: 1500 inputs" in stdout


def test_verify_on_the_host_piped_writes_no_escape_code_and_no_line_for_short_work(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tinyq", "verify", str(_model(tmp_path)), "--inputs", "20"],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    assert ESC not in out.stderr and "PASS: 20 inputs" in out.stdout
    assert "inputs under TFLM" not in out.stderr  # short work: no progress line in a log
