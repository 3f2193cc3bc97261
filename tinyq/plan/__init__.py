"""Static memory planning: execution order, aliasing and an offset for every
activation and scratch buffer (memory.py), where the weights go (flash.py), and
whether it all fits a board (fit.py).

Names are loaded on first use, so `tinyq --help` (which registers the `plan`
command from this package) does not import numpy."""

from __future__ import annotations

__all__ = ["Buffer", "MemoryPlan", "plan_memory"]


def __getattr__(name: str):
    if name == "Buffer":
        from tinyq.plan.buffers import Buffer

        return Buffer
    if name in ("MemoryPlan", "plan_memory"):
        from tinyq.plan import memory

        return getattr(memory, name)
    raise AttributeError(f"module 'tinyq.plan' has no attribute {name!r}")
