"""`tinyq plan --plot FILE.png`: the arena over time, one rectangle per tensor.

x is the execution step (labelled with the op, its kernel and the layer's name from the file), y
the arena offset. Every tensor is a rectangle at its own offset from the step that writes it to
its last reader. Tensors that share bytes are drawn as such: an op's output written in place over
its input is hatched, with an arrow from the input it overwrites; a view (a reshape, a slice that
is a contiguous box) is a dashed outline inside its base. Scratch is red hatching. Dashed lines:
the lower bound and, when the plot has a board, the RAM the arena may use there (or a note when it
is far off the chart). matplotlib is an optional extra: `pip install 'tinyq[plot]'`.
"""

from __future__ import annotations

from pathlib import Path

from tinyq.errors import TinyqError
from tinyq.lower import LoweredGraph
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.memory import MemoryPlan

RAM_LINE_MAX_RATIO = 3.0  # above this many arenas, the board's RAM line would flatten the plot: a note instead
LABEL_CHARS = 28


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


def layer_name(lowered: LoweredGraph, position: int) -> str:
    """The name a converter gave the op's first output (its layer, usually), shortened from the left."""
    op = lowered.ops[position].op
    name = lowered.graph.tensors[op.outputs[0]].name if op.outputs else ""
    name = name.split(";")[0]  # converters join fused layers' names with ';'
    return name if len(name) <= LABEL_CHARS else "..." + name[-(LABEL_CHARS - 3):]


def step_labels(lowered: LoweredGraph, order) -> list[str]:
    return [f"{p}: {lowered.ops[p].op.op} [{lowered.ops[p].kernel}]\n{layer_name(lowered, p)}" for p in order]


def plot_plan(lowered: LoweredGraph, plan: MemoryPlan, path: Path, title: str = "",
              ram_bytes: int | None = None, board: str = "") -> Path:
    """Draw `plan` into `path` (PNG); `ram_bytes`: the RAM the board gives the arena."""
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

    order = plan.execution_order(len(lowered.ops))
    life = tensor_lifetimes(lowered, order)
    kinds = {a.tensor: a for a in plan.aliases}
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(order) + 3), 6))
    colors = plt.get_cmap("tab20").colors
    for i, (t, lt) in enumerate(sorted(life.items())):
        offset = plan.tensor_offset(t)
        x, width = lt.first - 0.45, lt.last - lt.first + 0.9
        alias = kinds.get(t)
        if alias is not None and alias.kind == "view":
            ax.add_patch(Rectangle((x, offset), width, lt.size, facecolor="none", edgecolor="black",
                                   linestyle="--", linewidth=0.8))
            continue
        in_place = alias is not None and alias.kind == "in-place"
        ax.add_patch(Rectangle((x, offset), width, lt.size, alpha=0.55, facecolor=colors[i % len(colors)],
                               edgecolor="black", linewidth=0.5, hatch="xx" if in_place else None))
        if in_place and alias.base in life:
            base = life[alias.base]
            start = (base.last, plan.tensor_offset(alias.base) + base.size / 2)
            ax.add_patch(FancyArrowPatch(start, (lt.first, offset + lt.size / 2), arrowstyle="->",
                                         mutation_scale=10, color="black", linewidth=0.8))
        if lt.size >= plan.arena_bytes * 0.06:
            ax.text((lt.first + lt.last) / 2, offset + lt.size / 2, f"t{t}", ha="center", va="center", fontsize=7)
    for b, off in zip(plan.buffers, plan.offsets):
        if b.name.endswith(".scratch"):
            ax.add_patch(Rectangle((b.first - 0.45, off), 0.9, b.size, facecolor="none", edgecolor="red",
                                   hatch="//", linewidth=0.8))
    top = max(plan.arena_bytes, 1) * 1.05
    ax.axhline(plan.lower_bound_bytes, color="gray", linestyle="--", linewidth=1)
    handles = [Patch(facecolor=colors[0], alpha=0.55, edgecolor="black", label="tensor (written -> last read)"),
               Patch(facecolor=colors[2], alpha=0.55, edgecolor="black", hatch="xx",
                     label="written in place over its input (arrow)"),
               Patch(facecolor="none", edgecolor="black", linestyle="--", label="view of another tensor's bytes"),
               Patch(facecolor="none", edgecolor="red", hatch="//", label="kernel scratch"),
               Line2D([], [], color="gray", linestyle="--", label=f"lower bound {plan.lower_bound_bytes:,} B")]
    if ram_bytes:
        where = f"{board} " if board else "board "
        if ram_bytes <= RAM_LINE_MAX_RATIO * plan.arena_bytes:
            ax.axhline(ram_bytes, color="crimson", linewidth=1.5)
            top = max(top, ram_bytes * 1.05)
            handles.append(Line2D([], [], color="crimson", label=f"{where}RAM for the arena {ram_bytes:,} B"))
        else:
            handles.append(Line2D([], [], color="crimson", label=f"{where}RAM for the arena {ram_bytes:,} B: off the "
                                  f"chart (arena uses {100.0 * plan.arena_bytes / ram_bytes:.1f}%)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    ax.set_xlim(-0.8, max(len(order) - 0.2, 0.8))
    ax.set_ylim(0, top)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(step_labels(lowered, order), rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{title + ': ' if title else ''}arena {plan.arena_bytes:,} B, lower bound "
                 f"{plan.lower_bound_bytes:,} B ({plan.strategy})", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
