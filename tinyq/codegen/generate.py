"""Render `<name>_model.{c,h}` and copy in the kernels the model calls.

Each bound op's kernel names its call template (`Kernel.template`, e.g.
`templates/cmsis_nn/conv_2d.c.j2`) defining two macros, `decl(k)` (its constant
parameter block) and `call(k)` (the statement in the invoke function); `k` is a
KernelView giving arena pointers, constant array symbols and the op's parameters.
A template lists the kernel sources it needs (`kernel_files`), found in the
`kernels/` folder beside it, or in another layer's as "reference/tq_lstm.h" (one
file shared, never a copy); `tq_common.h` comes with every kernel. The arrays emitted are the flash
plan's table (tinyq/plan/flash.py): exactly the ones the calls read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jinja2
import numpy as np

from tinyq import __version__
from tinyq.backends import Backend
from tinyq.bind import BoundGraph, BoundOp
from tinyq.codegen.subgraphs import subgraph_functions
from tinyq.ir import Graph, Tensor
from tinyq.ops.base import ConstArray
from tinyq.plan import MemoryPlan
from tinyq.plan.flash import array_table
from tinyq.plan.state import persistent_tensors, state_resets
from tinyq.resources import templates_dir

TEMPLATES = templates_dir()

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
          "float32": "float", "bool": "uint8_t", "int64": "int64_t", "uint16": "uint16_t", "uint32": "uint32_t",
          "uint64": "uint64_t"}
DTYPE_CODES = {"float32": 0, "int8": 1, "uint8": 2, "int16": 3, "int32": 4, "bool": 5, "int64": 6, "uint16": 7,
               "uint32": 8, "uint64": 9}


@dataclass(frozen=True)
class GeneratedSource:
    name: str
    files: dict[str, str]  # relative path -> text
    libraries: tuple[str, ...] = ()  # C libraries the sources call (tinyq.libraries)


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class KernelView:
    """What a call template sees of one op: pointers, constant symbols, parameters."""

    def __init__(self, op: BoundOp, position: int, graph: Graph, plan: MemoryPlan, const_syms: dict[str, str],
                 sym: str | None = None, calls: dict | None = None):
        self.bound = op
        self.lowered = op.lowered
        self.function = op.function  # the library function the call ends in
        self.op = op.lowered.op
        self.params = op.lowered.params
        self.sym = sym or f"tq_op{position}"
        self._calls = calls or {}  # subgraph index -> CalleeView (codegen/subgraphs.py)
        self.position = position
        self._graph = graph
        self._plan = plan
        self._consts = const_syms
        self.used_consts: set[str] = set()  # array names the template referenced
        self.scratch_bytes = op.scratch_bytes
        scratch = plan.scratch_offset(position)
        self.scratch = f"(void *)(tq_arena + {scratch})" if scratch is not None else "NULL"

    def _ptr(self, t: Tensor, const: bool) -> str:
        qual = "const " if const else ""
        return f"({qual}{CTYPES[t.dtype]} *)(tq_arena + {self._plan.tensor_offset(t.index)})"

    def input(self, i: int = 0) -> str:
        return self._ptr(self._graph.tensors[self.lowered.inputs[i]], True)

    def output(self, i: int = 0) -> str:
        return self._ptr(self._graph.tensors[self.lowered.outputs[i]], False)

    def state(self, i: int) -> str:
        """A writable pointer to input i, a persistent tensor the kernel updates (plan/state.py)."""
        t = self._graph.tensors[self.lowered.inputs[i]]
        assert t.is_variable, f"input {i} of op {self.position} is not a variable tensor"
        return self._ptr(t, False)

    def const(self, name: str) -> str:
        """The symbol of one of the arrays the call reads (BoundOp.consts)."""
        self.used_consts.add(name)
        return self._consts[name]

    def has_const(self, name: str) -> bool:
        return name in self._consts

    def const_values(self, name: str) -> list:
        """The values of one of the lowering's arrays, for templates that inline them."""
        return self.lowered.const(name).reshape(-1).tolist()

    def tensor(self, index: int) -> Tensor:
        return self._graph.tensors[index]

    def callee(self, subgraph: int):
        """A subgraph this op runs (WHILE, IF, CALL_ONCE): its C call and its tensors' pointers."""
        return self._calls[subgraph]


