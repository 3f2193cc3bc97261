"""Where tinyq's data lives: board files, templates and the firmware harness.

The repository keeps them at its top level (boards/, templates/, firmware/); a wheel
carries them inside the package as tinyq/data/<name> (setup.py maps the folders there
at build time). A checkout or an editable install reads the top-level folders.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tinyq.errors import TinyqError

PACKAGE = Path(__file__).resolve().parent
DATA_FOLDERS = ("boards", "templates", "firmware")


@functools.lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """The folder `name` (one of DATA_FOLDERS) of an installed wheel or of the checkout."""
    if name not in DATA_FOLDERS:
        raise ValueError(name)
    installed = PACKAGE / "data" / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise TinyqError(f"tinyq's {name}/ folder is missing from its installation ({installed})",
                     hint="reinstall tinyq (pip install --force-reinstall tinyq)")


def boards_dir() -> Path:
    return data_dir("boards")


def templates_dir() -> Path:
    return data_dir("templates")


def firmware_dir() -> Path:
    return data_dir("firmware")
