"""Static memory planning: every activation and scratch buffer gets an arena offset."""

from tinyq.plan.memory import Buffer, MemoryPlan, plan_memory

__all__ = ["Buffer", "MemoryPlan", "plan_memory"]