def render_call(op: BoundOp, position: int, graph: Graph, plan: MemoryPlan, const_syms: dict[str, str],
                sym: str | None = None, calls: dict | None = None):
    """(decl text, call text, kernel files, the array names the template referenced) of one op."""
    view = KernelView(op, position, graph, plan, const_syms, sym, calls)
    module = environment().get_template(op.template).make_module({"view": view})
    decl, call = str(module.decl(view)).strip(), str(module.call(view)).strip()
    folder = op.template.split("/")[0]
    files = dict(kernel_source(folder, entry) for entry in getattr(module, "kernel_files", ()))
    return decl, call, files, frozenset(view.used_consts)


def kernel_source(folder: str, entry: str) -> tuple[str, str]:
    """(the file's name in the output, its template path) for one `kernel_files` entry of a template in
    `folder`: "tq_x.c" is the layer's own, "reference/tq_x.c" another layer's. Names are unique across
    layers (tests/test_codegen_kernels.py), so a model that calls both layers gets one copy."""
    owner, _, rel = entry.rpartition("/")
    return rel, f"{owner or folder}/kernels/{rel}"


def _c_float(v: float) -> str:
    """A float32 value that is not NaN (a Python float holding it exactly) as a literal; the infinities
    through math.h's macros (model.c includes it)."""
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(v) + "f"


def _c_nan(bits: int) -> str:
    """A float32 NaN with exactly these bits: TFLM's float kernels carry a NaN weight's sign and payload
    through to the outputs, so math.h's one NAN would differ from it. GCC's builtins (as TQ_ALIGNED's
    __attribute__) set the payload; their quiet bit is implied by nanf, clear with nansf."""
    sign, payload = "-" if bits >> 31 else "", bits & 0x3FFFFF
    if not bits & 0x400000:
        return f'{sign}__builtin_nansf("{payload:#x}")'
    return f"{sign}NAN" if not payload else f'{sign}__builtin_nanf("{payload:#x}")'


def _c_values(c: ConstArray) -> str:
    values = np.asarray(c.values).reshape(-1)
    if values.dtype.kind == "f":
        f32 = values.astype(np.float32, copy=False)  # a float32 array's own bits: a signaling NaN stays one
        items = [_c_float(v) if v == v else _c_nan(bits) for v, bits in zip(f32.tolist(), f32.view(np.uint32).tolist())]
    else:
        items = [str(v) for v in values.tolist()]
    return "\n".join("  " + ", ".join(items[i:i + 20]) + "," for i in range(0, len(items), 20))


def _arena_offset(plan: MemoryPlan, tensor: int) -> int | None:
    """None for an input the plan keeps out of the arena: a patch stage streams it (plan/patches.py)."""
    return next((off + b.place_of(tensor) for b, off in zip(plan.buffers, plan.offsets) if tensor in b.tensors), None)


def _io_info(graph: Graph, plan: MemoryPlan, indices) -> list[dict]:
    result = []
    for i in indices:
        t = graph.tensors[i]
        offset = _arena_offset(plan, i)
        result.append({"index": i, "name": t.name, "ctype": CTYPES[t.dtype], "dtype_code": DTYPE_CODES[t.dtype],
                       "bytes": t.nbytes, "shape": list(t.shape) or [1], "offset": offset, "streamed": offset is None,
                       "scale": repr(float(np.float32(t.quant.s))) + "f" if t.quant else "0.0f",
                       "zero_point": t.quant.zp if t.quant else 0})
    return result


