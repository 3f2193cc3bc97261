"""Packaging glue pyproject.toml cannot express: the repository keeps boards/, templates/ and
firmware/ at its top level; a wheel carries them as the data packages tinyq.data.<folder>
(tinyq/resources.py finds them in either place)."""

from pathlib import Path

from setuptools import find_packages, setup

DATA_FOLDERS = ("boards", "templates", "firmware")


def data_packages() -> dict[str, str]:
    """{"tinyq.data.templates.cmsis_nn": "templates/cmsis_nn", ...}: every folder, so files in
    subfolders are package data of their own package."""
    packages = {}
    for top in DATA_FOLDERS:
        for folder in [Path(top), *sorted(p for p in Path(top).rglob("*") if p.is_dir())]:
            if "__pycache__" not in folder.parts:
                packages["tinyq.data." + ".".join(folder.parts)] = folder.as_posix()
    return packages


DATA = data_packages()

setup(
    packages=find_packages(include=["tinyq", "tinyq.*"]) + sorted(DATA),
    package_dir=DATA,
    package_data={name: ["*"] for name in DATA},
    exclude_package_data={name: ["*.pyc"] for name in DATA},
)
