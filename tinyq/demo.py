"""`tinyq demo`: the whole pipeline on a built-in model, from float weights to QEMU.

The model is made here, seeded, with tinyq's own writer: a small keyword-spotting
style network (conv, depthwise, pointwise, average pool, fully connected, softmax)
on a 20x10 "spectrogram". Its calibration data are smooth random images, also
seeded. Every step prints what it did; any failed step stops the demo with an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tinyq.tflite.builder import GraphBuilder

INPUT_SHAPE = (1, 20, 10, 1)
CLASSES = 6


def _he(rng, shape, fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def demo_float_graph(seed: int = 2024):
    """The built-in float32 model (same seed, same bytes)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("demo")
    x = b.input(INPUT_SHAPE, "float32", name="spectrogram")
    w1 = b.const(_he(rng, (16, 3, 3, 1), 9), name="conv1/weights")
    b1 = b.const(rng.normal(0, 0.05, 16).astype(np.float32), name="conv1/bias")
    h1 = b.activation((1, 10, 5, 16), "float32", name="conv1")
    b.op("conv_2d", [x, w1, b1], [h1], padding="SAME", stride_w=2, stride_h=2, fused_activation_function="RELU")
    w2 = b.const(_he(rng, (1, 3, 3, 16), 9), name="dw/weights")
    b2 = b.const(rng.normal(0, 0.05, 16).astype(np.float32), name="dw/bias")
    h2 = b.activation((1, 10, 5, 16), "float32", name="dw")
    b.op("depthwise_conv_2d", [h1, w2, b2], [h2], padding="SAME", stride_w=1, stride_h=1, depth_multiplier=1,
         fused_activation_function="RELU6")
    w3 = b.const(_he(rng, (24, 1, 1, 16), 16), name="pw/weights")
    b3 = b.const(rng.normal(0, 0.05, 24).astype(np.float32), name="pw/bias")
    h3 = b.activation((1, 10, 5, 24), "float32", name="pw")
    b.op("conv_2d", [h2, w3, b3], [h3], padding="VALID", stride_w=1, stride_h=1, fused_activation_function="RELU")
    h4 = b.activation((1, 1, 1, 24), "float32", name="pool")
    b.op("average_pool_2d", [h3], [h4], padding="VALID", stride_w=5, stride_h=10, filter_width=5,
         filter_height=10)
    shape = b.const(np.array([1, 24], dtype=np.int32), name="flatten/shape")
    h5 = b.activation((1, 24), "float32", name="flatten")
    b.op("reshape", [h4, shape], [h5], new_shape=(1, 24))
    w6 = b.const(_he(rng, (CLASSES, 24), 24), name="fc/weights")
    b6 = b.const(np.zeros(CLASSES, np.float32), name="fc/bias")
    h6 = b.activation((1, CLASSES), "float32", name="logits")
    b.op("fully_connected", [h5, w6, b6], [h6])
    y = b.activation((1, CLASSES), "float32", name="probabilities")
    b.op("softmax", [h6], [y], beta=1.0)
    return b.build([y])


