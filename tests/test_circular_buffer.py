"""CIRCULAR_BUFFER (tinyq/ops/circular_buffer.py): TFLM's custom op for strided streaming, its buffer a
variable tensor of the state region and its count of invokes a state tensor; bit-exact with TFLM
over sequences of invokes, including the ones where TFLM ends the invoke early (kTfLiteAbort), and
TFLM's reset; on the host and under QEMU."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from flatbuffers import flexbuffers

from conftest import QEMU_BOARDS, assert_bit_exact, assert_bit_exact_on_targets
from test_variables import qemu_stream
from tinyq.boards import get_board
from tinyq.build.libraries import link_inputs
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.golden import _interpreter
from tinyq.lower import lower_graph
from tinyq.ops.base import CustomOptions
from tinyq.plan.state import persistent_tensors
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import HostRunner, summarize, verify, verify_qemu
from tinyq.verify.inputs import make_inputs

QB = dict(scale=0.1, zero_point=-5)
ABORT = 15  # TFLM's kTfLiteAbort (micro_context.h)


def options(**values) -> CustomOptions:
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key, value in sorted(values.items()):
            fbb.Key(key)
            fbb.Int(value)
    return CustomOptions(bytes(fbb.Finish()))


def buffer_graph(slots=4, h=1, w=6, batch=1, cycles=1, opts=None, variable=True, dtype="int8", out_zp=3):
    """input [batch, 1, h, w] -> CIRCULAR_BUFFER -> buffer [batch, slots, h, w] -> RELU (the graph's output)."""
    b = GraphBuilder("cb")
    x = b.input((batch, 1, h, w), dtype=dtype, **QB)
    make = b.variable if variable else b.activation
    buf = make((batch, slots, h, w), dtype=dtype, **QB)
    b.op("custom:CIRCULAR_BUFFER", [x], [buf], options=opts if opts is not None else options(cycles_max=cycles))
    y = b.activation((batch, slots, h, w), scale=0.2, zero_point=out_zp)
    b.op("relu", [buf], [y])
    return b.build(outputs=[y])


@pytest.mark.parametrize("kwargs", [dict(), dict(slots=1), dict(slots=3, h=2, w=5), dict(batch=2),
                                    dict(slots=5, opts=CustomOptions(b"")), dict(slots=13, opts=options(cycles_max=0))])
def test_runs_every_invoke_bit_exact(kwargs):
    """cycles_max 1 (given, or TFLM's guess for 5, 13, 25 slots): each invoke shifts the buffer and the
    graph runs on; with two batches only the first moves, as TFLM's kernel."""
    compiled = assert_bit_exact(buffer_graph(**kwargs), n_inputs=30)
    assert compiled.graph.tensors[compiled.graph.operators[0].outputs[0]].index in persistent_tensors(compiled.lowered)


MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "cb_model.h"
/* argv: records, then the record indices before which to reset; prints each invoke's status byte and
   output bytes (the output buffer is cleared before each invoke). */
int main(int argc, char **argv) {
  long n = strtol(argv[1], NULL, 10);
  static int8_t in[TINYQ_CB_INPUT0_BYTES], out[TINYQ_CB_OUTPUT0_BYTES];
  for (long r = 0; r < n; ++r) {
    for (int a = 2; a < argc; ++a) if (strtol(argv[a], NULL, 10) == r) tinyq_cb_reset();
    if (fread(in, 1, sizeof in, stdin) != sizeof in) return 3;
    for (size_t i = 0; i < sizeof out; ++i) out[i] = 0;
    const int status = tinyq_cb_invoke(in, out);
    putchar(status == 0 ? 0 : status == -1 ? 1 : 2);
    fwrite(out, 1, sizeof out, stdout);
  }
  return 0;
}
"""


def _ours(compiled, folder: Path, inputs, resets) -> list[tuple[int, bytes]]:
    folder = write_output_dir(folder, compiled.source.files)
    (folder / "main.c").write_text(MAIN)
    board = get_board("host")
    libs = link_inputs(compiled.source.libraries, board.toolchain.cc, board.toolchain.cflags)
    subprocess.run([board.toolchain.cc, *board.toolchain.cflags, "-Wall", "-Wextra", "-Werror", "-I.", *libs.cflags,
                    *sorted(p.name for p in folder.glob("*.c")), "-o", "cb_test", *board.toolchain.ldflags],
                   cwd=folder, check=True, capture_output=True)
    stdin = b"".join(np.ascontiguousarray(r[0]).tobytes() for r in inputs)
    out = subprocess.run([str(folder / "cb_test"), str(len(inputs)), *map(str, resets)], input=stdin,
                         capture_output=True, check=True).stdout
    size = 1 + compiled.graph.tensors[compiled.graph.outputs[0]].nbytes
    return [(out[i], out[i + 1:i + size]) for i in range(0, len(out), size)]


def _tflm(model: bytes, inputs, resets) -> list[tuple[int, bytes]]:
    interp = _interpreter(model, 1 << 20)
    result = []
    for r, record in enumerate(inputs):
        if r in resets:
            interp.reset()
        interp.set_input(record[0], 0)
        status = interp.invoke()
        result.append((0 if status == 0 else 1 if status == ABORT else 2,
                       np.ascontiguousarray(interp.get_output(0)).tobytes()))
    return result


@pytest.mark.parametrize("cycles, slots", [(2, 4), (3, 2), (2, 7)])
def test_ends_early_between_runs_as_tflm(cycles, slots, tmp_path):
    """Invokes 1..cycles-1 of each period end early (-1, TFLM's kTfLiteAbort, no outputs written) while the
    buffer still takes every input; the runs in between output the buffer as TFLM's. Resets restart the
    count as TFLM's (its Reset() sets cycles_until_run back)."""
    compiled = compile_graph(buffer_graph(slots=slots, cycles=cycles), get_board("host"))
    inputs = make_inputs(compiled.graph, 40, seed=cycles)
    resets = (9, 10, 25)
    ours, theirs = _ours(compiled, tmp_path, inputs, resets), _tflm(compiled.model, inputs, resets)
    assert [s for s, _ in ours] == [s for s, _ in theirs]
    assert {s for s, _ in ours} == {0, 1}
    for (status, out), (_, expected) in zip(ours, theirs):
        if status == 0:
            assert out == expected
        else:
            assert out == bytes(len(out))  # left as the caller had it


@pytest.mark.parametrize("kwargs, message", [
    (dict(variable=False), "is not a variable tensor"),
    (dict(dtype="int16"), "int16 -> int16; TFLM's CIRCULAR_BUFFER takes int8 only"),
    (dict(slots=4, h=2, w=96, opts=CustomOptions(b"")), "guesses from how many circular buffers"),
    (dict(opts=options(cycles_max=2, other=1)), "keys \\['cycles_max', 'other'\\]"),
    (dict(slots=0), "holds no row"),
])
def test_refusals(kwargs, message):
    with pytest.raises(UnsupportedError, match=message):
        lower_graph(buffer_graph(**kwargs))


def test_circular_buffer_bit_exact_on_targets():
    assert_bit_exact_on_targets(buffer_graph(slots=3, h=2, w=5), n_inputs=50, backends=("reference", "cmsis-nn"))


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_ends_early_and_resets_in_qemu_as_tflm(board, tmp_path):
    """The firmware harness under QEMU, one record per invoke and "z" (tinyq_<m>_reset) at three of them:
    each invoke's status (0 or -1 where TFLM's is kTfLiteAbort) and, where the graph ran, its outputs, as
    TFLM's over 60 invokes."""
    b = get_board(board)
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_graph(buffer_graph(slots=4, h=2, w=3, cycles=3), b, backend=backend)
        inputs = make_inputs(compiled.graph, 60, seed=7)
        resets = (9, 10, 31)
        ours = qemu_stream(compiled, b, tmp_path / backend, inputs, resets)
        theirs = _tflm(compiled.model, inputs, resets)
        assert [(-1 if s == 1 else s) for s, _ in theirs] == [s for s, _ in ours]
        assert [o for (s, o) in ours if s == 0] == [o for (s, o) in theirs if s == 0]
        assert sum(s == 0 for s, _ in ours) >= 15


def _verify_cli(path: Path, *args):
    return subprocess.run([sys.executable, "-m", "tinyq", "verify", str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=900)


@pytest.mark.parametrize("cycles", [2, 3])
def test_verify_passes_with_the_invokes_that_end_early(cycles, tmp_path):
    """`tinyq verify` on the host (outputs and --layers) and in QEMU: the invokes that end early (TFLM's
    kTfLiteAbort) are the same on both sides and not compared, the others bit-exact."""
    path = tmp_path / f"cb{cycles}.tflite"
    path.write_bytes(write_model(buffer_graph(slots=4, h=2, w=3, cycles=cycles)))
    n = 24
    for args in (("--board", "host"), ("--board", "host", "--layers"), ("--board", "qemu-m55")):
        run = _verify_cli(path, *args, "--inputs", n, "--json")
        assert run.returncode == 0, run.stderr
        data = json.loads(run.stdout)
        assert data["bit_exact"] and data["inputs"] == n
        assert data["ended_early"] == n - n // cycles  # every invoke but each period's last
        if "qemu" in data:  # instructions of the inferences that ran, not of the ones that ended early
            assert data["qemu"]["instructions_per_inference"]["min"] > 0
    text = _verify_cli(path, "--inputs", n)
    assert text.returncode == 0 and f"({n - n // cycles} ended early as TFLM's: not compared)" in text.stdout


def _wrong(cycles_ours: int, cycles_theirs: int, **kwargs):
    """Code generated for a buffer that runs every `cycles_ours`-th invoke, checked against a model file (what
    TFLM runs) whose buffer runs every `cycles_theirs`-th; kwargs change TFLM's graph further."""
    compiled = compile_graph(buffer_graph(slots=4, h=2, w=3, cycles=cycles_ours), get_board("host"))
    return dataclasses.replace(compiled, model=write_model(buffer_graph(slots=4, h=2, w=3, cycles=cycles_theirs,
                                                                        **kwargs)))


@pytest.mark.parametrize("runner", ["host", "layers", "qemu-m55"])
def test_verify_fails_when_the_invokes_end_early_elsewhere(runner):
    """Generated code whose buffer runs every 2nd invoke against TFLM's every 3rd: the records where only one
    side ended early fail (either side, named), the ones both ran still compare."""
    compiled, n = _wrong(2, 3), 12
    if runner == "qemu-m55":
        result = verify_qemu(compiled, get_board(runner), n_inputs=n).result
    else:
        result = verify(compiled, HostRunner(get_board("host")), n_inputs=n, layers=runner == "layers").result
    assert not result.ok
    # tinyq's invoke r runs when r % 2 == 1, TFLM's when r % 3 == 2
    expected = {r: "tinyq" if r % 3 == 2 else "TFLM" for r in range(n) if (r % 2 == 1) != (r % 3 == 2)}
    assert {m.record: m.ended_early for m in result.mismatches if m.ended_early} == expected
    assert result.ended_early == sum(r % 2 == 0 and r % 3 != 2 for r in range(n))
    table = summarize(result, compiled.graph, 20)  # input 1's row: its note instead of a tensor
    assert re.search(r"^\s+1  TFLM's invoke ended early \(kTfLiteAbort\), tinyq's ran$", table, re.M), table


def test_verify_fails_on_wrong_outputs_of_the_invokes_that_ran():
    """The same cycles, but TFLM's output has another zero point: the invokes that ran differ and fail, the
    ones that ended early on both sides are not compared."""
    result = verify(_wrong(2, 2, out_zp=-7), HostRunner(get_board("host")), n_inputs=12).result
    assert not result.ok and not any(m.ended_early for m in result.mismatches)
    assert {m.record for m in result.mismatches} == set(range(1, 12, 2)) and result.ended_early == 6
