"""Patch-based execution (tinyq/plan/patches.py): the first layers run tile by tile, or line by
line, from a streamed input, bit-exact with TFLM running the whole image. Chains of conv / depthwise
/ pooling layers over odd shapes, strides, kernels, dilations and SAME/VALID padding, stages of one
layer and of all, line by line and in several grids (one column: the band read in place; several:
regions copied); int4 weights; the VWW-shaped MobileNetV1-0.25 under 24 KB on the host and under
QEMU (Cortex-M55, and ARMv6-M code on a Cortex-M3), with CMSIS-NN after the stage; the row-source
API; the CLI options; the benchmark's rows; what tinyq refuses."""

import subprocess
import zlib

import numpy as np
import pytest

from conftest import QEMU_BOARDS
from test_conv import add_conv
from test_depthwise_conv import add_depthwise
from tinyq import driver
from tinyq.boards import get_board
from tinyq.cli import main
from tinyq.driver import Compiled, compile_graph
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ops.geometry import output_size
from tinyq.plan.patched import plan_patched
from tinyq.plan.patches import Layer, chain, make_stage, parse_request, spans
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize, verify_host, verify_qemu

HOST = get_board("host")
VWW_SRAM_LIMIT = 24 * 1024  # the bound on arena + input staging


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def add_pool(b: GraphBuilder, rng, x: int, x_shape, kind: str, padding: str) -> tuple[int, tuple]:
    n, h, w, c = x_shape
    while True:
        kh, kw, sh, sw = (int(v) for v in rng.integers(1, 4, size=4))
        oh, ow = output_size(padding, h, kh, sh), output_size(padding, w, kw, sw)
        if oh > 0 and ow > 0:
            break
    q = b._tensors[x].quant
    y = b.activation((n, oh, ow, c), scale=q.s, zero_point=q.zp)  # TFLM's int8 pooling keeps its input's scale
    b.op(kind, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_height=kh, filter_width=kw,
         fused_activation_function="NONE")
    return y, (n, oh, ow, c)


def chain_model(rng, x_shape, kinds, padding="SAME", tail=True, **geometry):
    """x -> the layers `kinds` (random geometry unless given) -> optionally a 1x1 conv tail."""
    b = GraphBuilder("chain")
    x = b.input(x_shape, scale=rng.uniform(0.02, 0.2), zero_point=int(rng.integers(-40, 40)))
    shape = x_shape
    for kind in kinds:
        if kind in ("max_pool_2d", "average_pool_2d"):
            x, shape = add_pool(b, rng, x, shape, kind, padding)
            continue
        add = add_conv if kind == "conv_2d" else add_depthwise
        extra = {"cout": int(rng.integers(1, 9))} if kind == "conv_2d" else {"multiplier": int(rng.integers(1, 3))}
        x = add(b, rng, x, shape, padding=padding, activation=str(rng.choice(["NONE", "RELU", "RELU6"])),
                **extra, **geometry)
        shape = b._tensors[x].shape
    if tail:
        x = add_conv(b, rng, x, shape, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), cout=3)
    return b.build([x])


def compile_patched(graph, layers: int, grid, board=HOST, backend=None) -> Compiled:
    """The graph with its first `layers` layers run in `grid` patches ("lines": line by line)."""
    bound = driver.front(graph, board, backend)
    stage = make_stage(bound.lowered, chain(bound.lowered)[:layers], (1, 1) if grid == "lines" else grid,
                       lines=grid == "lines")
    fused, plan = plan_patched(bound, stage)
    return Compiled(model=write_model(graph), graph=fused.graph, bound=fused, plan=plan,
                    source=driver.generate(fused, plan, graph.name))


def assert_patched_bit_exact(graph, layers, grid, n_inputs=6, seed=0):
    compiled = compile_patched(graph, layers, grid)
    result = verify_host(compiled, HOST, n_inputs=n_inputs, seed=seed)
    assert result.ok, f"{layers} layers in {grid}: " + summarize(result, graph)
    return compiled


