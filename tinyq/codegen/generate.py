"""Render `<name>_model.{c,h}` and copy in the kernels the model calls.

Each kernel has a call template `templates/<backend>/<kernel>.c.j2` defining two
macros, `decl(k)` (its constant parameter block) and `call(k)` (the statement in
the invoke function); `k` is a KernelView giving arena pointers, constant array
symbols and the op's parameters. Kernel sources live in
`templates/<backend>/kernels/tq_<kernel>.{c,h}` with `tq_common.h`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from tinyq import __version__
from tinyq.backends import Backend, KernelChoice, backend_consts, choose_kernels
from tinyq.ir import Graph, Tensor
from tinyq.lower import LoweredGraph
from tinyq.ops.base import ConstArray, Lowered
from tinyq.plan import MemoryPlan

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
          "float32": "float", "bool": "uint8_t", "int64": "int64_t"}
DTYPE_CODES = {"float32": 0, "int8": 1, "uint8": 2, "int16": 3, "int32": 4, "bool": 5, "int64": 6}


@dataclass(frozen=True)
class GeneratedSource:
    name: str
    files: dict[str, str]  # relative path -> text
    choices: tuple[KernelChoice, ...]
    plan: MemoryPlan
    libraries: tuple[str, ...] = ()  # C libraries the sources call (tinyq.build.libraries)


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class KernelView:
    """What a call template sees of one op: pointers, constant symbols, parameters."""

    def __init__(self, k: Lowered, position: int, graph: Graph, plan: MemoryPlan, const_syms: dict[str, str],
                 scratch_bytes: int, function: str = ""):
        self.lowered = k
        self.function = function  # the library function a backend calls (KernelChoice.function)
        self.used_consts: set[str] = set()  # array symbols the call templates referenced
        self.op = k.op
        self.params = k.params
        self.sym = f"tq_op{position}"
        self.position = position
        self._graph = graph
        self._plan = plan
        self._consts = const_syms
        self.scratch_bytes = scratch_bytes
        scratch = plan.scratch_offset(position)
        self.scratch = f"(void *)(tq_arena + {scratch})" if scratch is not None else "NULL"

    def _ptr(self, t: Tensor, const: bool) -> str:
        qual = "const " if const else ""
        return f"({qual}{CTYPES[t.dtype]} *)(tq_arena + {self._plan.tensor_offset(t.index)})"

    def input(self, i: int = 0) -> str:
        return self._ptr(self._graph.tensors[self.lowered.inputs[i]], True)

    def output(self, i: int = 0) -> str:
        return self._ptr(self._graph.tensors[self.lowered.outputs[i]], False)

    def const(self, name: str) -> str:
        self.used_consts.add(self._consts[name])
        return self._consts[name]

    def has_const(self, name: str) -> bool:
        return name in self._consts

    def const_values(self, name: str) -> list:
        """The values of one of the op's flash arrays, for templates that inline them."""
        return next(np.asarray(c.values).reshape(-1).tolist() for c in self.lowered.consts if c.name == name)

    def tensor(self, index: int) -> Tensor:
        return self._graph.tensors[index]


class _UnplacedArena:
    """Stands in for the memory plan when only the constants a call references matter."""

    def tensor_offset(self, tensor: int) -> int:
        return 0

    def scratch_offset(self, op_position: int) -> int | None:
        return 0


def referenced_consts(k: Lowered, folder: str, graph: Graph, function: str = "") -> frozenset[str]:
    """Names of the op's flash arrays its call template references: the only ones the generator emits
    (the flash plan asks here so it counts exactly those, whatever the template reads)."""
    view = KernelView(k, 0, graph, _UnplacedArena(), {c.name: c.name for c in k.consts}, k.scratch_bytes,
                      function)
    module = environment().get_template(f"{folder}/{k.kernel}.c.j2").make_module({"view": view})
    module.decl(view), module.call(view)
    return frozenset(view.used_consts)


def _c_values(c: ConstArray) -> str:
    values = np.asarray(c.values).reshape(-1)
    if values.dtype.kind == "f":
        items = [repr(float(np.float32(v))) + "f" for v in values.tolist()]
    else:
        items = [str(v) for v in values.tolist()]
    return "\n".join("  " + ", ".join(items[i:i + 20]) + "," for i in range(0, len(items), 20))


