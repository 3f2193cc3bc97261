"""How the command line fails: one line on stderr, the right exit code, nothing else.

Usage errors (exit 2) name the command's --help; bad input is `tinyq: error: ...` (exit 2);
Ctrl-C is `tinyq: interrupted` (130) and nothing else is; anything unexpected is one
`tinyq: internal error: ...` line (exit 3) unless TINYQ_TRACEBACK=1. Error lines are escaped
and capped however corrupt the names in them are."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest

from tinyq.cli import cli, main
from tinyq.errors import LINE_LIMIT, TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

TINYQ = Path(sys.executable).with_name("tinyq")  # the installed entry point, as users run it


def tinyq(*args, env=None, **kw):
    return subprocess.run([str(TINYQ), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = np.random.default_rng(0)
    b = GraphBuilder("tiny_fc")
    x = b.input((1, 8), scale=0.1, zero_point=1)
    w = b.const(rng.integers(-127, 128, size=(4, 8)), "int8", scale=[0.01], zero_point=[0])
    y = b.activation((1, 4), scale=0.2, zero_point=-3)
    b.op("fully_connected", [x, w, -1], [y])
    path = tmp_path_factory.mktemp("model") / "tiny_fc.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


USAGE_ERRORS = [
    (["generate"], "missing argument 'MODEL'", "tinyq generate"),
    (["generate", "{model}"], "missing option '-o' / '--output'", "tinyq generate"),
    (["generate", "{model}", "-o", "x", "--board"], "option '--board' requires an argument", "tinyq generate"),
    (["verify", "{model}", "--inputs", "many"], "invalid value for '--inputs': 'many' is not a valid integer",
     "tinyq verify"),
    (["boards", "--format", "xml"], "invalid value for '--format': 'xml' is not one of 'text', 'json', 'table'",
     "tinyq boards"),
    (["generate", "{model}", "--bogus"], "no such option '--bogus'", "tinyq generate"),
    (["bench", "memory", "--bogus"], "no such option '--bogus'", "tinyq bench memory"),
    (["frobnicate"], "no such command 'frobnicate'", "tinyq"),
    (["generate", "{model}", "-o", "{model}"], "invalid value for '-o' / '--output': Directory '{model}' is a file",
     "tinyq generate"),
]


@pytest.mark.parametrize("args, message, command", USAGE_ERRORS, ids=[" ".join(a[0:1] + a[2:3]) for a, _, _ in
                                                                      USAGE_ERRORS])
def test_usage_error_is_exactly_one_line(model, capsys, args, message, command):
    args = [a.format(model=model) for a in args]
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err == f"tinyq: error: {message.format(model=model)} (see '{command} --help')\n"


def test_usage_error_through_the_installed_command(model):
    run = tinyq("generate", model, "--no-such-flag")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "tinyq: error: no such option '--no-such-flag' (see 'tinyq generate --help')\n"


def test_help_and_version_still_exit_0():
    assert tinyq("--version").returncode == 0
    run = tinyq("generate", "--help")
    assert run.returncode == 0 and "--force" in run.stdout and run.stderr == ""


def test_ctrl_c_is_interrupted_130(model):
    """A real SIGINT while tinyq waits for a board on a TCP port that accepts and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(60)
        port = server.getsockname()[1]
        proc = subprocess.Popen([str(TINYQ), "bench", "--port", f"socket://127.0.0.1:{port}", "--model", str(model),
                                 "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()  # tinyq is past start-up, waiting for the board
            with conn:
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "tinyq: interrupted" and "Traceback" not in err


@pytest.fixture
def broken_command():
    """A command with a bug in it (a real exception from real code), added for one test."""
    @click.command("explode")
    def explode():
        {}["missing key"]

    cli.add_command(explode)
    yield
    cli.commands.pop("explode")


def test_unexpected_exception_is_one_internal_error_line(broken_command, capsys, monkeypatch):
    monkeypatch.delenv("TINYQ_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["explode"])
    out, err = capsys.readouterr()
    assert exc.value.code == 3 and out == ""
    assert err == ("tinyq: internal error: KeyError: 'missing key' (a bug in tinyq; rerun with TINYQ_TRACEBACK=1 "
                   "for the traceback and report it)\n")


def test_tinyq_traceback_reraises(broken_command, monkeypatch):
    monkeypatch.setenv("TINYQ_TRACEBACK", "1")
    with pytest.raises(KeyError, match="missing key"):
        main(["explode"])


# --- the error line itself ----------------------------------------------------------------------

def test_control_characters_are_escaped_and_the_line_capped():
    error = TinyqError("bad tensor '\x07\x1b[2Jname\u202e\x00'" + "x" * 50_000, where="model.tflite",
                       hint="regenerate the model")
    line = str(error)
    assert line.startswith("model.tflite: bad tensor '\\x07\\x1b[2Jname\\u202e\\x00'xxx")
    assert line.endswith("... (regenerate the model)")
    assert len(line) <= LINE_LIMIT and line.isprintable()
    assert str(TinyqError("two\nlines\tand  spaces")) == "two lines and spaces"


def test_long_path_gives_way_before_what_went_wrong():
    where = "/tmp/" + "deep/" * 80 + "project"
    line = str(TinyqError("the image does not fit: region `SRAM' overflowed by 3728 bytes", where=where,
                          hint="a smaller model"))
    assert len(line) <= LINE_LIMIT
    assert line.startswith("/tmp/deep/") and "deep.../deep/" in line and "/project: the image does not fit" in line
    assert line.endswith("overflowed by 3728 bytes (a smaller model)")


def test_corrupt_tensor_name_in_a_real_error(tmp_path):
    """A float model whose input name is 45 KB of control characters and text, given the wrong data."""
    name = "in\x07put\x1b[31m" + "\x01\x02garbage" * 5000
    b = GraphBuilder("mlp")
    x = b.input((1, 4), "float32", name=name)
    w = b.const(np.ones((3, 4), np.float32))
    y = b.activation((1, 3), "float32")
    b.op("fully_connected", [x, w, -1], [y])
    model = tmp_path / "corrupt.tflite"
    model.write_bytes(write_model(b.build([y])))
    np.save(tmp_path / "calib.npy", np.zeros((16, 5), np.float32))
    run = tinyq("quantize", model, "--calib", tmp_path / "calib.npy", "-o", tmp_path / "q.tflite")
    assert run.returncode == 2 and run.stdout == ""
    line = run.stderr.rstrip("\n")
    assert "\n" not in line and line.isprintable()
    assert len(line) <= len("tinyq: error: ") + LINE_LIMIT
    assert "input 'in\\x07put\\x1b[31m\\x01\\x02garbage" in line and "..." in line