def generate_c(bound: BoundGraph, plan: MemoryPlan, name: str, source: str = "") -> GeneratedSource:
    env = environment()
    graph = bound.graph
    table = array_table(bound)
    op_blocks, kernel_files = [], {}
    functions = subgraph_functions(bound, plan)
    for position in plan.execution_order(len(bound.ops)):  # the planner may run branches in another order
        op = bound.ops[position]
        decl, call, files, _ = render_call(op, position, graph, plan, table.symbols[position],
                                           calls=functions.calls.get(("", position)))
        op_blocks.append({"position": position, "op": op.lowered.op, "kernel": op.lowered.kernel,
                          "backend": op.layer, "decl": decl, "call": call, "traced": list(op.lowered.outputs)})
        kernel_files.update(files)
    subgraphs = []
    for f in functions.instances:  # subgraph functions: their ops in the file's order, not traced
        sub, symbols = bound.subgraphs[f.subgraph - 1], table.subgraph_symbols[f.subgraph - 1]
        blocks = []
        for position, op in enumerate(sub.ops):
            decl, call, files, _ = render_call(op, position, sub.graph, f.plan, symbols[position],
                                               sym=f"{f.symbol}_op{position}",
                                               calls=functions.calls.get((f.symbol, position)))
            blocks.append({"position": position, "op": op.lowered.op, "kernel": op.lowered.kernel,
                           "backend": op.layer, "decl": decl, "call": call})
            kernel_files.update(files)
        subgraphs.append({"sym": f.symbol, "index": f.subgraph, "name": sub.graph.name, "base": f.base,
                          "bytes": f.plan.arena_bytes, "ops": blocks})
    if kernel_files:
        kernel_files["tq_common.h"] = "reference/kernels/tq_common.h"
    arrays = [{"sym": a.symbol, "ctype": a.ctype, "count": max(np.asarray(c.values).size, 1),
               "body": _c_values(c) if np.asarray(c.values).size else "  0,", "bytes": np.asarray(c.values).nbytes}
              for a, c in zip(table.arrays, table.contents)]
    context = {
        "name": name, "NAME": name.upper(), "version": __version__, "source": source,
        "arena_bytes": plan.arena_bytes, "arrays": arrays, "ops": op_blocks,
        "inputs": _io_info(graph, plan, graph.inputs), "outputs": _io_info(graph, plan, graph.outputs),
        "headers": sorted(f for f in kernel_files if f.endswith(".h") and f != "tq_common.h"),
        "tensor_bytes": {t.index: t.nbytes for t in graph.tensors},
        "tensor_offset": plan.tensor_offset,
        "flash_bytes": sum(a["bytes"] for a in arrays),
        "state": state_resets(graph, persistent_tensors(bound.lowered), plan.tensor_offset),
        "subgraphs": subgraphs,
    }
    context["streamed"] = next((t for t in context["inputs"] if t["streamed"]), None)
    files = {
        f"{name}_model.h": env.get_template("model.h.j2").render(context),
        f"{name}_model.c": env.get_template("model.c.j2").render(context),
    }
    for rel, src in sorted(kernel_files.items()):
        files[rel] = (TEMPLATES / src).read_text()
    libraries = bound.libraries
    if libraries:
        files.update(library_files(bound.backend, name))
    return GeneratedSource(name=name, files=files, libraries=libraries)


def library_files(backend: Backend, name: str) -> dict[str, str]:
    """Build files for the library a backend calls (templates/<library>/project/*.j2):
    e.g. a CMake snippet that fetches the pinned release."""
    env = environment()
    folder = backend.library.replace("-", "_")
    context = {"name": name, "NAME": name.upper(), "version": __version__, **backend.project_context}
    return {p.name[:-len(".j2")]: env.get_template(f"{folder}/project/{p.name}").render(context)
            for p in sorted((TEMPLATES / folder / "project").glob("*.j2"))}
