"""tinyq's C library functions (templates/reference/kernels/tq_libm_f32.c) against the C library the
golden model calls: glibc on x86-64, whose expf, logf, sinf and cosf run their FMA build on CPUs with
FMA and AVX2. On such a host every 4001st float32 bit pattern (and fmodf's second operands) must give
the same bits; the check runs exhaustively on every 5th pattern with the same harness
(tests/data/libm_f32_check.c, step 5: no difference in any function). Then, under QEMU, the functions
on random bit patterns through float ops: hard float (Cortex-M55) and soft float (ARMv6-M) return the
same bits as TFLM on x86."""

import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from float_cases import QEMU_BOARDS
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify.compare import compare_outputs, summarize
from tinyq.verify.runners import HostRunner, QemuRunner

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "templates" / "reference" / "kernels"


def _fma_glibc_host() -> str | None:
    """Why the host is not the golden model's C library, or None when it is."""
    if platform.system() != "Linux" or platform.machine() != "x86_64" or platform.libc_ver()[0] != "glibc":
        return f"the golden model's C library is glibc on x86-64; this host is {platform.system()} " \
               f"{platform.machine()} {platform.libc_ver()}"
    flags = Path("/proc/cpuinfo").read_text().split()
    if "fma" not in flags or "avx2" not in flags:
        return "this CPU has no FMA/AVX2: glibc runs its non-FMA expf/logf/sinf/cosf here, not the golden model's"
    if tuple(int(v) for v in platform.libc_ver()[1].split(".")[:2]) >= (2, 41):
        return "glibc 2.41 replaced tanhf and expm1f with CORE-MATH code"
    return None


def test_equal_to_the_golden_c_library(tmp_path):
    why = _fma_glibc_host()
    if why:
        pytest.skip(why)
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    exe = tmp_path / "check"
    subprocess.run(["cc", "-std=c99", "-ffp-contract=off", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNELS}",
                    str(ROOT / "tests" / "data" / "libm_f32_check.c"), str(KERNELS / "tq_libm_f32.c"),
                    str(KERNELS / "tq_exp_f64.c"), "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe), "4001"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) == 10
    assert all(bad == "0" for _, bad, _ in rows), out


def test_libm_on_targets():
    """Random bit patterns (NaNs excluded: Arm's default NaN differs where TFLM's arithmetic, not its C
    library, makes one) through every op that calls a C library function."""
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**32, size=6 * 512, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = np.where(np.isnan(values), np.float32(1.5), values).reshape(6, 512)
    mid = rng.uniform(-130, 130, size=(6, 512)).astype(np.float32)  # exp/log/sin/cos/tanh's busy range
    b = GraphBuilder("libm_targets")
    x = b.input((512,), dtype="float32")
    outs = []
    for op in ("exp", "log", "sin", "cos", "tanh", "sqrt", "rsqrt", "elu", "logistic", "floor", "ceil", "round"):
        outs.append(b.activation((512,), dtype="float32", name=op))
        b.op(op, [x], [outs[-1]])
    outs.append(b.activation((512,), dtype="float32", name="floor_mod"))
    b.op("floor_mod", [x, b.const(np.float32(rng.uniform(0.5, 9, 512)), "float32")], [outs[-1]])
    graph = b.build(outs)
    inputs = [[v] for v in (*values, *mid)]
    for name in ("host", *QEMU_BOARDS):
        board = get_board(name)
        compiled = compile_graph(graph, board)
        runner = HostRunner(board) if board.runner == "host" else QemuRunner(board)
        result = compare_outputs(compiled.model, compiled.graph, inputs, runner.run(compiled, inputs).outputs)
        assert result.ok, f"{name}: " + summarize(result, graph)
