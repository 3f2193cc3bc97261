"""`tinyq plan --plot FILE.png`: the arena over time, one rectangle per tensor.

x is the execution step, y the arena offset. Tensors sharing storage (views,
in-place outputs) are drawn at their own offsets inside their buffer, so an
in-place chain shows as a staircase. The dashed line is the lower bound.
matplotlib is an optional extra: `pip install 'tinyq[plot]'`.
"""

from __future__ import annotations

from pathlib import Path

from tinyq.errors import TinyqError
from tinyq.lower import LoweredGraph
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.memory import MemoryPlan


def require_matplotlib() -> None:
    _pyplot()


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise TinyqError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'tinyq[plot]', or pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_plan(lowered: LoweredGraph, plan: MemoryPlan, path: Path, title: str = "") -> Path:
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    order = plan.execution_order(len(lowered.ops))
    life = tensor_lifetimes(lowered, order)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(order) + 2), 5))
    colors = plt.get_cmap("tab20").colors
    for i, (t, lt) in enumerate(sorted(life.items())):
        offset = plan.tensor_offset(t)
        ax.add_patch(Rectangle((lt.first - 0.45, offset), lt.last - lt.first + 0.9, lt.size, alpha=0.55,
                               facecolor=colors[i % len(colors)], edgecolor="black", linewidth=0.5))
        if lt.size >= plan.arena_bytes * 0.06:
            ax.text((lt.first + lt.last) / 2, offset + lt.size / 2, f"t{t}", ha="center", va="center", fontsize=7)
    for b, off in zip(plan.buffers, plan.offsets):
        if b.name.endswith(".scratch"):
            ax.add_patch(Rectangle((b.first - 0.45, off), 0.9, b.size, facecolor="none", edgecolor="red",
                                   hatch="//", linewidth=0.8))
    ax.axhline(plan.lower_bound_bytes, color="gray", linestyle="--", linewidth=1)
    ax.set_xlim(-0.8, max(len(order) - 0.2, 0.8))
    ax.set_ylim(0, max(plan.arena_bytes, 1) * 1.05)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([f"{p}:{lowered.ops[p].kernel}" for p in order], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{title + ': ' if title else ''}arena {plan.arena_bytes:,} B, lower bound "
                 f"{plan.lower_bound_bytes:,} B ({plan.strategy})", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
