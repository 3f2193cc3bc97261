"""Two cores (tinyq/plan/cores.py): the heavy ops' output split between core 0 and core 1.

On the host the model's one-core stand-in runs both parts in turn (the cut and the moved
padding are what is checked there); on QEMU's mps2-an521 core 1 really runs its part
(firmware/tq_cores_an521.c), and `tinyq bench cores` counts each core's instructions."""

import dataclasses
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from test_conv import conv_model
from test_depthwise_conv import dw_model
from test_fully_connected import fc_graph
from tinyq.bench.cores import CORE1_WAIT, JOIN, TraceCounter, bench_model
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.plan.cores import CHANNEL_BLOCK, split_across_cores, splits
from tinyq.tflite.reader import read_model_file
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize, verify_host
from tinyq.verify.core import verify_qemu

DUAL = "qemu-an521-dual"


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def host_two_cores():
    host = get_board("host")
    return dataclasses.replace(host, extra={**host.extra, "cores": 2})


def assert_split_and_exact(graph, board, n_inputs=6, seed=0):
    """Every heavy op of `graph` is split, and the two-core build is bit-exact with TFLM."""
    compiled = compile_graph(graph, board)
    kinds = [op.lowered.kernel for op in compiled.bound.ops]
    assert len(splits(compiled.bound)) == len(kinds), f"not every op was split: {kinds}"
    if board.runner == "host":
        result = verify_host(compiled, board, n_inputs=n_inputs, seed=seed)
    else:
        result = verify_qemu(compiled, board, n_inputs=n_inputs, seed=seed).result
    assert result.ok, summarize(result, graph)
    return compiled


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 1), (3, 2)])
def test_conv_rows_split_bit_exact_on_host(padding, stride):
    """Cut rows with the padding moved: strides, dilations, groups and odd kernels."""
    rng = seeded("conv", padding, stride)
    graph = conv_model(rng, (1, 23, 11, 16), branches=3, cout=16, padding=padding, stride=stride, groups=2)
    assert_split_and_exact(graph, host_two_cores())


@pytest.mark.parametrize("multiplier, stride", [(1, (1, 1)), (2, (1, 1)), (1, (2, 2)), (2, (3, 2))])
def test_depthwise_rows_split_bit_exact_on_host(multiplier, stride):
    rng = seeded("dw", multiplier, stride)
    graph = dw_model(rng, (1, 25, 13, 32), branches=3, multiplier=multiplier, stride=stride)
    assert_split_and_exact(graph, host_two_cores())


@pytest.mark.parametrize("units", [17, 37, 64])
def test_fully_connected_channels_split_bit_exact_on_host(units):
    """Channel cuts at a block of eight, the tail lanes left with core 1."""
    rng = seeded("fc", units)
    compiled = assert_split_and_exact(fc_graph(rng, depth=160, units=units), host_two_cores())
    (split,) = splits(compiled.bound).values()
    assert split.cut % CHANNEL_BLOCK == 0 and 0 < split.cut < units


def test_cut_balances_the_work():
    """Each part's estimate is within one row's work of half; padded rows count fewer taps."""
    rng = seeded("balance")
    compiled = compile_graph(conv_model(rng, (1, 24, 12, 4), branches=1, kernel=(5, 5), stride=(1, 1),
                                        dilation=(1, 1), padding="SAME"), host_two_cores())
    (split,) = splits(compiled.bound).values()
    p = compiled.bound.ops[0].lowered.params
    row = 5 * 5 * p.out_w * p.filter_d * p.out_d  # an unpadded row's taps, an upper bound of any row's
    assert abs(split.macs[0] - split.macs[1]) <= row
    assert split.axis == "rows" and split.total == p.out_h


def test_small_and_batched_ops_stay_on_core_zero():
    rng = seeded("small")
    tiny = compile_graph(fc_graph(rng, depth=8, units=12), host_two_cores())  # 96 MACs: not worth a handover
    batched = compile_graph(fc_graph(rng, batches=3, depth=160, units=40), host_two_cores())
    assert not splits(tiny.bound) and not splits(batched.bound)


def test_split_ops_never_write_over_their_input():
    rng = seeded("inplace")
    compiled = compile_graph(dw_model(rng, (1, 16, 8, 16), branches=1, multiplier=1, kernel=(3, 3),
                                      stride=(1, 1), dilation=(1, 1)), host_two_cores())
    op = compiled.bound.ops[0]
    assert op.inplace is None
    (x,), (y,) = op.lowered.inputs, op.lowered.outputs
    t = compiled.graph.tensors
    x0, y0 = compiled.plan.tensor_offset(x), compiled.plan.tensor_offset(y)
    assert x0 + t[x].nbytes <= y0 or y0 + t[y].nbytes <= x0


def test_one_core_is_unchanged_and_three_refused():
    rng = seeded("refuse")
    bound = compile_graph(fc_graph(rng, depth=160, units=40), get_board("host")).bound
    assert split_across_cores(bound, 1) is bound
    with pytest.raises(TinyqError, match="cores = 3 is not supported"):
        split_across_cores(bound, 3)


