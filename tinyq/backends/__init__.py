"""Kernel backends: ordered layers of optimized kernels over tinyq's reference kernels.

A *layer* is a package here (`tinyq/backends/<layer>/`) whose modules each declare
`KERNELS`, a list of `tinyq.ops.base.Kernel`: an optimized implementation of one
lowered kernel, its call template (templates/<layer>/<kernel>.c.j2) and the
conditions under which it reproduces TFLM. A *backend* is what a user picks
(`--backend`): the layers it tries, most specific first. The reference kernels,
declared by the ops themselves, always come last, so any op a layer does not
cover, or whose conditions it does not meet, falls back to tinyq's reference
kernel with each layer's reason recorded (tinyq/bind.py).

Adding an optimized kernel is one module in its layer plus its template; adding a
backend is one `Backend` line below plus its layer package.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

from tinyq import ops
from tinyq.errors import TinyqError
from tinyq.libraries import LIBRARIES
from tinyq.ops.base import HOST, Kernel, Target

REFERENCE_LAYER = "reference"


@dataclass(frozen=True)
class Backend:
    name: str
    layers: tuple[str, ...]  # layer packages tried in order before the reference kernels
    library: str = ""  # the C library its kernels call (tinyq.libraries), if any
    doc: str = ""

    @property
    def project_context(self) -> dict:
        """Values for its templates/<layer>/project/*.j2 (the library's pinned release)."""
        if not self.library:
            return {}
        lib = LIBRARIES[self.library]
        key = self.library.replace("-", "_")
        return {f"{key}_version": lib.version, f"{key}_commit": lib.commit, f"{key}_repository": lib.repository,
                **({f"{key}_component": lib.component} if lib.component else {})}


_CMSIS, _ESP = LIBRARIES["cmsis-nn"], LIBRARIES["esp-nn"]
BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("reference", (), doc="tinyq's portable C99 kernels, bit-exact with TFLM's reference kernels"),
    Backend("cmsis-nn", ("tq_mve", "tq_mve_inplace", "tq_mve_single", "cmsis_nn"), library="cmsis-nn",
            doc=f"Arm CMSIS-NN {_CMSIS.version} s8 and s4 kernels (pure C, DSP or Helium, as the target has), "
                "with tinyq's own Helium kernels first on MVE targets"),
    Backend("esp-nn", ("esp_nn",), library="esp-nn",
            doc=f"Espressif ESP-NN {_ESP.version} s8 kernels (S3 SIMD on esp32s3, plain C elsewhere)"),
)}


def backend_names() -> list[str]:
    return sorted(BACKENDS)


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise TinyqError(f"unknown backend '{name}'", hint=f"choose one of: {', '.join(backend_names())}")
    return BACKENDS[name]


# board ISA feature -> library code path, first match wins
_ISA_BY_FEATURE = (("mve-int", "mve"), ("dsp", "dsp"), ("esp32s3-simd", "esp32s3"))


def target_of(board) -> Target:
    """The Target of a tinyq.boards.Board (the host's when None)."""
    if board is None:
        return HOST
    features = set(board.isa_features)
    isa = next((isa for feature, isa in _ISA_BY_FEATURE if feature in features), "scalar")
    compiler = "armclang" if "armclang" in board.toolchain.cc else "gcc"
    return Target(isa=isa, compiler=compiler, board=board.name)


def collect_kernels(package: str, path) -> dict[str, Kernel]:
    """`KERNELS` of every module in a layer package, by the kernel name each implements."""
    found: dict[str, Kernel] = {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for kernel in getattr(module, "KERNELS", ()):
            if kernel.name in found:
                raise RuntimeError(f"{package}: kernel {kernel.name} declared twice ({info.name})")
            found[kernel.name] = kernel
    return found


@functools.lru_cache(maxsize=None)
def layer(name: str) -> tuple[str, dict[str, Kernel]]:
    """(display name, kernels by name) of a layer; the reference layer is the ops' own kernels."""
    if name == REFERENCE_LAYER:
        return REFERENCE_LAYER, reference_kernels()
    module = importlib.import_module(f"{__name__}.{name}")
    return module.NAME, collect_kernels(module.__name__, module.__path__)


def reference_kernels() -> dict[str, Kernel]:
    """Every reference kernel the op descriptions declare (several ops may share one)."""
    found: dict[str, Kernel] = {}
    for spec in ops.all_specs():
        for kernel in spec.kernels:
            if found.setdefault(kernel.name, kernel) is not kernel:
                raise RuntimeError(f"reference kernel {kernel.name} declared twice (op {spec.name})")
    return found


def layer_library(name: str) -> str:
    """The C library a layer's kernels call ('' for tinyq's own kernels)."""
    if name == REFERENCE_LAYER:
        return ""
    return getattr(importlib.import_module(f"{__name__}.{name}"), "LIBRARY", "")


def chain(backend: Backend) -> tuple[str, ...]:
    """The layers binding tries for `backend`, the reference last."""
    return backend.layers + (REFERENCE_LAYER,)