# --- geometry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_spans_cover_each_tile_receptive_field_exactly(seed):
    """Every input a tile's outputs read inside the image lies in its region; the region holds
    nothing else; the local padding makes the kernel index the region as the image."""
    rng = seeded("spans", seed)
    n, layers = int(rng.integers(5, 40)), []
    for i in range(int(rng.integers(1, 5))):
        k, s, d = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        padding = str(rng.choice(["SAME", "VALID"]))
        out = output_size(padding, n, k, s, d)
        if out <= 0:
            break
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pad = total // 2 if padding == "SAME" else 0
        layers.append(Layer(i, "conv_2d", (n, n, 1), (out, out, 1), ((k - 1) * d + 1, 1), (s, 1), (pad, 0), 1))
        n = out
    if not layers:
        return
    layers = tuple(layers)
    for tiles in range(1, n + 1):
        bounds = [n * t // tiles for t in range(tiles + 1)]
        for a, b in zip(bounds, bounds[1:]):
            for layer, span in zip(layers, spans(layers, 0, a, b)):
                s, p, k, size = layer.stride[0], layer.pad[0], layer.window[0], layer.in_shape[0]
                read = {o * s - p + t for o in range(span.out0, span.out1) for t in range(k)} & set(range(size))
                assert read <= set(range(span.in0, span.in1)) and span.pad >= 0
                assert {span.in0, span.in1 - 1} <= read  # the region is no larger than what is read
                for o in range(span.out0, span.out1):  # local index = global index - in0
                    assert (o - span.out0) * s - span.pad == o * s - p - span.in0


@pytest.mark.parametrize("seed", range(20))
def test_line_schedule_computes_every_row_once_from_window_sized_bands(seed):
    """lines: each layer's rows computed once, in order; each band no larger than its consumer's
    window reach (a window plus the rows a stride skips)."""
    rng = seeded("lines", seed)
    kinds = [str(rng.choice(["conv_2d", "depthwise_conv_2d", "max_pool_2d"])) for _ in range(int(rng.integers(1, 5)))]
    graph = chain_model(rng, (1, int(rng.integers(9, 30)), 7, 2), kinds, str(rng.choice(["SAME", "VALID"])),
                        tail=False)
    bound = driver.front(graph, HOST)
    layers = chain(bound.lowered)
    steps, most = make_stage(bound.lowered, layers, (1, 1), lines=True).schedule
    for i, layer in enumerate(layers):
        rows = [row for x, row, _ in steps if x == i]
        assert rows == sorted(set(rows)) and all(0 <= r < layer.out_shape[0] for r in rows)
        assert most[i] <= layer.window[0]
    assert [row for x, row, _ in steps if x == len(layers) - 1] == list(range(layers[-1].out_shape[0]))


@pytest.mark.parametrize("text, grid", [("4", (4, 4)), ("8x2", (8, 2)), ("3X1", (3, 1))])
def test_parse_request(text, grid):
    assert parse_request(text).grid == grid and parse_request(text).modes == ("patches",)
    assert parse_request("auto").grid is None and parse_request("min").max_recompute is None
    assert parse_request("lines").modes == ("lines",)


@pytest.mark.parametrize("text", ["0", "x", "4x", "-2", "2x3x4", "many"])
def test_parse_request_refuses_in_one_line(text):
    with pytest.raises(TinyqError, match="--patches"):
        parse_request(text)


# --- bit-exact with TFLM ----------------------------------------------------------------------

CHAINS = [
    ("conv_2d", "depthwise_conv_2d", "conv_2d"),
    ("conv_2d", "max_pool_2d", "depthwise_conv_2d"),
    ("depthwise_conv_2d", "average_pool_2d", "conv_2d", "depthwise_conv_2d"),
    ("conv_2d", "conv_2d", "average_pool_2d", "max_pool_2d"),
]


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("kinds", CHAINS, ids=lambda k: "-".join(x.split("_")[0] for x in k))
def test_random_chains_every_stage_and_grid(kinds, padding):
    """Random kernels 1-5, strides 1-3, dilations 1-2, odd input sizes; stages of one layer and of
    all; line by line, grids with one column (band read in place, output written in
    place) and several, up to one tile per pixel."""
    rng = seeded("chain", kinds, padding)
    shape = (1, int(rng.integers(13, 31)), int(rng.integers(13, 31)), int(rng.integers(1, 5)))
    graph = chain_model(rng, shape, kinds, padding)
    bound = driver.front(graph, HOST)
    layers = chain(bound.lowered)
    assert [x.kernel for x in layers] == [*kinds, "conv_2d"]  # the 1x1 tail is patchable too
    for n in sorted({1, len(layers)}):
        h, w, _ = layers[n - 1].out_shape
        rows, cols = int(rng.integers(1, h + 1)), int(rng.integers(min(w, 2), w + 1))
        grids = {"lines", (rows, 1), (int(rng.integers(1, h + 1)), cols)} | ({(h, w)} if n > 1 else set())
        for grid in grids:
            assert_patched_bit_exact(graph, n, grid, n_inputs=4, seed=n)


@pytest.mark.parametrize("stride, kernel, dilation", [(1, 3, 1), (2, 3, 1), (2, 5, 2), (3, 2, 1), (2, 1, 1)])
def test_mobilenet_like_blocks(stride, kernel, dilation):
    """conv -> depthwise -> pointwise, one geometry at a time, the stage ending at the depthwise."""
    rng = seeded("block", stride, kernel, dilation)
    g = dict(kernel=(kernel, kernel), stride=(stride, stride), dilation=(dilation, dilation))
    graph = chain_model(rng, (1, 23, 19, 3), ("conv_2d", "depthwise_conv_2d"), **g)
    for n in (2,):
        for grid in ((4, 1), (3, 3), "lines"):
            assert_patched_bit_exact(graph, n, grid)


@pytest.mark.parametrize("grid", ["lines", (3, 2)])
def test_int4_weights(grid):
    rng = seeded("int4")
    graph = chain_model(rng, (1, 21, 17, 3), ("conv_2d", "depthwise_conv_2d"), weights="int4", kernel=(3, 3),
                        stride=(2, 1), dilation=(1, 1))
    assert [x.kernel for x in chain(driver.front(graph, HOST).lowered)][:2] == ["conv_2d_s4", "depthwise_conv_2d_s4"]
    assert_patched_bit_exact(graph, 2, grid)


def test_stage_output_is_the_graph_output():
    rng = seeded("whole")
    graph = chain_model(rng, (1, 17, 21, 2), ("conv_2d", "depthwise_conv_2d"), tail=False)
    compiled = assert_patched_bit_exact(graph, 2, (3, 4))
    assert [op.lowered.kernel for op in compiled.bound.ops] == ["patch_stage"]


def test_the_input_is_not_in_the_arena_and_the_plan_is_smaller():
    """A large first activation: the streamed plan needs less than the plan holding the input."""
    rng = seeded("smaller")
    graph = chain_model(rng, (1, 48, 48, 3), ("conv_2d", "depthwise_conv_2d", "conv_2d"),
                        kernel=(3, 3), stride=(2, 2), dilation=(1, 1))
    whole = compile_graph(graph, HOST)
    patched = compile_graph(graph, HOST, patches="auto")
    x = patched.graph.inputs[0]
    assert all(x not in b.tensors for b in patched.plan.buffers)
    assert patched.plan.arena_bytes < whole.plan.arena_bytes
    result = verify_host(patched, HOST, n_inputs=6)
    assert result.ok, summarize(result, graph)


# --- the VWW-shaped MobileNetV1-0.25 ----------------------------------------------------------

@pytest.fixture(scope="module")
def vww():
    from tinyq.bench.synthetic import mobilenet_v1

    return mobilenet_v1(alpha=0.25, size=96)


def test_vww_mobilenet_auto_under_24kb_bit_exact_on_host(vww):
    untiled = compile_graph(vww, HOST)
    compiled = compile_graph(vww, HOST, patches="auto")
    stage = next(op for op in compiled.bound.ops if op.lowered.kernel == "patch_stage").lowered.params.stage
    assert compiled.plan.arena_bytes < VWW_SRAM_LIMIT < untiled.plan.arena_bytes
    assert stage.band_bytes + stage.workspace_bytes <= compiled.plan.arena_bytes  # staging is in the arena
    result = verify_host(compiled, HOST, n_inputs=10)
    assert result.ok, summarize(result, vww)


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_vww_mobilenet_bit_exact_under_qemu(vww, board):
    b = get_board(board)
    report = verify_qemu(compile_graph(vww, b, patches="auto"), b, n_inputs=4)
    assert report.result.ok, summarize(report.result, vww)
    assert report.summary()["arena_bytes"] < VWW_SRAM_LIMIT


def test_vww_mobilenet_other_backend_keeps_reference_stage(vww):
    """With cmsis-nn the stage runs tinyq's reference kernels, the rest the backend's, bit-exact."""
    b = get_board("qemu-m55")
    compiled = compile_graph(vww, b, backend="cmsis-nn", patches="4x2")
    layers = {op.layer for op in compiled.bound.ops}
    assert "patches" in layers and "cmsis-nn" in layers
    report = verify_qemu(compiled, b, n_inputs=3)
    assert report.result.ok, summarize(report.result, vww)


# --- the row-source API -----------------------------------------------------------------------

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chain_model.h"

static int8_t image[TINYQ_CHAIN_INPUT0_BYTES];
static int32_t next_row, calls, fail_at = -1;

/* a camera: rows in order, each once; records a request out of order */
static int camera(void *ctx, int32_t row0, int32_t nrows, void *dst) {
  (void)ctx;
  if (row0 < next_row || nrows <= 0) { printf("out of order: %d after %d\n", (int)row0, (int)next_row); exit(3); }
  if (fail_at >= 0 && row0 + nrows > fail_at) return 7;
  memcpy(dst, image + row0 * TINYQ_CHAIN_INPUT_ROW_BYTES, (size_t)(nrows * TINYQ_CHAIN_INPUT_ROW_BYTES));
  next_row = row0 + nrows;
  ++calls;
  return 0;
}

int main(void) {
  int8_t a[TINYQ_CHAIN_OUTPUT0_BYTES], b[TINYQ_CHAIN_OUTPUT0_BYTES];
  for (int i = 0; i < TINYQ_CHAIN_INPUT0_BYTES; ++i) image[i] = (int8_t)(i * 37 + 11);
  if (tinyq_chain_invoke(image, a) != 0) return 4;
  void *outs[1] = {b};
  if (tinyq_chain_invoke_rows(camera, NULL, outs) != 0) return 5;
  if (memcmp(a, b, sizeof a) != 0) return 6;
  printf("rows %d calls %d\n", (int)next_row, (int)calls);
  next_row = 0; fail_at = 5;
  printf("fail %d\n", tinyq_chain_invoke_rows(camera, NULL, outs));
  return 0;
}
"""


@pytest.mark.parametrize("grid", [(5, 2), "lines"])
def test_invoke_rows_streams_each_row_once_in_order_and_stops_on_error(tmp_path, grid):
    rng = seeded("rows")
    graph = chain_model(rng, (1, 30, 14, 3), ("conv_2d", "depthwise_conv_2d"), kernel=(3, 3), stride=(1, 1),
                        dilation=(1, 1))
    compiled = compile_patched(graph, 2, grid)
    for rel, text in compiled.source.files.items():
        (tmp_path / rel).write_text(text)
    (tmp_path / "main.c").write_text(HARNESS)
    exe = tmp_path / "a.out"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-O1", "-I", str(tmp_path), "-o", str(exe),
                    *[str(p) for p in tmp_path.glob("*.c")]], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["rows"].split()[0] == "30"  # every row delivered (the 3x3 windows read them all)
    position = next(p for p, op in enumerate(compiled.bound.ops) if op.lowered.kernel == "patch_stage")
    assert lines["fail"] == str(position + 1)


# --- refusals ---------------------------------------------------------------------------------

def test_no_patchable_stage_is_refused_in_one_line(tmp_path, capsys):
    b = GraphBuilder("fc")
    x = b.input((1, 16), scale=0.05, zero_point=0)
    w = b.const(np.ones((4, 16)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    graph = b.build([y])
    with pytest.raises(UnsupportedError, match="no stage to run in patches"):
        compile_graph(graph, HOST, patches="auto")
    model = tmp_path / "fc.tflite"
    model.write_bytes(write_model(graph))
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", str(model), "-o", str(tmp_path / "out"), "--patches", "auto"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinyq: error: graph: no stage to run in patches")
    assert not (tmp_path / "out").exists()


def test_generate_patches_option_writes_the_streaming_api(tmp_path):
    rng = seeded("cli")
    model = tmp_path / "chain.tflite"
    model.write_bytes(write_model(chain_model(rng, (1, 20, 20, 3), ("conv_2d", "depthwise_conv_2d"))))
    main(["generate", str(model), "-o", str(tmp_path / "out"), "--patches", "3x2"])
    header = (tmp_path / "out" / "chain_model.h").read_text()
    assert "tinyq_chain_invoke_rows" in header and "TINYQ_CHAIN_INPUT_ROW_BYTES 60" in header


def test_verify_patches_option_is_bit_exact(tmp_path):
    rng = seeded("verify-cli")
    model = tmp_path / "chain.tflite"
    model.write_bytes(write_model(chain_model(rng, (1, 24, 18, 3), ("conv_2d", "depthwise_conv_2d"),
                                              kernel=(3, 3), stride=(2, 2), dilation=(1, 1))))
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(model), "--patches", "lines", "--inputs", "4"])
    assert exit_info.value.code == 0


# --- the benchmark ----------------------------------------------------------------------------

def test_bench_patches_rows_compare_with_the_untiled_plan(tmp_path):
    from tinyq.bench.patches import format_patch_table, patch_rows

    rng = seeded("bench")
    model = tmp_path / "chain.tflite"
    model.write_bytes(write_model(chain_model(rng, (1, 40, 40, 3), ("conv_2d", "depthwise_conv_2d", "conv_2d"),
                                              kernel=(3, 3), stride=(2, 2), dilation=(1, 1))))
    rows = patch_rows(model, ("lines", "3x2"))
    untiled = driver.plan(driver.front(driver.read(model)[1], HOST)).arena_bytes
    lines, tiles = rows
    assert lines.untiled_arena == tiles.untiled_arena == untiled
    assert lines.arena < untiled and lines.grid == "lines" and lines.stage_macs_ratio <= 1.0
    assert tiles.grid == "3x2" and tiles.stage_macs_ratio > 1.0  # overlaps recomputed
    table = format_patch_table(rows)
    assert f"{lines.arena:,}" in table and "3x2" in table
