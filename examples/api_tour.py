# %% [markdown]
# # tinyq from Python
#
# The command line's stages as functions (tinyq/api.py): read a model, look at its memory plan on a
# board, generate and build a firmware project, and check it bit for bit against TFLM under QEMU.
# Run it cell by cell (VS Code, Jupyter with jupytext) or whole:
# `python examples/api_tour.py MODEL.tflite [OUT_DIR]`.

# %%
import sys
import tempfile
from pathlib import Path

import tinyq

MODEL = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/models/mlperf-tiny/kws_dscnn_int8.tflite")
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="tinyq-tour-"))

# %% Read the model: its bytes as given (what TFLM runs) and the graph tinyq reads from them
model = tinyq.load(MODEL)
print(model.name, f"{len(model.data):,} B,", len(model.graph.operators), "ops")

# %% Boards are data: core, memory map, clock, toolchain, QEMU machine
for b in tinyq.all_boards():
    print(f"{b.name:14} {b.core:14} {b.clock_hz / 1e6:5g} MHz")

# %% The memory plan on a board: the arena, its lower bound, and whether it fits (tinyq plan)
plan = model.plan(board="ra8m1", backend="cmsis-nn")
print(f"arena {plan.arena_bytes:,} B (lower bound {plan.lower_bound_bytes:,} B), "
      f"weights {plan.flash_bytes:,} B, fits the EK-RA8M1: {plan.fits}")

# %% Every stage up to the generated C, in memory (tinyq.driver.Compiled)
compiled = model.compile(board="qemu-m55", backend="cmsis-nn")
print(sorted(compiled.source.files))

# %% A firmware project on disk, built with arm-none-eabi-gcc (tinyq generate, tinyq build)
project = model.generate(OUT / "m55", board="qemu-m55", force=True)
built = tinyq.build_project(project.path)
print(built.elf, f"flash {built.sizes.flash_bytes:,} B, RAM {built.sizes.ram_bytes:,} B")

# %% Bit-exact with TFLM? On the host, then under QEMU (needs tflite-micro: pip install 'tinyq[tflm]')
print("host:", model.verify(inputs=20).ok)
report = model.verify(board="qemu-m55", inputs=5)
print("qemu-m55:", report.ok, report.summary()["instructions_per_inference"])
