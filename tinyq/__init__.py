"""tinyq: .tflite models in, bit-exact static C for microcontrollers out.

The pipeline, one module per stage, each handing plain dataclasses to the next:
tflite (read/write) -> ir -> quantize -> lower (ops) -> plan -> codegen/backends
-> build -> run/serial. `tinyq.driver` strings the stages together.

From Python (tinyq/api.py; README "Python API"):

    import tinyq
    model = tinyq.load("kws.tflite")
    model.plan(board="ra8m1").arena_bytes
    model.generate("out/kws", board="qemu-m55")
    model.verify(board="qemu-m55").ok
"""

__version__ = "0.1.0"

# The API is imported on first use: `import tinyq` (and the command line) stays light.
# (tinyq.plan, tinyq.verify, tinyq.build, tinyq.quantize are the stages' packages: the functions of those
# names are tinyq.api's and Model's methods.)
_API = {"Model": "Model", "Generated": "Generated", "Quantized": "Quantized", "load": "load", "board": "board",
        "all_boards": "boards", "compile": "compile", "generate": "generate", "build_project": "build"}
__all__ = list(_API) + ["Board", "TinyqError", "UnsupportedError", "__version__"]


def __getattr__(name: str):
    if name in _API:
        from tinyq import api

        return getattr(api, _API[name])
    if name == "Board":
        from tinyq.boards import Board

        return Board
    if name in ("TinyqError", "UnsupportedError"):
        from tinyq import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'tinyq' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
