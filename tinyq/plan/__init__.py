"""Static memory planning: execution order, aliasing and an offset for every
activation and scratch buffer (memory.py), where the weights go (flash.py), and
whether it all fits a board (fit.py)."""

from tinyq.plan.buffers import Buffer
from tinyq.plan.memory import MemoryPlan, plan_memory

__all__ = ["Buffer", "MemoryPlan", "plan_memory"]