def test_trace_counter_takes_the_longer_part_of_each_split():
    """Synthetic trace lines: waiting is left out, the critical path is sequential + max per split."""
    syms = {"tinyq_m_invoke_v": (0x100, 4), "tq_timer_ticks": (0x200, 4), "tq_cores_fork": (0x300, 8),
            JOIN: (0x400, 8), CORE1_WAIT: (0x500, 8)}
    counter = TraceCounter(syms, "tinyq_m_invoke_v")

    def line(cpu, pc):
        counter.feed(f"Trace {cpu}: 0x7f0000 [00000000/{pc:08x}/00000000/ff200000] f\n".encode())

    line(1, 0x900)  # core 1 starting up: not counted
    line(1, 0x500)  # core 1 waits
    line(0, 0x50)  # before the inference
    for pc in (0x100, 0x104, 0x108):  # 3 sequential
        line(0, pc)
    for pc in (0x300, 0x302, 0x600, 0x602):  # fork + 3 of core 0's part = 4
        line(0, pc)
    for pc in (0x700,) * 6:  # core 1's part: 6
        line(1, pc)
    line(1, 0x502)
    for pc in (0x400, 0x402, 0x404):  # join: waiting
        line(0, pc)
    line(0, 0x110)  # 1 more sequential
    line(0, 0x200)  # the harness's timer: the end
    line(0, 0x110)
    c = counter.result()
    assert (c.core0, c.core1, c.splits, c.critical_path) == (8, 6, 1, 4 + 6)


def test_kws_and_conv_bit_exact_on_two_cores_in_qemu():
    """Core 1 computes its rows and channels in QEMU's mps2-an521, bit-exact with TFLM."""
    board = get_board(DUAL)
    rng = seeded("qemu")
    assert_split_and_exact(conv_model(rng, (1, 12, 8, 8), branches=2, cout=12, padding="SAME"), board, n_inputs=4)
    assert_split_and_exact(dw_model(rng, (1, 11, 6, 16), branches=2, multiplier=2), board, n_inputs=4)
    assert_split_and_exact(fc_graph(rng, depth=96, units=37), board, n_inputs=4)


