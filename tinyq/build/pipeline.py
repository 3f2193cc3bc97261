"""`tinyq generate FRONTEND.tflite CLASSIFIER.tflite --stride N`: two models in one project.

Each model is compiled on its own (its own arena, weights and entry points: tinyq_<name>_*) and
their sources go side by side; kernel files both use are the same file. The streaming glue
(firmware/tq_pipeline.c, bound to the two models by the generated tq_pipeline_config.h) joins
them: tinyq/pipeline.py says what it computes. Bare-metal firmware projects also get the glue's
serial commands (firmware/tq_pipeline_dut.c, through tq_dut.c's tq_dut_extension), so the
benchmark firmware `tinyq qemu` / `tinyq flash` builds takes audio
and answers a label; Pico SDK and ESP-IDF projects get the glue's C API only.

The project is the classifier's as far as the rest of tinyq is concerned (its name, its .tflite
as the golden model of `tinyq run` and `tinyq bench`, its tq_model.h for the harnesses); the
manifest's "pipeline" entry adds the frontend and the glue's parameters, which
`load_pipeline` reads back for the serial client.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tinyq import __version__
from tinyq.boards import Board
from tinyq.build.firmware import FIRMWARE_SRC
from tinyq.build.project import MANIFEST, generated_files, load_project, project_kind
from tinyq.codegen import GeneratedSource
from tinyq.codegen.generate import environment
from tinyq.driver import Compiled, compile_file
from tinyq.errors import TinyqError
from tinyq.pipeline import PipelineShape, pipeline_shape

GLUE = ("tq_pipeline.h", "tq_pipeline.c")
DUT_GLUE = "tq_pipeline_dut.c"  # the serial commands: they include the bare-metal firmware's headers
# Vendor SDK projects compile-check the model folder on its own (and ESP-IDF keeps it in a component):
# they get the glue's C API, not its serial commands.
WITH_COMMANDS = ("firmware",)
SCORE_TYPES = {"float32": (0, "float"), "int8": (1, "int8_t"), "uint8": (2, "uint8_t"), "int16": (3, "int16_t"),
               "int32": (4, "int32_t")}


@dataclass(frozen=True)
class PipelineBuild:
    frontend: Compiled
    classifier: Compiled
    shape: PipelineShape
    frontend_path: Path
    classifier_path: Path


def file_hash(path: Path) -> str:
    """16 hex digits of the file's SHA-256, as the benchmark firmware reports its model's."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def compile_pipeline(frontend_path: Path, classifier_path: Path, board: Board, backend: str | None = None,
                     stride: int | None = None, labels: tuple[str, ...] | None = None) -> PipelineBuild:
    frontend = compile_file(frontend_path, board, backend=backend)
    classifier = compile_file(classifier_path, board, backend=backend)
    if frontend.source.name == classifier.source.name:
        raise TinyqError(f"both models are named '{frontend.source.name}' in C", where=str(classifier_path),
                         hint="give the two .tflite files different names")
    shape = pipeline_shape(frontend.graph, classifier.graph, stride, labels,
                           where=f"{Path(frontend_path).name} -> {Path(classifier_path).name}")
    score = classifier.graph.tensors[classifier.graph.outputs[0]]
    if score.dtype not in SCORE_TYPES:
        raise TinyqError(f"the classifier's first output is {score.dtype}; the glue reads scores of "
                         + ", ".join(SCORE_TYPES), where=str(classifier_path))
    return PipelineBuild(frontend=frontend, classifier=classifier, shape=shape, frontend_path=Path(frontend_path),
                         classifier_path=Path(classifier_path))


def _config_header(p: PipelineBuild) -> str:
    graph = p.classifier.graph
    outputs, offset = [], 0
    for i in graph.outputs:
        outputs.append({"bytes": graph.tensors[i].nbytes, "offset": offset})
        offset += graph.tensors[i].nbytes
    score = graph.tensors[graph.outputs[0]]
    code, ctype = SCORE_TYPES[score.dtype]
    quantized = score.quant is not None and score.dtype != "float32"
    models = {role: {"name": c.source.name, "file": path.name, "hash": file_hash(path)}
              for role, c, path in (("frontend", p.frontend, p.frontend_path),
                                    ("classifier", p.classifier, p.classifier_path))}
    feature = p.frontend.graph.tensors[p.frontend.graph.outputs[0]]
    return environment().get_template("firmware/tq_pipeline_config.h.j2").render(
        version=__version__, shape=p.shape, outputs=outputs, **models, feature_int8=int(feature.dtype == "int8"),
        score_int8=int(score.dtype == "int8"),
        score={"type": code, "ctype": ctype, "scale": repr(float(score.quant.s)) + "f" if quantized else "1.0f",
               "zero_point": score.quant.zp if quantized else 0})


