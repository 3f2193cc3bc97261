"""The proof a plan is safe, tensor by tensor (strategies.verify checks buffers).

For every pair of tensors (and scratch areas) whose lifetimes share a step and
whose arena bytes overlap, the overlap must be one the plan recorded and a
kernel rule allows:

* views: every view record is one the op's lowering offers (`alias_of` at offset
  0, or one of its `placements`) and puts the tensor exactly `offset` bytes into
  its base, inside it. A record says the tensor's bytes *are* those of its base
  (the op copies nothing, or copies them onto themselves), so two tensors hold the
  same data on the bytes where they overlap when a chain of records joins them
  through tensors that all cover those bytes;
* an in-place output and the input it overwrites: they share exactly the one
  step of the op, the input (and every view of it) is dead after it, and the
  output starts at least the rule's least shift before the input.

Persistent tensors (state.py) must moreover be live at every step and share no byte with
any tensor outside their view tree, nor with any scratch area, whatever the lifetimes:
their bytes then hold between two invokes too.

Anything else raises AssertionError naming both tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from tinyq.lower import LoweredGraph
from tinyq.ops.base import InPlace
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.state import persistent_tensors

if TYPE_CHECKING:
    from tinyq.plan.memory import MemoryPlan


def verify_tensors(lowered: LoweredGraph, plan: "MemoryPlan", rules: Sequence[InPlace | None]) -> None:
    """`rules[position]`: the in-place rule of the kernel that runs each op (BoundOp.inplace)."""
    order = plan.execution_order(len(lowered.ops))
    step_of = {position: step for step, position in enumerate(order)}
    life = tensor_lifetimes(lowered, order)
    span = {t: (plan.tensor_offset(t), plan.tensor_offset(t) + lt.size) for t, lt in life.items()}
    views = _view_edges(lowered, plan, span)
    root = {t: _component(views, t) for t in views}
    in_place = {a.tensor: a for a in plan.aliases if a.kind == "in-place"}

    def allowed(t: int, u: int) -> str | None:
        """None when the overlap of t and u is justified, else why not."""
        if root.get(t, t) == root.get(u, u):
            low, high = max(span[t][0], span[u][0]), min(span[t][1], span[u][1])
            if _joined(views, span, t, u, low, high):
                return None
            return "views of one tensor holding different data there"
        for x, y in ((t, u), (u, t)):
            a = in_place.get(y)
            if a is None or root.get(x, x) != root.get(a.base, a.base):
                continue
            step = step_of[a.position]
            if not (life[x].last == step == life[y].first):
                return f"in-place pair live together beyond op {a.position}"
            if span[x] != span[a.base]:
                return "in-place input is not where its base is"
            k = lowered.ops[a.position]
            rule = rules[a.position]
            if rule is None:
                return f"kernel {k.kernel} has no in-place rule"
            need = rule.shift(k, lowered.graph, k.inputs.index(a.base))
            if need is None or span[x][0] - span[y][0] < need:
                return f"output starts {span[x][0] - span[y][0]} B before the input, the kernel needs {need}"
            return None
        return "no alias allows it"

    tensors = sorted(life)
    for i, t in enumerate(tensors):
        if span[t][0] < 0 or span[t][1] > plan.arena_bytes:
            raise AssertionError(f"tensor {t} [{span[t][0]}, {span[t][1]}) is outside the arena")
        for u in tensors[i + 1:]:
            if life[t].first <= life[u].last and life[u].first <= life[t].last \
                    and span[t][0] < span[u][1] and span[u][0] < span[t][1]:
                reason = allowed(t, u)
                if reason is not None:
                    raise AssertionError(f"tensors {t} {span[t]} and {u} {span[u]} are live together and "
                                         f"overlap: {reason}")
    for b, off in zip(plan.buffers, plan.offsets):
        if not b.name.endswith(".scratch"):
            continue
        for t in tensors:
            if b.first <= life[t].last and life[t].first <= b.last and off < span[t][1] and span[t][0] < off + b.size:
                raise AssertionError(f"{b.name} [{off}, {off + b.size}) overlaps live tensor {t} {span[t]}")
    _verify_state(lowered, plan, order, life, span, root)


def _verify_state(lowered: LoweredGraph, plan: "MemoryPlan", order, life, span, root) -> None:
    """Persistent tensors: live at every step, and their bytes nobody else's at any step."""
    state = persistent_tensors(lowered)
    for t in state:
        if life[t].first != 0 or life[t].last != len(order):
            raise AssertionError(f"persistent tensor {t} is live only over steps {life[t].first}-{life[t].last}")
        (t0, t1) = span[t]
        for u in life:
            if root.get(u, u) != root.get(t, t) and span[u][0] < t1 and t0 < span[u][1]:
                raise AssertionError(f"tensor {u} {span[u]} shares bytes with persistent tensor {t} {span[t]}")
        for b, off in zip(plan.buffers, plan.offsets):
            if b.name.endswith(".scratch") and off < t1 and t0 < off + b.size:
                raise AssertionError(f"{b.name} [{off}, {off + b.size}) shares bytes with persistent tensor {t}")


