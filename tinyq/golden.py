"""The golden model: TensorFlow Lite Micro's own Python interpreter.

`verify` feeds it the model file exactly as the user gave it: folding and every
other rewrite are tinyq's business, not the oracle's. To compare intermediate
tensors, `with_outputs` extends the file's output list through the flatbuffer
schema's object API (nothing else of the file is interpreted or rewritten), so
TFLM keeps those tensors instead of reusing their memory. That rewrite uses the schema module of TFLM's own
package (present whenever the golden model is), so nothing of the file is lost.
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.tflm_log import TflmLog
from tinyq.tflite.writer import write_model

TFLM_MISSING = ("the golden model needs TFLM's Python package, tflite-micro, which is on PyPI for Linux x86-64 "
                "only", "pip install 'tinyq[tflm]' on Linux x86-64, or run this there")

NO_GOLDEN_HINT = "TFLM is the reference tinyq checks against; tinyq inspect MODEL lists what each op needs"
DEFAULT_ARENA = 32 * 1024 * 1024
MAX_ARENA = 1024 * 1024 * 1024  # a model TFLM cannot load in this much is refused with TFLM's reason
ARENA_SHORT = "Failed to resize buffer"  # TFLM's log when the arena is too small for the model's tensors
ABORT = 15  # TFLM's kTfLiteAbort: an op (CIRCULAR_BUFFER between its runs) ended the invoke early


def tflm_available() -> bool:
    """Whether TFLM's Python package is installed (commands that need the golden model say so)."""
    import importlib.util

    return importlib.util.find_spec("tflite_micro") is not None


def require_tflm() -> None:
    """Fail now, in one line, when a command will need the golden model and it is not installed."""
    if not tflm_available():
        raise TinyqError(TFLM_MISSING[0], hint=TFLM_MISSING[1])


def _tflm_schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    except ImportError:
        raise TinyqError(TFLM_MISSING[0], hint=TFLM_MISSING[1]) from None
    return schema_py_generated


def _interpreter(model: bytes, arena_size: int):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise TinyqError(TFLM_MISSING[0], hint=TFLM_MISSING[1]) from None
    log = TflmLog()
    while True:
        try:
            with log:
                return runtime.Interpreter.from_bytes(model, arena_size=arena_size)
        except Exception as exc:  # TFLM's exception says "failed to allocate"; its log says which node and why
            if ARENA_SHORT in log.text and arena_size < MAX_ARENA:
                # the golden model's arena is only a host buffer: a model with tens of MB of activations
                # (torchaudio's conformer, as LiteRT's tests hold it) needs more than the default
                arena_size = min(2 * arena_size, MAX_ARENA)
                continue
            raise _load_refusal(model, log.reason() or str(exc).strip().splitlines()[-1][:200]) from None


def _load_refusal(model: bytes, reason: str) -> TinyqError:
    """Why TFLM could not load `model`, from the file as tinyq reads it: TFLM's own message for an op it has
    no kernel for ("Didn't find op for builtin opcode") goes to stderr, its exception says only "failed to
    allocate"."""
    from tinyq.tflite.reader import read_model
    from tinyq.tflm_ops import tflm_runs

    try:
        graph = read_model(model)
    except Exception:  # a file tinyq cannot read either: TFLM's own message is the better one
        return TinyqError(f"TFLM could not load the model: {reason}")
    if any(t.dtype == "float16" for t in graph.tensors):
        return TinyqError("TFLM cannot run the model: its weights are float16 (the TFLite converter's "
                          "supported_types=[tf.float16]), which TFLM's DEQUANTIZE does not take",
                          hint="tinyq quantize it to int8, or export the float32 model")
    ops = [op.op for g in (graph, *graph.subgraphs) for op in g.operators]
    missing = dict.fromkeys(op.removeprefix("custom:") if op.startswith("custom:") else op.upper()
                            for op in ops if not tflm_runs(op))
    if missing:
        return TinyqError(f"TFLM cannot run the model: it has no kernel for {', '.join(missing)}",
                          hint=NO_GOLDEN_HINT)
    signatures = [graph.tensors[i].shape_signature for i in graph.inputs]
    if any(s and s[0] < 0 for s in signatures):  # Keras's default export: shapes TFLM cannot prepare
        return TinyqError(f"TFLM could not load the model ({reason}): it was exported with an unknown batch size",
                          hint="re-export with keras.Input(shape, batch_size=1), or tinyq quantize it (the "
                               "batch is fixed at 1)")
    return TinyqError(f"TFLM could not load the model: {reason}")


def tensor_count(model: bytes) -> int:
    """Tensors in the model file's main subgraph."""
    return _tflm_schema().Model.GetRootAs(model, 0).Subgraphs(0).TensorsLength()


def _output_count(model: bytes) -> int:
    return _tflm_schema().Model.GetRootAs(model, 0).Subgraphs(0).OutputsLength()


def tflm_run(model: bytes, inputs: list[list[np.ndarray]], arena_size: int = DEFAULT_ARENA,
             aborts: bool = False, progress=None) -> list[list[np.ndarray] | None]:
    """Outputs of TFLM for each record of inputs. `aborts`: None for a record whose invoke TFLM ended early
    (its Python invoke() returns kTfLiteAbort rather than raising: the outputs hold an older invoke's values).
    `progress(done)` after each record."""
    interp = _interpreter(model, arena_size)
    n_out = _output_count(model)
    results = []
    log = TflmLog()
    for record in inputs:
        for i, array in enumerate(record):
            interp.set_input(array, i)
        try:
            with log:
                ended_early = interp.invoke() == ABORT
        except RuntimeError:  # an op's Eval refused its operands
            raise TinyqError(f"TFLM failed to run the model: {log.reason() or 'its invoke failed'}",
                             hint=NO_GOLDEN_HINT) from None
        results.append(None if aborts and ended_early else [np.array(interp.get_output(i)) for i in range(n_out)])
        if progress is not None:
            progress(len(results))
    return results


def with_outputs(model: bytes, tensors: list[int]) -> bytes:
    """The model file with `tensors` appended to its first subgraph's outputs."""
    obj = _tflm_schema().ModelT.InitFromPackedBuf(model, 0)
    sub = obj.subgraphs[0]
    known = [int(t) for t in (sub.outputs if sub.outputs is not None else [])]
    sub.outputs = known + [t for t in tensors if t not in known]
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tflm_run_tensors(model: bytes, tensors: list[int], inputs: list[list[np.ndarray]],
                     aborts: bool = False, progress=None) -> list[dict[int, np.ndarray] | None]:
    """The values TFLM computes for `tensors` (indices in the file), per record (`aborts`, `progress`: as tflm_run)."""
    exposed = with_outputs(model, tensors)
    order = [int(t) for t in _tflm_schema().ModelT.InitFromPackedBuf(exposed, 0).subgraphs[0].outputs]
    return [None if record is None else dict(zip(order, record))
            for record in tflm_run(exposed, inputs, aborts=aborts, progress=progress)]


def activations(graph: Graph) -> list[int]:
    """Every non-constant op output of `graph`."""
    return [t for op in graph.operators for t in op.outputs if not graph.tensors[t].is_const]


def tflm_run_layers(graph: Graph, inputs: list[list[np.ndarray]]) -> list[dict[int, np.ndarray]]:
    """Every activation TFLM computes for a graph tinyq holds (the quantizer's own models)."""
    return tflm_run_tensors(write_model(graph), activations(graph), inputs)
