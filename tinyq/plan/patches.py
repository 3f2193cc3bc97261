"""Patch-based (and line-based) execution of a model's first layers (MCUNetV2), below the
live-set bound.

A CNN's first layers hold its largest activations. Run them *per patch* instead: split the
output of the stage's last layer into a grid of tiles; for each tile, compute every layer of
the stage on the region of its input that the tile's receptive field covers (overlapping
regions are recomputed), so only patch-sized buffers are ever live. The stage's input is
not in the arena at all: it arrives a band of rows at a time from a row source (a camera's
lines), each row fetched once, in order.

Geometry, one axis at a time (rows and columns are independent): a layer with stride s,
leading padding p and effective window k computing outputs [o0, o1) of an input of n pixels
reads inputs [i0, i1) = [o0 s - p, (o1 - 1) s - p + k) clipped to [0, n). Run on just that
region, the kernel sees a local padding p' = p - o0 s + i0 (>= 0) and a local input size
i1 - i0, so its bounds checks skip exactly the taps the whole-image run skips: the same
kernel on the sub-region gives the same bytes (TFLM's kernels skip taps outside the image,
they never read a padding value).

Line by line (`lines`), the overlaps are kept instead of recomputed: every layer computes one
output row at a time, full width, into a band that holds the rows its consumer's window reads,
in an order planned offline (`PatchStage.schedule`); the input band is a window of input rows.

Memory of a stage in tiles: its output (whole, in the arena), the input band (the most rows any tile
row reads, full width) and one workspace where each layer's input and output region sit at
opposite ends (ping-pong); with a single column of tiles the first layer reads the band
itself and the last one writes straight into the stage output. The workspace and band are
the fused op's scratch, so the ordinary planner (memory.py) places everything and proves it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError
from tinyq.lower import LoweredGraph
from tinyq.plan.buffers import align_up

# The kernels a stage may hold (int8 activations; int8 or int4 weights): their parameter blocks
# share the Window2D fields the patch loop rewrites per tile (in_h/in_w/out_h/out_w/pad_h/pad_w),
# and their C type.
PATCHABLE = {"conv_2d": "tq_conv_2d_params_t", "depthwise_conv_2d": "tq_depthwise_conv_2d_params_t",
             "conv_2d_s4": "tq_conv_2d_params_t", "depthwise_conv_2d_s4": "tq_depthwise_conv_2d_params_t",
             "max_pool_2d": "tq_pool_params_t", "average_pool_2d": "tq_pool_params_t"}
MAX_GRID = 12  # tiles per axis the automatic choice tries
AUTO_RECOMPUTE = 1.5  # auto: patches may make the network compute at most 1.5x its convolution MACs
ALIGN = 4  # workspace regions start on 4-byte boundaries


@dataclass(frozen=True)
class Layer:
    """One op of a stage, as its geometry: input/output (h, w, c), window, stride, padding."""

    position: int  # op position in the lowered graph
    kernel: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    window: tuple[int, int]  # effective filter extent (dilation included)
    stride: tuple[int, int]
    pad: tuple[int, int]
    macs_per_pixel: int  # multiply-accumulates per output pixel (0 for pooling)


@dataclass(frozen=True)
class Span:
    """One layer's extent on one axis for one tile: input [in0, in1), output [out0, out1)."""

    in0: int
    in1: int
    out0: int
    out1: int
    pad: int  # the local leading padding the kernel sees

    @property
    def ins(self) -> int:
        return self.in1 - self.in0

    @property
    def outs(self) -> int:
        return self.out1 - self.out0