def _view_edges(lowered: LoweredGraph, plan: "MemoryPlan", span: dict[int, tuple[int, int]]) -> dict[int, set[int]]:
    """tensor -> the tensors a view record joins it to, after checking every record (module doc)."""
    edges: dict[int, set[int]] = {}
    for a in plan.aliases:
        if a.kind != "view":
            continue
        k = lowered.ops[a.position]
        offset = -a.shift
        offered = (a.base == k.alias_of and a.tensor in k.outputs and offset == 0) or \
            any((p.tensor, p.base, p.offset) == (a.tensor, a.base, offset) for p in k.placements)
        if not offered:
            raise AssertionError(f"tensor {a.tensor} is a view of {a.base} at +{offset}, which op {a.position} "
                                 "does not offer")
        (t0, t1), (b0, b1) = span[a.tensor], span[a.base]
        if t0 != b0 + offset or t1 > b1:
            raise AssertionError(f"view {a.tensor} {span[a.tensor]} is not {a.base} {span[a.base]} from +{offset}")
        edges.setdefault(a.tensor, set()).add(a.base)
        edges.setdefault(a.base, set()).add(a.tensor)
    return edges


def _component(edges: dict[int, set[int]], t: int) -> int:
    """The smallest tensor joined to t by view records: a name for its group."""
    seen, todo = {t}, [t]
    while todo:
        for u in edges.get(todo.pop(), ()):
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return min(seen)


def _joined(edges: dict[int, set[int]], span: dict[int, tuple[int, int]], t: int, u: int, low: int,
            high: int) -> bool:
    """A chain of view records from t to u through tensors that all cover bytes [low, high)."""
    seen, todo = {t}, [t]
    while todo:
        x = todo.pop()
        if x == u:
            return True
        for y in edges.get(x, ()):
            if y not in seen and span[y][0] <= low and high <= span[y][1]:
                seen.add(y)
                todo.append(y)
    return False


def verify_calls(bound, plan: "MemoryPlan") -> None:
    """A model with subgraphs (plan/subgraphs.py): the main graph's plan and each subgraph's are
    proven on their own (verify_tensors); this proves they compose. Every op that runs subgraphs
    has a scratch region holding the largest of its callees' plans (scratch is live at its step
    only and overlaps no live tensor, so a callee's tensors overlap only the caller's dead ones,
    whatever the depth of calls), and every subgraph tensor linked to the main graph's state is
    one of its persistent tensors and absent from the subgraph's own plan."""
    from tinyq.ops.control_flow import callees

    graphs = [(bound, plan)] + list(zip(bound.subgraphs, plan.subgraphs))
    for graph, graph_plan in graphs:
        sizes = {b.name: b.size for b in graph_plan.buffers}
        for position, b in enumerate(graph.ops):
            called = callees(b.lowered.op)
            need = max((plan.subgraphs[k - 1].arena_bytes for k in called), default=0)
            if need == 0:
                continue
            have = sizes.get(f"op{position}.scratch", 0) - b.scratch_bytes
            if have < need:
                raise AssertionError(f"op {position} runs subgraphs {list(called)} needing {need} B in a region "
                                     f"of {have} B")
    state = set(persistent_tensors(bound.lowered))
    for sub, sub_plan in zip(bound.subgraphs, plan.subgraphs):
        planned = {t for buf in sub_plan.buffers for t in buf.tensors}
        for t, root in sub.lowered.shared_state:
            if root not in state:
                raise AssertionError(f"subgraph {sub.graph.index} tensor {t} is linked to main-graph tensor {root}, "
                                     "which is not in the state region")
            if t in planned:
                raise AssertionError(f"subgraph {sub.graph.index} tensor {t} is linked state but has a buffer of "
                                     "its own")