@pytest.mark.parametrize("shape, conv", [
    ((1, 14, 9, 8), dict(kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME")),  # arm_convolve_s8
    ((1, 15, 7, 16), dict(kernel=(1, 1), stride=(1, 1), padding="VALID")),  # arm_convolve_1x1_s8_fast
    ((1, 17, 9, 8), dict(kernel=(5, 3), stride=(2, 2), dilation=(1, 1), padding="SAME")),
    ((1, 16, 8, 8), dict(kernel=(1, 1), stride=(2, 2), padding="VALID")),  # arm_convolve_1x1_s8
])
def test_cmsis_nn_conv_bands_bit_exact_on_two_cores_in_qemu(shape, conv):
    """CMSIS-NN convolutions in two row bands, each its own call, scratch and top padding."""
    rng = seeded("cmsis conv", shape)
    graph = conv_model(rng, shape, branches=1, cout=16, **conv)
    compiled = compile_graph(graph, get_board(DUAL), backend="cmsis-nn", arena="fast")
    (op,) = compiled.bound.ops
    assert op.library == "cmsis-nn" and splits(compiled.bound), op.function
    result = verify_qemu(compiled, get_board(DUAL), n_inputs=4).result
    assert result.ok, summarize(result, graph)


@pytest.mark.parametrize("multiplier, stride, kernel", [(1, (1, 1), (3, 3)), (1, (2, 2), (3, 3)), (2, (1, 2), (5, 3))])
def test_cmsis_nn_depthwise_bands_bit_exact_on_two_cores_in_qemu(multiplier, stride, kernel):
    """arm_depthwise_conv_3x3_s8, _s8_opt and _s8 in two row bands."""
    rng = seeded("cmsis dw", multiplier, stride)
    graph = dw_model(rng, (1, 15, 9, 16), branches=1, multiplier=multiplier, stride=stride, kernel=kernel,
                     dilation=(1, 1), padding="SAME")
    compiled = compile_graph(graph, get_board(DUAL), backend="cmsis-nn", arena="fast")
    (op,) = compiled.bound.ops
    assert op.library == "cmsis-nn" and splits(compiled.bound), op.function
    result = verify_qemu(compiled, get_board(DUAL), n_inputs=4).result
    assert result.ok, summarize(result, graph)


def test_counts_per_core_in_qemu(tmp_path):
    """A balanced conv: both cores work, and the critical path is close to half of one core's."""
    rng = seeded("counts")
    graph = conv_model(rng, (1, 16, 16, 8), branches=1, cout=16, kernel=(3, 3), stride=(1, 1), dilation=(1, 1),
                       padding="SAME")
    model = tmp_path / "conv.tflite"
    model.write_bytes(write_model(graph))
    row = bench_model(model, get_board(DUAL), n_inputs=3, seed=0, work_dir=tmp_path / "work")
    assert row.bit_exact and row.splits == 1
    assert abs(row.core0 + row.core1 - row.one_core) < 0.02 * row.one_core  # the same work, shared
    assert min(row.core0, row.core1) > 0.4 * row.one_core
    assert row.speedup > 1.8


@pytest.mark.slow
def test_kws_two_cores_at_least_1_7x_fewer_instructions(tmp_path):
    """The issue's bar on MLPerf KWS (ResNet-8 takes ~10 minutes traced: `tinyq bench cores`)."""
    model = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    row = bench_model(model, get_board(DUAL), n_inputs=3, seed=0, work_dir=tmp_path)
    assert row.bit_exact and row.speedup >= 1.7, row


def esp_nn_include() -> Path:
    """The pinned ESP-NN's headers (the S3 boards call it by default)."""
    root = os.environ.get("TINYQ_ESP_NN_DIR")
    if not root:
        pytest.skip("no ESP-NN checkout: set TINYQ_ESP_NN_DIR (tests use ../shared/vendor's)")
    return Path(root) / "include"


def test_rp2040_and_esp32s3_projects_get_their_port(tmp_path):
    """The SDK projects carry the core-1 port; the model sources compile with it selected (the ports
    themselves need the Pico SDK / ESP-IDF, which are not installed here)."""
    model = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    for board, model_dir, port, lib in (("rp2040-dual", "model", "firmware/tq_cores_pico.c", "pico_multicore"),
                                        ("esp32s3-dual", "components/tinyq_model", "main/tq_cores_esp.c", None)):
        out = tmp_path / board
        subprocess.run([sys.executable, "-m", "tinyq", "generate", str(model), "-o", str(out), "--board", board],
                       check=True, capture_output=True)
        assert (out / port).is_file()
        if lib:
            assert lib in (out / "CMakeLists.txt").read_text()
        sources = sorted(str(p) for p in (out / model_dir).glob("*.c"))
        assert any(s.endswith("tq_cores.c") for s in sources)
        cc = (["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-c", "-o", "/dev/null"] if board == "rp2040-dual"
              else ["gcc", "-fsyntax-only", "-I", str(esp_nn_include())])
        for source in sources:
            subprocess.run(cc + ["-O2", "-std=c99", "-Wall", "-Werror", "-Wno-unused-function", "-DTQ_CORES_PORT=1",
                                 "-I", str(out / model_dir), source], check=True)


def test_bench_cores_command(tmp_path):
    """`tinyq bench cores`: the table and the JSON rows; a one-core board is refused in one line."""
    rng = seeded("command")
    model = tmp_path / "fc.tflite"
    model.write_bytes(write_model(fc_graph(rng, depth=256, units=48)))
    out = tmp_path / "rows.json"
    run = subprocess.run([sys.executable, "-m", "tinyq", "bench", "cores", "--models", model, "--inputs", "2",
                          "--json-file", out], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(out.read_text())
    assert row["bit_exact"] and row["splits"] == 1 and row["speedup"] > 1.3
    assert f"| fc | {DUAL} | reference | {row['one_core']:,} |" in run.stdout
    refused = subprocess.run([sys.executable, "-m", "tinyq", "bench", "cores", "--models", model, "--board", "qemu-m55"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "tinyq: error: board qemu-m55: the board runs its models on one core" in refused.stderr


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn"])
def test_split_templates_read_exactly_the_bound_arrays(backend):
    """As tests/test_bind.py for one core: each two-core call template references exactly the flash
    arrays its op declares (KWS: conv, 1x1 conv, depthwise and fully connected split)."""
    from tinyq.codegen.generate import render_call
    from tinyq.plan.flash import array_table

    graph = read_model_file(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"))
    compiled = compile_graph(graph, get_board(DUAL), backend=backend, arena="fast")
    bound, table = compiled.bound, array_table(compiled.bound)
    assert len(splits(bound)) >= 8
    for position, op in enumerate(bound.ops):
        *_, referenced = render_call(op, position, bound.graph, compiled.plan, table.symbols[position])
        assert referenced == {c.name for c in op.consts}, (backend, op.lowered.kernel, op.function)


def test_rp2040_dual_runs_on_its_one_core_stand_in():
    """The RP2040's QEMU stand-in has one core and no port: the model's own tq_cores.c runs core 1's
    parts at the fork, bit-exact."""
    rng = seeded("stand-in")
    board = get_board("rp2040-dual")
    compiled = compile_graph(dw_model(rng, (1, 12, 8, 16), branches=1, multiplier=1, kernel=(3, 3)), board)
    assert splits(compiled.bound) and "tq_cores.c" in compiled.source.files
    report = verify_qemu(compiled, board, n_inputs=4)
    assert report.board == "qemu-m0-an385" and report.result.ok
