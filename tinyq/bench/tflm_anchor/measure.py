"""TFLM + CMSIS-NN's estimated cycles per inference: the anchor of `tinyq bench firmware` (docs/cycles.md).

    TFLM=<tflite-micro checkout> CMSIS_NN=<CMSIS-NN checkout> python measure.py MODEL.tflite ...

For each model: link this folder's firmware (main.cc: one MicroInterpreter, a pseudo-random input,
two timed Invoke() calls) with the model, boot it on QEMU mps3-an547 with the per-instruction log on,
and run tinyq's cycle model over the first call of tq_anchor_invoke. The TFLM checkout must have its
core objects built by TFLM's own Makefile (TARGET=cortex_m_generic TARGET_ARCH=cortex-m55
OPTIMIZED_KERNEL_DIR=cmsis_nn BUILD_TYPE=release, which also downloads flatbuffers and gemmlowp).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tinyq.bench import cycles

HERE = Path(__file__).resolve().parent
QEMU = ["qemu-system-arm", "-M", "mps3-an547", "-display", "none", "-monitor", "none", "-serial", "stdio",
        "-icount", "shift=0,sleep=off", "-semihosting-config", "enable=on,target=native"]


def measure(model: Path, build: Path) -> None:
    (build / "obj" / "model.o").unlink(missing_ok=True)
    subprocess.run(["make", "-s", "-C", str(HERE), f"OBJ={build / 'obj'}", f"MODEL={model.resolve()}",
                    f"TFLM={os.environ['TFLM']}", f"CMSIS_NN={os.environ['CMSIS_NN']}", f"ELF={build / 'firmware.elf'}"],
                   check=True, stdout=subprocess.DEVNULL)
    elf = build / "firmware.elf"
    trace = build / "exec.log"
    console = subprocess.run([*QEMU, "-singlestep", "-d", "exec,nochain", "-D", str(trace), "-kernel", str(elf)],
                             capture_output=True, text=True, timeout=3600, check=True).stdout
    report = cycles.estimate_trace(elf, trace, "tq_anchor_invoke", cycles.MODELS["cortex-m55"])
    trace.unlink()
    print(model.stem, console.strip().replace("\n", " | "))  # "r status ticks": ticks x 31.25 = instructions
    print(f"  traced instructions {report.instructions:,}, estimated cycles {report.cycles:,}, {report.by_unit}")
    for name, ins, cyc in report.top_functions(8):
        print(f"    {name[:64]:64s} {ins:>10,} {cyc:>10,}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="tflm-anchor-") as tmp:
        for path in sys.argv[1:]:
            measure(Path(path), Path(tmp))