@dataclass(frozen=True)
class PatchStage:
    layers: tuple[Layer, ...]
    grid: tuple[int, int]  # tiles (rows, columns) of the last layer's output
    rows: tuple[tuple[Span, ...], ...]  # rows[tile row][layer]
    cols: tuple[tuple[Span, ...], ...]  # cols[tile column][layer]
    input: int  # tensor index of the stage's (streamed) input
    output: int  # tensor index of the last layer's output
    lines: bool = False  # streamed line by line: each layer keeps only the rows its consumer's window reads

    @functools.cached_property
    def schedule(self) -> tuple[tuple[tuple[int, int, int], ...], tuple[int, ...]]:
        """lines: the steps, each (layer, output row, first row its output band keeps), and the most
        rows each band holds (the input's first, then each layer's but the last's). To compute a row,
        a layer drops the rows of its input band above the row's window (no later row reads them),
        has the rows the window lacks computed (recursively, a row at a time; the input's fetched),
        then computes its row: each row any window reads is computed once, in order; bands hold
        about a window each; rows no window reads (a stride over a smaller window) are skipped."""
        n = len(self.layers)
        done, first, most = [0] * (n + 1), [0] * (n + 1), [0] * (n + 1)  # band b: rows [first[b], done[b])
        steps: list[tuple[int, int, int]] = []

        def compute(i: int) -> None:  # layer i computes the next row of band i + 1, reading band i
            layer = self.layers[i]
            s, p, k, size = layer.stride[0], layer.pad[0], layer.window[0], layer.in_shape[0]
            row = done[i + 1]
            i0, i1 = max(0, row * s - p), min(size, row * s - p + k)
            first[i] = max(first[i], i0)
            done[i] = max(done[i], first[i])
            while done[i] < i1:
                if i == 0:
                    done[0] = i1
                    most[0] = max(most[0], done[0] - first[0])
                else:
                    compute(i - 1)
            steps.append((i, row, first[i + 1]))
            done[i + 1] = row + 1
            most[i + 1] = max(most[i + 1], done[i + 1] - first[i + 1])

        for _ in range(self.layers[-1].out_shape[0]):
            compute(n - 1)
        return tuple(steps), tuple(most[:n])

    @functools.cached_property
    def layer_band_offsets(self) -> tuple[int, ...]:
        """lines: where each layer's band starts in the workspace (the last layer writes the output),
        and the workspace's end."""
        offsets, at = [], 0
        for i, layer in enumerate(self.layers[:-1]):
            offsets.append(at)
            at += align_up(self.schedule[1][i + 1] * layer.out_shape[1] * layer.out_shape[2], 16)
        return tuple(offsets + [at])

    @property
    def band_rows(self) -> int:
        return self.schedule[1][0] if self.lines else max(r[0].ins for r in self.rows)

    @property
    def row_bytes(self) -> int:
        _, w, c = self.layers[0].in_shape
        return w * c

    @property
    def band_bytes(self) -> int:
        return align_up(self.band_rows * self.row_bytes, 16)

    @property
    def direct(self) -> bool:
        """One column of tiles: the first layer reads the band, the last writes the stage output."""
        return self.grid[1] == 1

    def in_workspace(self, layer: int, side: str) -> bool:
        last = len(self.layers) - 1
        return not self.direct or not ((layer == 0 and side == "in") or (layer == last and side == "out"))

    @functools.cached_property
    def workspace_bytes(self) -> int:
        """The most any layer of any tile holds in the workspace: its input and output regions
        (lines: every layer's band but the last's, side by side)."""
        if self.lines:
            return self.layer_band_offsets[-1]
        need = 0
        for i, layer in enumerate(self.layers):
            total = 0
            for side, depth in (("in", layer.in_shape[2]), ("out", layer.out_shape[2])):
                if self.in_workspace(i, side):
                    rows = np.array([getattr(r[i], side + "s") for r in self.rows])
                    cols = np.array([getattr(c[i], side + "s") for c in self.cols])
                    total = total + (np.outer(rows, cols) * depth + ALIGN - 1) // ALIGN * ALIGN
            need = max(need, int(np.max(total)))
        return align_up(need, 16)

    @property
    def scratch_bytes(self) -> int:
        return self.band_bytes + self.workspace_bytes

    def output_high(self, layer: int) -> bool:
        """Whether a layer's output sits at the workspace's high end (its input at the low end)."""
        first_low = 0 if not self.direct else 1  # layer 0's input is in the workspace's low end, or in the band
        return (layer + first_low) % 2 == 0

    @functools.cached_property
    def macs(self) -> int:
        """Multiply-accumulates the tiles compute, recomputed overlaps included."""
        if self.lines:  # every row a window reads, once
            return sum(self.layers[i].out_shape[1] * self.layers[i].macs_per_pixel for i, _, _ in self.schedule[0])
        return sum(self.rows[ty][i].outs * self.cols[tx][i].outs * layer.macs_per_pixel
                   for ty in range(self.grid[0]) for tx in range(self.grid[1]) for i, layer in enumerate(self.layers))

    @property
    def untiled_macs(self) -> int:
        return sum(layer.out_shape[0] * layer.out_shape[1] * layer.macs_per_pixel for layer in self.layers)

    def describe(self) -> str:
        first, last = self.layers[0].position, self.layers[-1].position
        grid = "1-row" if self.lines else f"{self.grid[0]}x{self.grid[1]}"
        return (f"ops {first}-{last} in {grid} {'lines' if self.lines else 'patches'}: band {self.band_rows} rows "
                f"({self.band_bytes:,} B), workspace {self.workspace_bytes:,} B, "
                f"MACs x{self.macs / max(self.untiled_macs, 1):.2f}")


