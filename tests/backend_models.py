"""Per-op models that walk every code path of the library backends (CMSIS-NN, ESP-NN).

Each model puts several ops of one kind on one input, so one C build checks them
all; the builders are the per-op test modules' own. Used by test_backend_*.py.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from test_add_mul import binary_graph
from test_conv import add_conv
from test_depthwise_conv import add_depthwise
from test_fully_connected import fc_graph
from test_pooling import add_pool
from test_softmax import softmax_graph
from tinyq.ir import Graph
from tinyq.tflite.builder import GraphBuilder


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(("backend",) + key).encode()))


def _input(b: GraphBuilder, rng, shape):
    return b.input(shape, scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-40, 40)))


def conv_paths():
    """1x1 (stride 1 and 2), 1xN rows, general, dilated, grouped, per-tensor, no bias, int4, batches."""
    rng = seeded("conv")
    b = GraphBuilder("conv_paths")
    image, row = (2, 7, 9, 8), (1, 1, 12, 8)
    x, r = _input(b, rng, image), _input(b, rng, row)
    g = dict(dilation=(1, 1))
    outs = [add_conv(b, rng, x, image, kernel=(1, 1), stride=(1, 1), padding="VALID", **g),
            add_conv(b, rng, x, image, kernel=(1, 1), stride=(2, 2), activation="RELU", **g),
            add_conv(b, rng, x, image, kernel=(3, 3), stride=(1, 1), activation="RELU6", bias=False, **g),
            add_conv(b, rng, x, image, kernel=(2, 3), stride=(2, 1), dilation=(2, 2), per_channel=False),
            add_conv(b, rng, x, image, kernel=(3, 2), stride=(1, 2), groups=2, **g),
            add_conv(b, rng, x, image, kernel=(3, 3), stride=(2, 2), weights="int4", gain=300.0, **g),
            add_conv(b, rng, r, row, kernel=(1, 3), stride=(1, 1), padding="SAME", **g),
            add_conv(b, rng, r, row, kernel=(1, 5), stride=(1, 2), padding="VALID", **g)]
    return b.build(outs)


def depthwise_paths():
    """3x3 with padding <= 1, larger windows, depth multipliers, dilation, batches, one input channel."""
    rng = seeded("depthwise")
    b = GraphBuilder("depthwise_paths")
    image, batch, mono = (1, 9, 7, 12), (2, 5, 6, 4), (1, 8, 6, 1)
    x, xb, m = _input(b, rng, image), _input(b, rng, batch), _input(b, rng, mono)
    g = dict(dilation=(1, 1))
    outs = [add_depthwise(b, rng, x, image, multiplier=1, kernel=(3, 3), stride=(1, 1), activation="RELU6", **g),
            add_depthwise(b, rng, x, image, multiplier=1, kernel=(3, 3), stride=(2, 2), bias=False, **g),
            add_depthwise(b, rng, x, image, multiplier=1, kernel=(5, 4), stride=(1, 2), per_channel=False, **g),
            add_depthwise(b, rng, x, image, multiplier=2, kernel=(3, 3), stride=(1, 1), **g),
            add_depthwise(b, rng, x, image, multiplier=4, kernel=(2, 2), stride=(1, 1), **g),
            add_depthwise(b, rng, x, image, multiplier=1, kernel=(3, 3), stride=(1, 1), dilation=(2, 2)),
            add_depthwise(b, rng, xb, batch, multiplier=1, kernel=(3, 3), stride=(1, 1), **g),
            add_depthwise(b, rng, m, mono, multiplier=8, kernel=(3, 3), stride=(1, 1), **g),
            add_depthwise(b, rng, m, mono, multiplier=1, kernel=(3, 3), stride=(2, 1), weights="int4", **g)]
    return b.build(outs)


def fully_connected_per_channel():
    return fc_graph(seeded("fc", 1), depth=37, units=21, per_channel=True, activation="RELU")


def fully_connected_per_tensor_batches():
    return fc_graph(seeded("fc", 2), batches=3, depth=40, units=9, per_channel=False, bias=False)


def pooling_paths():
    rng = seeded("pool")
    b = GraphBuilder("pool_paths")
    image, batch = (1, 11, 9, 6), (2, 6, 7, 3)
    x, xb = _input(b, rng, image), _input(b, rng, batch)
    outs = []
    for kind in ("average_pool_2d", "max_pool_2d"):
        outs += [add_pool(b, rng, kind, x, image, window=(3, 3), stride=(2, 2), padding="SAME"),
                 add_pool(b, rng, kind, x, image, window=(2, 4), stride=(1, 3), padding="VALID", activation="RELU"),
                 add_pool(b, rng, kind, x, image, window=(11, 9), stride=(1, 1), padding="VALID"),
                 add_pool(b, rng, kind, xb, batch, window=(3, 2), stride=(2, 1), padding="SAME",
                          activation="RELU6")]
    return b.build(outs)


def add_mul_paths():
    """Equal shapes (the library kernel), constant operands, and broadcasts (reference fallback)."""
    cases = []
    for op in ("add", "mul"):
        cases += [(op, (2, 5, 7), (2, 5, 7), "NONE", False, False),
                  (op, (1, 33), (1, 33), "RELU6", False, True),
                  (op, (4, 9), (4, 9), "RELU", True, False),
                  (op, (3, 1, 6), (1, 4, 6), "NONE", False, False)]
    return binary_graph("add_mul_paths", cases, seeded("add_mul"))


def softmax_int8():
    return softmax_graph((3, 10), scale=0.07, zero_point=5, beta=1.0)


def softmax_int16():
    return softmax_graph((2, 1, 1, 17), scale=0.11, zero_point=-3, beta=0.5, out="int16")


MODELS = {f.__name__: f for f in (conv_paths, depthwise_paths, fully_connected_per_channel,
                                  fully_connected_per_tensor_batches, pooling_paths, add_mul_paths,
                                  softmax_int8, softmax_int16)}


def merge(graphs, name: str) -> Graph:
    """Independent graphs side by side in one: one build and one run check them all."""
    tensors, operators, inputs, outputs = [], [], [], []
    for g in graphs:
        base = len(tensors)
        shift = lambda indices: tuple(i + base if i >= 0 else i for i in indices)  # noqa: E731
        tensors += [dataclasses.replace(t, index=t.index + base, name=f"{g.name}/{t.name}") for t in g.tensors]
        operators += [dataclasses.replace(op, index=len(operators) + j, inputs=shift(op.inputs),
                                          outputs=shift(op.outputs)) for j, op in enumerate(g.operators)]
        inputs += shift(g.inputs)
        outputs += shift(g.outputs)
    return Graph(tensors=tuple(tensors), operators=tuple(operators), inputs=tuple(inputs), outputs=tuple(outputs),
                 name=name)


def all_paths() -> Graph:
    """Every per-op model in one graph (for targets where each build and boot is slow)."""
    return merge([make() for make in MODELS.values()], "all_paths")


def configure_cmake_snippet(tmp_path, files: dict, snippet: str, target: str) -> int:
    """Configure a CMake project that includes a generated library snippet; returns how many
    sources the library target got (skips when cmake is absent)."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    for rel, text in files.items():
        if isinstance(text, str):
            (tmp_path / rel).write_text(text)
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(snippet C)\n"
        f"include(${{CMAKE_CURRENT_SOURCE_DIR}}/{snippet})\n"
        f"get_target_property(srcs {target} SOURCES)\nlist(LENGTH srcs n)\n"
        "message(STATUS \"library sources: ${n}\")\n")
    proc = subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "build")], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if "library sources:" in ln)
    return int(line.rsplit(":", 1)[1])
