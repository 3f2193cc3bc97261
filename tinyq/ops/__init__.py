"""The op table: every module in this package contributes `SPECS`, a list of OpSpec.

Modules are discovered, not listed, so adding an op touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil

from tinyq.ops.base import OpSpec

_BY_NAME: dict[str, OpSpec] = {}
_BY_BUILTIN: dict[str, OpSpec] = {}


def _load() -> None:
    if _BY_NAME:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in _BY_NAME or spec.builtin in _BY_BUILTIN:
                raise RuntimeError(f"op {spec.name} / {spec.builtin} described twice ({info.name})")
            _BY_NAME[spec.name] = spec
            _BY_BUILTIN[spec.builtin] = spec


def by_builtin(builtin: str) -> OpSpec | None:
    _load()
    return _BY_BUILTIN.get(builtin)


def by_name(name: str) -> OpSpec | None:
    _load()
    return _BY_NAME.get(name)


def all_specs() -> list[OpSpec]:
    _load()
    return sorted(_BY_NAME.values(), key=lambda s: s.name)