def layer_of(lowered: LoweredGraph, position: int) -> Layer | None:
    """The op as a stage layer, or None when it cannot be one."""
    k = lowered.ops[position]
    p = k.params
    if k.kernel not in PATCHABLE or len(k.inputs) != 1 or len(k.outputs) != 1 or p.batches != 1:
        return None
    window = ((p.filter_h - 1) * p.dilation_h + 1, (p.filter_w - 1) * p.dilation_w + 1)
    kind = k.kernel.removesuffix("_s4")  # int4 weights: the int8 kernel's parameter block
    if kind == "conv_2d":
        macs = p.filter_h * p.filter_w * p.filter_d * p.out_d
    elif kind == "depthwise_conv_2d":
        macs = p.filter_h * p.filter_w * p.in_d * p.depth_multiplier
    else:
        macs = 0
    out_d = p.in_d * p.depth_multiplier if kind == "depthwise_conv_2d" else p.out_d
    return Layer(position, k.kernel, (p.in_h, p.in_w, p.in_d), (p.out_h, p.out_w, out_d), window,
                 (p.stride_h, p.stride_w), (p.pad_h, p.pad_w), macs)


def network_macs(lowered: LoweredGraph) -> int:
    """The multiply-accumulates of every convolution (conv_2d, depthwise_conv_2d) of the graph."""
    layers = (layer_of(lowered, p) for p in range(len(lowered.ops)))
    return sum(x.out_shape[0] * x.out_shape[1] * x.macs_per_pixel for x in layers if x is not None)


def chain(lowered: LoweredGraph) -> list[Layer]:
    """The longest run of patchable layers from the graph's only input, each feeding only the next."""
    graph = lowered.graph
    if len(graph.inputs) != 1 or getattr(lowered, "subgraphs", ()):
        return []
    readers: dict[int, list[int]] = {}
    for pos, k in enumerate(lowered.ops):
        for t in k.inputs:
            readers.setdefault(t, []).append(pos)
    layers: list[Layer] = []
    tensor = graph.inputs[0]
    while True:
        users = readers.get(tensor, [])
        if len(users) != 1 or tensor in graph.outputs:
            return layers
        layer = layer_of(lowered, users[0])
        if layer is None or graph.tensors[tensor].dtype != "int8":
            return layers
        layers.append(layer)
        tensor = lowered.ops[users[0]].outputs[0]


def cuts(size: int, tiles: int) -> list[tuple[int, int]]:
    """[start, end) of `tiles` near-equal parts of `size`."""
    bounds = [size * i // tiles for i in range(tiles + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(tiles)]


def spans(layers: tuple[Layer, ...], axis: int, out0: int, out1: int) -> tuple[Span, ...]:
    """Each layer's span on `axis` for outputs [out0, out1) of the last layer, back to the first."""
    result = []
    for layer in reversed(layers):
        s, p, k, n = layer.stride[axis], layer.pad[axis], layer.window[axis], layer.in_shape[axis]
        in0, in1 = max(0, out0 * s - p), min(n, (out1 - 1) * s - p + k)
        result.append(Span(in0, in1, out0, out1, p - out0 * s + in0))
        out0, out1 = in0, in1
    return tuple(reversed(result))


def make_stage(lowered: LoweredGraph, layers: list[Layer] | tuple[Layer, ...], grid: tuple[int, int],
               lines: bool = False) -> PatchStage:
    """The stage of `layers` in `grid` tiles; `lines`: streamed a row at a time instead, each layer
    keeping the rows its consumer's window reads (no recomputation; `grid` is ignored)."""
    layers = tuple(layers)
    h, w, _ = layers[-1].out_shape
    rows, cols = (h, 1) if lines else (min(grid[0], h), min(grid[1], w))
    first, last = lowered.ops[layers[0].position], lowered.ops[layers[-1].position]
    return PatchStage(layers, (rows, cols), tuple(spans(layers, 0, a, b) for a, b in cuts(h, rows)),
                      tuple(spans(layers, 1, a, b) for a, b in cuts(w, cols)), first.inputs[0], last.outputs[0],
                      lines)


@dataclass(frozen=True)
class PatchRequest:
    """What `--patches` asks for: a grid, or the planner's choice under a recomputation cap."""

    grid: tuple[int, int] | None = None  # (rows, columns) of tiles; None: the planner chooses
    modes: tuple[str, ...] = ("patches", "lines")  # which executions to consider
    max_recompute: float | None = AUTO_RECOMPUTE  # the network's MACs over its untiled MACs at most (None: any)


def parse_request(text: str) -> PatchRequest:
    """`--patches`: "auto" (the smallest arena while the network computes at most AUTO_RECOMPUTE
    times its convolution MACs), "lines" (line by line, nothing recomputed), "min" (the smallest
    arena), "N" (N x N tiles) or "RxC" (R rows by C columns of tiles)."""
    if text in ("auto", "min"):
        return PatchRequest(max_recompute=AUTO_RECOMPUTE if text == "auto" else None)
    if text == "lines":
        return PatchRequest(modes=("lines",), max_recompute=None)
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise TinyqError(f"--patches {text!r} is not auto, lines, min, N or RxC", where="options",
                         hint="e.g. --patches auto, --patches 4 (4x4 tiles) or --patches 8x2 (8 rows by 2 columns)")
    return PatchRequest(grid=(parts[0], parts[-1]), modes=("patches",), max_recompute=None)
