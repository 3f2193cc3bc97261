"""Tables: plain aligned columns off a terminal (no escape code, no box character), a rich table on a
terminal or with TINYQ_TABLES=rich; note rows; Markdown; and the real commands piped and in a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from test_progress import read_terminal
from tinyq.errors import TinyqError
from tinyq.tables import table, table_style

ESC = "\x1b"
BOX = set("│─╭╮╰╯┬┴┼├┤|+")

HEADER = ("model", "board", "arena B", "note")
ROWS = [("kws", "qemu-m55", "9,792", "ok"), ("resnet8 [int8]", "qemu-m0", "51,200", "ok"),
        ("vww", "qemu-m0", "skipped: [red]no room[/red]")]


def test_plain_columns_align_each_column_and_rule_the_header():
    lines = table(HEADER, ROWS, align="llrl", style="plain").splitlines()
    assert lines[0] == "model           board     arena B  note"
    assert lines[1] == "--------------  --------  -------  ----"
    assert lines[2] == "kws             qemu-m55    9,792  ok"
    assert lines[3] == "resnet8 [int8]  qemu-m0    51,200  ok"
    # a note row: its note follows its first cells and widens no column (the rule is as wide as before)
    assert lines[4] == "vww             qemu-m0   skipped: [red]no room[/red]"
    assert ESC not in "\n".join(lines) and not set("".join(lines)) & (BOX - set("|+"))


def test_plain_options_indent_title_no_rule_and_markdown():
    text = table(("a", "bb"), [("1", "2")], indent="  ", title="figures:", rule=False, style="plain")
    assert text.splitlines() == ["figures:", "  a  bb", "  1  2"]
    md = table(("a", "b", "c"), [("1", "2", "3"), ("4", "a note")], plain="markdown", style="plain")
    assert md.splitlines() == ["| a | b | c |", "|---|---|---|", "| 1 | 2 | 3 |", "| 4 | a note | |"]


def test_rich_table_has_a_box_every_cell_verbatim_and_notes_below():
    text = table(HEADER, ROWS, align="llrl", style="rich")
    assert ESC in text and set(text) & BOX
    for cell in ("resnet8 [int8]", "51,200", "qemu-m55"):  # brackets are text, not rich markup
        assert cell in text
    assert "note 1" in text and "note 1: skipped: [red]no room[/red]" in text


def test_bad_alignment_and_rows_are_refused():
    with pytest.raises(ValueError, match="align"):
        table(("a",), [("1",)], align="c", style="plain")
    with pytest.raises(ValueError, match="more cells"):
        table(("a",), [("1", "2")], style="plain")


def test_the_style_follows_the_stream_and_tinyq_tables(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.delenv("TINYQ_TABLES", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert table_style(Terminal()) == "rich"
    assert table_style(open(os.devnull, "w")) == "plain"
    monkeypatch.setenv("TINYQ_TABLES", "plain")
    assert table_style(Terminal()) == "plain"
    monkeypatch.setenv("TINYQ_TABLES", "rich")
    assert table_style(open(os.devnull, "w")) == "rich"
    monkeypatch.setenv("TINYQ_TABLES", "fancy")
    with pytest.raises(TinyqError, match="TINYQ_TABLES=fancy.*rich or plain"):
        table_style()


def _tinyq(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tinyq", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_boards_piped_is_plain_and_tinyq_tables_rich_draws_boxes():
    env = {k: v for k, v in os.environ.items() if k != "TINYQ_TABLES"}
    plain = subprocess.run([sys.executable, "-m", "tinyq", "boards"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert plain.returncode == 0 and ESC not in plain.stdout and not set(plain.stdout) & (BOX - set("|+"))
    assert plain.stdout.splitlines()[0].split() == ["board", "core", "ISA", "features", "MHz", "RAM", "flash",
                                                    "backend", "runs", "on"]
    boxed = _tinyq("boards", env={"TINYQ_TABLES": "rich", "COLUMNS": "200"})
    assert boxed.returncode == 0 and "╭" in boxed.stdout and "qemu-m55" in boxed.stdout
    bad = _tinyq("boards", env={"TINYQ_TABLES": "fancy"})
    assert bad.returncode == 2 and bad.stderr.startswith("tinyq: error: TINYQ_TABLES=fancy")


def test_boards_format_table_still_works_with_a_warning():
    env = {"TINYQ_TABLES": "plain"}
    old, new = _tinyq("boards", "--format", "table", env=env), _tinyq("boards", "--format", "text", env=env)
    assert old.returncode == 0 and old.stdout == new.stdout
    assert "tinyq: warning: boards --format table is deprecated: use --format text" in old.stderr
    assert "warning" not in new.stderr and new.stdout == _tinyq("boards", env=env).stdout


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals here")
def test_boards_on_a_terminal_is_a_rich_table():
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "TINYQ_TABLES"}
    proc = subprocess.Popen([sys.executable, "-m", "tinyq", "boards"], stdout=follower, stderr=follower,
                            env={**env, "TERM": "xterm", "COLUMNS": "200"})
    os.close(follower)
    shown = read_terminal(leader, proc, 120)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = shown.decode(errors="replace")
    assert "╭" in text and ESC in text and "qemu-m55" in text


@pytest.mark.parametrize("args", [("doctor",), ("inspect", "{model}")])
def test_commands_draw_their_tables_both_ways(tmp_path, args):
    from test_api import _int8_model

    model = tmp_path / "tables_cnn.tflite"
    model.write_bytes(_int8_model(seed=3))
    argv = [a.format(model=model) for a in args]
    plain, boxed = _tinyq(*argv, env={"TINYQ_TABLES": "plain"}), _tinyq(*argv, env={"TINYQ_TABLES": "rich"})
    assert plain.returncode == boxed.returncode == 0, plain.stderr + boxed.stderr
    assert ESC not in plain.stdout and "╭" not in plain.stdout
    assert re.search(r"^\s*-+(  -+)+$", plain.stdout, re.M)  # the plain table's rule under its header
    assert "╭" in boxed.stdout and "…" not in boxed.stdout  # a cell too long for its column folds, whole
