"""tinyq from Python: the command line's stages as functions returning the values it prints.

    import tinyq
    model = tinyq.load("kws.tflite")
    report = model.plan(board="ra8m1")                 # tinyq plan: the same report, as a value
    compiled = model.compile(board="qemu-m55")         # every stage up to the generated C
    model.generate("out/kws", board="qemu-m55")        # tinyq generate
    tinyq.build_project("out/kws")                     # tinyq build
    result = model.verify(board="qemu-m55")            # bit-exact with TFLM under QEMU?

The functions live here under the commands' names (`tinyq.api.plan`, `verify`, `quantize`,
`build`, ...); a `Model` has them as methods, and the package exports `load`, `board`,
`all_boards`, `compile`, `generate` and `build_project` (`tinyq.plan`, `tinyq.verify`, ... are the
stages' own packages). Every function takes a model as a `Model`, a path or the .tflite's bytes,
and a board as a `Board` or its name. Results are frozen dataclasses (the CLI formats the same
values); failures raise `tinyq.TinyqError` with the one-line message the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from tinyq.boards import Board, all_boards, get_board
from tinyq.errors import TinyqError
from tinyq.ir import Graph


@dataclass(frozen=True, eq=False)
class Model:
    """A .tflite model: its bytes as given (what TFLM runs) and its graph as tinyq read it."""

    name: str  # the C name of the generated code (tinyq_<name>_invoke)
    data: bytes
    graph: Graph
    path: Path | None = None

    def plan(self, board: BoardLike | None = None, backend: str | None = None, arena: str = "reference"):
        return plan(self, board, backend, arena=arena)

    def compile(self, board: BoardLike = "host", backend: str | None = None, arena: str = "reference"):
        return compile(self, board, backend, arena=arena)

    def generate(self, out_dir: str | Path, board: BoardLike = "host", backend: str | None = None,
                 force: bool = False, arena: str = "reference") -> Generated:
        return generate(self, out_dir, board, backend, force=force, arena=arena)

    def verify(self, board: BoardLike = "host", backend: str | None = None, inputs: int = 100, seed: int = 0,
               layers: bool = False, timeout: float | None = None, arena: str = "reference"):
        return verify(self, board, backend, inputs, seed, layers, timeout, arena=arena)

    def quantize(self, calib, progress: Callable[[str], None] | None = None, **options) -> Quantized:
        return quantize(self, calib, progress, **options)

    def save(self, path: str | Path) -> Path:
        """Write the .tflite (to a temporary file renamed over `path`: never half-written)."""
        from tinyq.codegen.output import write_output_file

        path = Path(path)
        write_output_file(path, self.data)
        return path


ModelLike = Union[Model, str, Path, bytes]
BoardLike = Union[Board, str]


def load(model: ModelLike, name: str | None = None) -> Model:
    """Read and check a .tflite file (a path or its bytes)."""
    from tinyq.tflite.reader import _c_name, read_model

    if isinstance(model, Model):
        return model if name is None else Model(name, model.data, model.graph, model.path)
    if isinstance(model, (bytes, bytearray)):
        data, path, where = bytes(model), None, "model"
    else:
        path = Path(model)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TinyqError(f"cannot read model: {exc.strerror}", where=str(path)) from None
        where = str(path)
    c_name = name or (_c_name(path.stem) if path else "model")
    return Model(c_name, data, read_model(data, where=where, name=c_name), path)


def board(name: BoardLike) -> Board:
    """A board by name (`tinyq boards` lists them): core, memory map, clock, toolchain, QEMU machine."""
    return name if isinstance(name, Board) else get_board(name)


def boards() -> list[Board]:
    """Every board tinyq knows (boards/*.toml)."""
    return all_boards()


def compile(model: ModelLike, board: BoardLike = "host", backend: str | None = None,  # noqa: A001
            name: str | None = None, arena: str = "reference"):
    """Every stage after reading: fold, lower, bind, plan, generate. A `tinyq.driver.Compiled`
    (its `.plan` the memory plan, `.source.files` the generated C by file name). `arena`: as the
    commands' --arena ("reference": at most the reference kernels' arena; "fast": every op's fastest
    kernel, whatever its scratch costs), here and in plan, generate and verify."""
    from tinyq.driver import compile_graph

    m = load(model, name)
    return compile_graph(m.graph, _board(board), backend, m.name, source=m.path.name if m.path else "",
                         model=m.data, arena=arena)


def plan(model: ModelLike, board: BoardLike | None = None, backend: str | None = None, arena: str = "reference"):
    """`tinyq plan`: the memory plan report (`tinyq.plan.report.Report`); with a board, `.fits` and
    `.fit` say whether the arena and the weights fit it."""
    from tinyq import driver
    from tinyq.plan.fit import check_fit, firmware_io_bytes
    from tinyq.plan.flash import plan_flash
    from tinyq.plan.report import plan_report

    m = load(model)
    b = _board(board or "host")
    bound = driver.front(m.graph, b, backend, arena)
    memory = driver.plan(bound)
    flash = plan_flash(bound, b)
    fit = check_fit(memory, flash, b, firmware_io_bytes(bound.graph)) if board else None
    return plan_report(str(m.path or m.name), bound, memory, flash, fit)


@dataclass(frozen=True)
class Generated:
    """What `generate` wrote: the folder, its files, and the arena the model needs."""

    path: Path
    files: tuple[str, ...]
    board: str
    arena_bytes: int


def generate(model: ModelLike, out_dir: str | Path, board: BoardLike = "host", backend: str | None = None,
             name: str | None = None, force: bool = False, arena: str = "reference") -> Generated:
    """`tinyq generate`: the model's C (a host board) or a whole project for a board, written as
    the CLI writes it (staged, then moved into place; `force` replaces a previous tinyq output)."""
    import tempfile

    from tinyq.build.project import generated_files
    from tinyq.codegen.output import check_output_dir, write_output_dir

    out_dir = Path(out_dir)
    check_output_dir(out_dir, force)
    m = load(model, name)
    b = _board(board)
    compiled = compile(m, b, backend, arena=arena)
    if m.path is not None:
        files = generated_files(compiled, b, m.path)
    else:  # a project keeps a copy of the .tflite: write the bytes where generated_files reads them
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / f"{m.name}.tflite"
            copy.write_bytes(m.data)
            files = generated_files(compiled, b, copy)
    path = write_output_dir(out_dir, files, force=force)
    return Generated(Path(path), tuple(sorted(files)), b.name, compiled.plan.arena_bytes)


def build(project_dir: str | Path, board: BoardLike | None = None):
    """`tinyq build`: compile a generated project; a `tinyq.build.commands.Built` (ELF, sizes)."""
    from tinyq.build.commands import build as build_project
    from tinyq.build.project import load_project

    root = Path(project_dir)
    return build_project(root, _board(board or load_project(root).board))


def verify(model: ModelLike, board: BoardLike = "host", backend: str | None = None, inputs: int = 100,
           seed: int = 0, layers: bool = False, timeout: float | None = None, arena: str = "reference"):
    """`tinyq verify`: run the generated code and compare it with TFLM byte for byte.

    The host board returns a `VerifyResult` (`.ok`, `.mismatches`); a QEMU board, or a board with a
    QEMU stand-in, a `QemuReport` (`.ok`, `.result`, instructions, flash and SRAM: `.summary()`).
    Needs TFLM (pip install 'tinyq[tflm]', Linux x86-64)."""
    from tinyq.golden import require_tflm
    from tinyq.verify import HostRunner, verify as run_verify, verify_qemu

    require_tflm()
    b = _board(board)
    compiled = compile(model, b, backend, arena=arena)
    if b.runner != "host":
        if layers:
            raise TinyqError("layers=True compares intermediate tensors on the host only", hint="board='host'")
        return verify_qemu(compiled, b, n_inputs=inputs, seed=seed, timeout=timeout)
    return run_verify(compiled, HostRunner(b), n_inputs=inputs, seed=seed, layers=layers).result


@dataclass(frozen=True, eq=False)
class Quantized:
    """`quantize`'s answer: the int8 model and how it was made (`.result`: config, ranges, checks)."""

    model: Model
    result: object = field(repr=False)  # tinyq.quantize.pipeline.QuantizeResult

    def summary(self) -> str:
        """What `tinyq quantize` prints."""
        from tinyq.quantize.summary import summary_text

        return summary_text(self.result, self.model.name, len(self.model.data))


def quantize(model: ModelLike, calib, progress: Callable[[str], None] | None = None, **options) -> Quantized:
    """`tinyq quantize`: a float model to full-integer int8. `calib`: a .npy/.npz file or folder (as
    --calib), or arrays; `options`: the fields of `tinyq.quantize.config.QuantizeConfig` (io,
    per_channel, observer, weights, flash_budget, bias_correction, equalize, self_check, ...)."""
    from tinyq.quantize.config import QuantizeConfig
    from tinyq.quantize.data import load_calibration
    from tinyq.quantize.pipeline import quantize_graph
    from tinyq.quantize.prepare import prepare_float_graph
    from tinyq.tflite.writer import write_model

    m = load(model)
    try:
        config = QuantizeConfig(**options)
    except TypeError as exc:
        raise TinyqError(f"quantize: {exc}", hint="options are the fields of QuantizeConfig") from None
    if isinstance(calib, (str, Path)):
        calib = load_calibration(Path(calib), prepare_float_graph(m.graph, str(m.path or m.name)))
    elif not isinstance(calib, (list, tuple)) and hasattr(calib, "shape"):
        calib = [calib]  # one array: the samples of a single-input model
    result = quantize_graph(m.graph, calib, config, progress=progress, where=str(m.path or m.name))
    return Quantized(load(write_model(result.graph), name=m.name), result)


def _board(b: BoardLike) -> Board:
    return board(b)