def _collect_consts(lowered: LoweredGraph) -> tuple[list[dict], list[dict[str, str]]]:
    """Emit each distinct array once (same type and bytes -> same symbol)."""
    arrays: list[dict] = []
    by_content: dict[tuple[str, str], str] = {}
    per_op: list[dict[str, str]] = []
    for position, k in enumerate(lowered.ops):
        syms = {}
        for c in k.consts:
            raw = np.ascontiguousarray(c.values)
            key = (c.ctype, hashlib.sha256(raw.tobytes() + str(raw.dtype).encode()).hexdigest())
            if key not in by_content:
                by_content[key] = f"tq_op{position}_{c.name}"
                arrays.append({"sym": by_content[key], "ctype": c.ctype, "count": max(raw.size, 1),
                               "body": _c_values(c) if raw.size else "  0,", "bytes": raw.nbytes})
            syms[c.name] = by_content[key]
        per_op.append(syms)
    return arrays, per_op


def _io_info(graph: Graph, plan: MemoryPlan, indices) -> list[dict]:
    result = []
    for i in indices:
        t = graph.tensors[i]
        result.append({"index": i, "name": t.name, "ctype": CTYPES[t.dtype], "dtype_code": DTYPE_CODES[t.dtype],
                       "bytes": t.nbytes, "shape": list(t.shape) or [1], "offset": plan.tensor_offset(i),
                       "scale": repr(float(np.float32(t.quant.s))) + "f" if t.quant else "0.0f",
                       "zero_point": t.quant.zp if t.quant else 0})
    return result


def generate_c(lowered: LoweredGraph, plan: MemoryPlan, backend: Backend, name: str,
               source: str = "") -> GeneratedSource:
    env = environment()
    graph = lowered.graph
    choices = choose_kernels(backend, lowered.ops)
    # a backend's call may want more flash arrays than the reference's (e.g. CMSIS-NN's int32 shifts)
    with_consts = tuple(dataclasses.replace(k, consts=k.consts + backend_consts(backend, k, c))
                        for k, c in zip(lowered.ops, choices))
    lowered = LoweredGraph(graph=graph, ops=with_consts)
    arrays, per_op_syms = _collect_consts(lowered)
    op_blocks, kernel_files, used = [], {}, set()
    for position in plan.execution_order(len(lowered.ops)):  # the planner may run branches in another order
        k, choice = lowered.ops[position], choices[position]
        folder = backend.template_dirs[0] if choice.backend == backend.name else "reference"
        template = env.get_template(f"{folder}/{k.kernel}.c.j2")
        scratch_bytes = plan.scratch[position] if plan.scratch else k.scratch_bytes
        view = KernelView(k, position, graph, plan, per_op_syms[position], scratch_bytes, choice.function)
        module = template.make_module({"view": view})
        decl, call = str(module.decl(view)).strip(), str(module.call(view)).strip()
        used |= view.used_consts
        op_blocks.append({"position": position, "op": k.op, "kernel": k.kernel, "backend": choice.backend,
                          "decl": decl, "call": call,
                          "traced": [t for t in k.outputs]})
        for rel in getattr(module, "kernel_files", ()):  # a template lists the sources it needs
            kernel_files[rel] = f"{folder}/kernels/{rel}"
    if kernel_files:
        kernel_files["tq_common.h"] = "reference/kernels/tq_common.h"
    # only the arrays some call uses (a backend may not need all the reference's, e.g. int8 shifts)
    arrays = [a for a in arrays if a["sym"] in used]
    context = {
        "name": name, "NAME": name.upper(), "version": __version__, "source": source,
        "arena_bytes": plan.arena_bytes, "arrays": arrays, "ops": op_blocks,
        "inputs": _io_info(graph, plan, graph.inputs), "outputs": _io_info(graph, plan, graph.outputs),
        "headers": sorted(f for f in kernel_files if f.endswith(".h") and f != "tq_common.h"),
        "tensor_bytes": {t.index: t.nbytes for t in graph.tensors},
        "tensor_offset": plan.tensor_offset,
        "flash_bytes": sum(a["bytes"] for a in arrays),
    }
    files = {
        f"{name}_model.h": env.get_template("model.h.j2").render(context),
        f"{name}_model.c": env.get_template("model.c.j2").render(context),
    }
    for rel, src in sorted(kernel_files.items()):
        files[rel] = (TEMPLATES / src).read_text()
    uses_library = backend.library and any(c.backend == backend.name for c in choices)
    if uses_library:
        files.update(library_files(backend, name))
    return GeneratedSource(name=name, files=files, choices=choices, plan=plan,
                           libraries=(backend.library,) if uses_library else ())


def library_files(backend: Backend, name: str) -> dict[str, str]:
    """Build files for the library a backend calls (templates/<backend>/project/*.j2):
    e.g. a CMake snippet that fetches the pinned release."""
    env = environment()
    folder = TEMPLATES / backend.template_dirs[0] / "project"
    context = {"name": name, "NAME": name.upper(), "version": __version__, **backend.project_context}
    return {p.name[:-len(".j2")]: env.get_template(f"{backend.template_dirs[0]}/project/{p.name}").render(context)
            for p in sorted(folder.glob("*.j2"))}
