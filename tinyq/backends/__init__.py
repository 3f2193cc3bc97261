"""Kernel backends: which template (and so which library call) each op gets.

A backend names the template folders it searches, most specific first; the
reference folder is always last, so any op a backend does not override (or whose
constraints it does not meet) falls back to tinyq's reference kernel, and the
reason is recorded per op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tinyq.errors import TinyqError
from tinyq.ops.base import Lowered


@dataclass(frozen=True)
class KernelOverride:
    """An optimized kernel for one op: when it applies and what it needs."""

    applies: Callable[[Lowered], str | None]  # None when it applies, else the reason it does not
    scratch_bytes: Callable[[Lowered], int] = lambda k: 0


@dataclass(frozen=True)
class Backend:
    name: str
    template_dirs: tuple[str, ...]  # under templates/, searched in order
    overrides: dict[str, KernelOverride] = field(default_factory=dict)  # by kernel name
    doc: str = ""


@dataclass(frozen=True)
class KernelChoice:
    backend: str  # the backend whose template renders this op
    reason: str  # why: "optimized kernel" or the fallback reason


REFERENCE = Backend(name="reference", template_dirs=("reference",),
                    doc="tinyq's portable C99 kernels, bit-exact with TFLM's reference kernels")

_BACKENDS = {b.name: b for b in (REFERENCE,)}


def register(backend: Backend) -> None:
    _BACKENDS[backend.name] = backend


def get_backend(name: str) -> Backend:
    if name not in _BACKENDS:
        raise TinyqError(f"unknown backend '{name}'", hint=f"choose one of: {', '.join(sorted(_BACKENDS))}")
    return _BACKENDS[name]


def choose_kernels(backend: Backend, lowered_ops) -> tuple[KernelChoice, ...]:
    choices = []
    for k in lowered_ops:
        override = backend.overrides.get(k.kernel)
        if backend is REFERENCE:
            choices.append(KernelChoice("reference", "reference kernel"))
        elif override is None:
            choices.append(KernelChoice("reference", f"{backend.name} has no {k.kernel} kernel"))
        else:
            reason = override.applies(k)
            choices.append(KernelChoice(backend.name, f"{backend.name} kernel") if reason is None
                           else KernelChoice("reference", reason))
    return tuple(choices)