def merged_source(p: PipelineBuild, with_commands: bool) -> GeneratedSource:
    """Both models' sources and the glue, as one GeneratedSource named after the classifier."""
    files: dict[str, str] = {}
    for compiled in (p.frontend, p.classifier):
        for rel, text in compiled.source.files.items():
            if files.get(rel, text) != text:
                raise TinyqError(f"the two models generate different {rel}", hint="this is a tinyq bug")
            files[rel] = text
    for rel in GLUE + ((DUT_GLUE,) if with_commands else ()):
        files[rel] = (FIRMWARE_SRC / rel).read_text()
    files["tq_pipeline_config.h"] = _config_header(p)
    libraries = tuple(dict.fromkeys(p.frontend.source.libraries + p.classifier.source.libraries))
    return GeneratedSource(name=p.classifier.source.name, files=files, libraries=libraries)


def pipeline_files(p: PipelineBuild, board: Board) -> dict[str, str | bytes]:
    """What `tinyq generate FRONTEND CLASSIFIER` writes for `board`."""
    kind = project_kind(board)
    source = merged_source(p, with_commands=kind in WITH_COMMANDS)
    files = generated_files(dataclasses.replace(p.classifier, source=source), board, p.classifier_path)
    if kind == "host":
        return files
    frontend_copy = f"{p.frontend.source.name}.tflite"
    files[frontend_copy] = p.frontend_path.read_bytes()
    manifest = json.loads(files[MANIFEST])
    manifest["pipeline"] = {"frontend": p.frontend.source.name, "frontend_file": frontend_copy,
                            "classifier": p.classifier.source.name, "window": p.shape.window,
                            "stride": p.shape.stride, "frames": p.shape.frames, "labels": list(p.shape.labels)}
    files[MANIFEST] = json.dumps(manifest, indent=2) + "\n"
    return files


@dataclass(frozen=True)
class PipelineProject:
    root: Path
    frontend_path: Path
    classifier_path: Path
    stride: int
    labels: tuple[str, ...]


def load_pipeline(root: Path) -> PipelineProject:
    """The pipeline a project generated from two models holds (its manifest's "pipeline" entry)."""
    project = load_project(root)
    data = json.loads((project.root / MANIFEST).read_text()).get("pipeline")
    if not isinstance(data, dict):
        raise TinyqError("the project holds one model, not a frontend and a classifier", where=str(project.root),
                         hint="tinyq generate FRONTEND.tflite CLASSIFIER.tflite -o DIR --board B --stride N")
    try:
        frontend = project.root / str(data["frontend_file"])
        stride, labels = int(data["stride"]), tuple(str(x) for x in data["labels"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TinyqError(f"bad pipeline entry in {MANIFEST} ({type(exc).__name__}: {exc})", where=str(project.root),
                         hint="regenerate the project") from None
    if not frontend.is_file():
        raise TinyqError(f"the frontend's copy {frontend.name} is missing", where=str(project.root),
                         hint="regenerate the project")
    return PipelineProject(root=project.root, frontend_path=frontend, classifier_path=project.model_path,
                           stride=stride, labels=labels)


def summary(p: PipelineBuild) -> str:
    s = p.shape
    return (f"  pipeline: {p.frontend.source.name} over {s.window} samples every {s.stride}, "
            f"{s.frames} rows of {s.feature_bytes} bytes -> {p.classifier.source.name} ({s.classes} classes: "
            f"{', '.join(s.labels)}); arenas {p.frontend.plan.arena_bytes:,} + {p.classifier.plan.arena_bytes:,} B")


def generate_pipeline(frontend_path: Path, classifier_path: Path, out_dir: Path, force: bool, board: Board,
                      backend: str | None, stride: int | None, labels: tuple[str, ...] | None) -> str:
    """`tinyq generate FRONTEND CLASSIFIER -o DIR`: write the project; returns what to tell the user."""
    from tinyq.codegen.output import write_output_dir

    p = compile_pipeline(frontend_path, classifier_path, board, backend, stride, labels)
    files = pipeline_files(p, board)
    out = write_output_dir(out_dir, files, force=force)
    kind = project_kind(board)
    then = (f" ({board.name} project: tinyq qemu {out_dir}, then tinyq classify)" if kind in WITH_COMMANDS
            else f" ({board.name} project)" if kind != "host" else "")
    return f"wrote {len(files)} files to {out}{then}\n" + summary(p)
