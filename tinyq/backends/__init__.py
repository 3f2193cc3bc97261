"""Kernel backends: which template (and so which library call) each op gets.

A backend names the template folders it searches, most specific first; the
reference folder is always last, so any op a backend does not override (or whose
constraints it does not meet) falls back to tinyq's reference kernel, and the
reason is recorded per op.

What an optimized kernel needs can depend on the build's target (CMSIS-NN's
scratch sizes differ between its pure C, DSP and Helium paths; on Helium its
fully connected kernel wants precomputed weight sums), so a backend is bound to
a `Target` before use: `get_backend(name, board)`. Bound, every override is a
plain function of the lowered op.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from tinyq.errors import TinyqError
from tinyq.ops.base import ConstArray, Lowered


def _no_scratch(k: Lowered) -> int:
    return 0


def _no_consts(k: Lowered) -> tuple[ConstArray, ...]:
    return ()


def _no_function(k: Lowered) -> str:
    return ""


@dataclass(frozen=True)
class KernelOverride:
    """An optimized kernel for one op: when it applies and what it needs."""

    applies: Callable[[Lowered], str | None]  # None when it applies, else the reason it does not
    scratch_bytes: Callable[[Lowered], int] = _no_scratch
    consts: Callable[[Lowered], tuple[ConstArray, ...]] = _no_consts  # extra flash arrays its call uses
    function: Callable[[Lowered], str] = _no_function  # the library function the call ends up in


@dataclass(frozen=True)
class Target:
    """What a backend needs to know about the machine the generated code runs on.

    `isa` picks between a library's code paths: "scalar" (plain C: the host,
    Cortex-M0/M3), "dsp" (Cortex-M4/M7/M33 DSP extension), "mve" (Helium:
    Cortex-M55/M85), "esp32s3" (the S3's SIMD). `compiler` matters where a
    library's choices differ by compiler ("gcc" or "armclang").
    """

    isa: str = "scalar"
    compiler: str = "gcc"
    board: str = "host"


HOST = Target()

# board ISA feature -> library code path, first match wins
_ISA_BY_FEATURE = (("mve-int", "mve"), ("dsp", "dsp"), ("esp32s3-simd", "esp32s3"))


def target_of(board) -> Target:
    """The Target of a tinyq.boards.Board."""
    features = set(board.isa_features)
    isa = next((isa for feature, isa in _ISA_BY_FEATURE if feature in features), "scalar")
    compiler = "armclang" if "armclang" in board.toolchain.cc else "gcc"
    return Target(isa=isa, compiler=compiler, board=board.name)


@dataclass(frozen=True)
class Backend:
    name: str
    template_dirs: tuple[str, ...]  # under templates/, searched in order
    overrides: dict[str, KernelOverride] = field(default_factory=dict)  # by kernel name
    doc: str = ""
    library: str = ""  # the C library its calls link against (tinyq.build.libraries), if any
    project_context: dict = field(default_factory=dict)  # values for its templates/<dir>/project/*.j2
    target: Target = HOST
    # Builds the overrides for a target; None when they do not depend on it.
    retarget: Callable[[Target], dict[str, KernelOverride]] | None = None

    def for_target(self, target: Target) -> "Backend":
        if self.retarget is None or target == self.target:
            return self
        return dataclasses.replace(self, target=target, overrides=self.retarget(target))


@dataclass(frozen=True)
class KernelChoice:
    backend: str  # the backend whose template renders this op
    reason: str  # why: "optimized kernel" or the fallback reason
    function: str = ""  # the library function called, when the backend names it
    scratch_bytes: int = 0  # the chosen kernel's scratch on the backend's target


REFERENCE = Backend(name="reference", template_dirs=("reference",),
                    doc="tinyq's portable C99 kernels, bit-exact with TFLM's reference kernels")

_BACKENDS = {b.name: b for b in (REFERENCE,)}


def register(backend: Backend) -> None:
    _BACKENDS[backend.name] = backend


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def get_backend(name: str, board=None) -> Backend:
    """The backend called `name`, bound to `board`'s target (the host's when None)."""
    if name not in _BACKENDS:
        raise TinyqError(f"unknown backend '{name}'", hint=f"choose one of: {', '.join(sorted(_BACKENDS))}")
    backend = _BACKENDS[name]
    return backend.for_target(target_of(board)) if board is not None else backend


def choose_kernels(backend: Backend, lowered_ops) -> tuple[KernelChoice, ...]:
    choices = []
    for k in lowered_ops:
        override = backend.overrides.get(k.kernel)
        if backend is REFERENCE:
            choices.append(KernelChoice("reference", "reference kernel", scratch_bytes=k.scratch_bytes))
        elif k.alias_of is not None:
            choices.append(KernelChoice("reference", "a view of its input: no code"))
        elif override is None:
            choices.append(KernelChoice("reference", f"{backend.name} has no {k.kernel} kernel",
                                        scratch_bytes=k.scratch_bytes))
        else:
            reason = override.applies(k)
            function = override.function(k)
            choices.append(KernelChoice(backend.name, function or f"{backend.name} kernel", function,
                                        override.scratch_bytes(k))
                           if reason is None else KernelChoice("reference", reason, scratch_bytes=k.scratch_bytes))
    return tuple(choices)


def backend_consts(backend: Backend, k: Lowered, choice: KernelChoice) -> tuple[ConstArray, ...]:
    """The extra flash arrays the chosen kernel's call uses (none for the reference)."""
    override = backend.overrides.get(k.kernel) if choice.backend == backend.name else None
    return override.consts(k) if override is not None else ()


# The library backends register themselves on import.
from tinyq.backends import cmsis_nn, esp_nn  # noqa: E402,F401
