"""CMSIS-NN calls that trade some speed for memory, after the CMSIS-NN layer in the cmsis-nn
backend: never the first choice, they bind only where the faster call would make the model need
more RAM than the reference kernels (bind(keep_arena=True), tinyq/plan/keep_arena.py).
"""

from __future__ import annotations

NAME = "cmsis-nn"
LIBRARY = "cmsis-nn"