def demo_calibration(n: int = 64, seed: int = 7) -> np.ndarray:
    """Smooth random 'spectrograms': low-frequency noise, the kind of input the model sees."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 1.0, size=(n, 5, 5, 1)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 4, axis=1), 2, axis=2)[:, :20, :10, :]


@dataclass(frozen=True)
class DemoStep:
    title: str
    detail: str


def run_demo(out_dir: Path, board_name: str = "qemu-m55", n_inputs: int = 20,
             echo: Callable[[str], None] = print, force: bool = False) -> list[DemoStep]:
    """Every stage of tinyq, in order; returns what each step reported.

    The files go to a staging folder that becomes `out_dir` only when every step passed."""
    from tinyq.codegen.output import output_dir

    with output_dir(out_dir, force) as stage:
        return _demo_steps(stage, Path(out_dir), board_name, n_inputs, echo)


def _demo_backend(board) -> tuple[str, str]:
    """The board's default backend when its library is here or can be fetched now; else the reference
    kernels and a note saying why: the demo must not stop for want of a network."""
    from tinyq.backends import get_backend
    from tinyq.build.libraries import available, fetch
    from tinyq.errors import TinyqError
    from tinyq.libraries import LIBRARIES

    backend = get_backend(board.default_backend)
    if not backend.library or available(backend.library):
        return backend.name, ""
    try:
        fetch(backend.library)
        return backend.name, ""
    except TinyqError as exc:
        lib = LIBRARIES[backend.library]
        reason = str(exc.what).rpartition("failed: ")[2][:80]
        return "reference", (f"({lib.short} is not on this machine and could not be fetched ({reason}): the demo "
                             f"runs the reference kernels; set {lib.env} to a checkout of it to use it)")


def _demo_steps(stage: Path, out_dir: Path, board_name: str, n_inputs: int,
                echo: Callable[[str], None]) -> list[DemoStep]:
    from tinyq.boards import get_board
    from tinyq.codegen import write_output_dir
    from tinyq.driver import compile_graph
    from tinyq.errors import TinyqError
    from tinyq.quantize.pipeline import quantize_graph
    from tinyq.verify import format_report, verify_qemu
    from tinyq.tflite.reader import read_model
    from tinyq.tflite.writer import write_model
    from tinyq.verify import summarize, verify_host

    steps: list[DemoStep] = []

    def step(title: str, detail: str) -> None:
        steps.append(DemoStep(title, detail))
        echo(f"[{len(steps)}] {title}\n    " + detail.replace("\n", "\n    "))

    float_bytes = write_model(demo_float_graph())
    (stage / "demo_float.tflite").write_bytes(float_bytes)
    calib = demo_calibration()
    np.save(stage / "calib.npy", calib)
    step("built the float model with tinyq's writer",
         f"{out_dir / 'demo_float.tflite'} ({len(float_bytes):,} B), calibration {calib.shape[0]} samples")

    result = quantize_graph(read_model(float_bytes, where="demo_float.tflite", name="demo"), [calib],
                            progress=lambda m: None)
    int8_bytes = write_model(result.graph)
    (stage / "demo_int8.tflite").write_bytes(int8_bytes)
    step("quantized to int8 (tinyq quantize)",
         f"{out_dir / 'demo_int8.tflite'} ({len(int8_bytes):,} B), {result.samples} samples, "
         f"{result.seconds:.2f} s")

    board = get_board(board_name)
    graph = read_model(int8_bytes, where="demo_int8.tflite", name="demo")
    backend, note = _demo_backend(board)
    compiled = compile_graph(graph, board, backend=backend, name="demo", source="demo_int8.tflite")
    plan = compiled.plan
    step("planned memory and generated C",
         f"arena {plan.arena_bytes:,} B (lower bound {plan.lower_bound_bytes:,} B), "
         f"{len(compiled.source.files)} files, {backend} kernels" + (f"\n{note}" if note else ""))
    write_output_dir(stage / "model", compiled.source.files)

    host = get_board("host")
    host_result = verify_host(compile_graph(graph, host, name="demo"), host, n_inputs=n_inputs)
    step("verified on the host against TFLM", summarize(host_result, graph))
    if not host_result.ok:
        raise TinyqError("demo: host output differs from TFLM", hint="this is a tinyq bug")

    report = verify_qemu(compiled, board, n_inputs=n_inputs, work_dir=stage)
    step(f"built firmware for {board.name} and ran it in QEMU", format_report(report, graph))
    if not report.result.ok:
        raise TinyqError("demo: QEMU output differs from TFLM", hint="this is a tinyq bug")
    return steps


def demo_command():
    import click

    @click.command("demo")
    @click.option("-o", "--output", "out_dir", default="out/demo", show_default=True,
                  type=click.Path(file_okay=False, path_type=Path),
                  help="Folder for the demo's files: new or empty (or, with --force, a previous tinyq output).")
    @click.option("--force", is_flag=True, help="Replace the files of a previous demo in the folder; others stay.")
    @click.option("--board", default="qemu-m55", show_default=True, help="A QEMU board to run the firmware on.")
    @click.option("--inputs", "n_inputs", default=20, show_default=True, help="Inputs compared with TFLM.")
    def demo(out_dir: Path, force: bool, board: str, n_inputs: int):
        """Run every stage on tinyq's built-in model: build a float model, quantize it,
        plan memory, generate C, verify on the host, build firmware, run it in QEMU and
        compare with TFLM byte for byte."""
        run_demo(out_dir, board, n_inputs, echo=click.echo, force=force)
        click.echo(f"demo passed: everything is in {out_dir}")

    return demo
