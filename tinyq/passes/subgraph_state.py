"""Everything a model keeps across invokes, in the main graph's tensors, before lowering.

tinyq/plan/state.py keeps the main graph's variable tensors in the arena's state region. The
state of the rest of a model joins it there:
- signal-library ops keep memory TFLM holds inside its kernels: a variable tensor appended to
  the op (passes/signal_state.py), in whichever subgraph the op is;
- resource variables become variable tensors of the main graph (passes/resource_variables.py);
- a variable tensor of another subgraph (an LSTM's state inside a loop body, a signal op's
  state there) gets a copy in the main graph that holds its bytes.
Another subgraph runs in a region of the arena that other ops reuse between its calls
(tinyq/plan/subgraphs.py), so its state cannot live there: each of its variable tensors is
*linked* to a main-graph tensor, `links[k - 1]` listing (its tensor, the main graph's) for
subgraph k, and the planner and the code generator use the main graph's bytes for it.
"""

from __future__ import annotations

from dataclasses import replace

from tinyq.ir import NO_TENSOR, Graph
from tinyq.passes.resource_variables import add_variable_tensors
from tinyq.passes.signal_state import add_state_tensors

Links = tuple[tuple[tuple[int, int], ...], ...]  # per subgraph 1, 2, ...: (its tensor, main graph tensor)

HOISTED_PREFIX = "tinyq_subgraph"  # main-graph copies are named tinyq_subgraph<k>:<tensor name>


def _touched(graph: Graph) -> set[int]:
    return {t for op in graph.operators for t in op.inputs + op.outputs if t != NO_TENSOR}


def share_state(graph: Graph) -> tuple[Graph, Links]:
    """The model with every piece of state a tensor, and the links of other subgraphs' state to the
    main graph's tensors (module doc). A model with one subgraph keeps its variable tensors."""
    graph = replace(add_state_tensors(graph), subgraphs=tuple(add_state_tensors(s) for s in graph.subgraphs))
    graph, resource_links = add_variable_tensors(graph)
    root = list(graph.tensors)
    links = []
    for sub, linked in zip(graph.subgraphs, resource_links):
        done = {t for t, _ in linked}
        pairs = list(linked)
        for t in sorted(_touched(sub) - done):
            tensor = sub.tensors[t]
            if tensor.is_variable and not tensor.is_const:
                pairs.append((t, len(root)))
                root.append(replace(tensor, index=len(root), name=f"{HOISTED_PREFIX}{sub.index}:{tensor.name}"))
        links.append(tuple(pairs))
    if len(root) != len(graph.tensors):
        graph = replace(graph, tensors=tuple(root))
    return graph, tuple(links)
