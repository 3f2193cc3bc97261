"""Two cores (tinyq/plan/cores.py): the heavy ops' output split between core 0 and core 1.

On the host the model's one-core stand-in runs both parts in turn (the cut and the moved
padding are what is checked there); on QEMU's mps2-an521 core 1 really runs its part
(firmware/tq_cores_an521.c), and `tinyq bench cores` counts each core's instructions."""

import dataclasses
import subprocess
import sys
import zlib

import numpy as np
import pytest

from conftest import shared_file
from test_conv import conv_model
from test_depthwise_conv import dw_model
from test_fully_connected import fc_graph
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.plan.cores import CHANNEL_BLOCK, split_across_cores, splits
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


def test_kws_and_conv_bit_exact_on_two_cores_in_qemu():
    """Core 1 computes its rows and channels in QEMU's mps2-an521, bit-exact with TFLM."""
    board = get_board(DUAL)
    rng = seeded("qemu")
    assert_split_and_exact(conv_model(rng, (1, 12, 8, 8), branches=2, cout=12, padding="SAME"), board, n_inputs=4)
    assert_split_and_exact(dw_model(rng, (1, 11, 6, 16), branches=2, multiplier=2), board, n_inputs=4)
    assert_split_and_exact(fc_graph(rng, depth=96, units=37), board, n_inputs=4)


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
              else ["gcc", "-fsyntax-only"])
        for source in sources:
            subprocess.run(cc + ["-O2", "-std=c99", "-Wall", "-Werror", "-Wno-unused-function", "-DTQ_CORES_PORT=1",
                                 "-I", str(out / model_dir), source], check=True)
