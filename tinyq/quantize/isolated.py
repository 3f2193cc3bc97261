"""The quantizer's native runs in a forked child: an abort in native code becomes one error line.

TFLM's Python interpreter trusts the model it is given: a model whose shapes or parameters
slipped past every check can make it abort (SIGABRT) or read out of bounds (SIGSEGV), and
that would take the user's whole process with it - a traceback-free death with nothing
written, or, inside a notebook, the kernel. LiteRT, given a malformed float model, can too (a
string tensor did). So every TFLM run, and LiteRT's first look at the float model (prepare.py),
forks: the child runs the interpreter with its
stdout/stderr (TFLM's MicroPrintf log, C code writing straight to fd 2) captured in a file,
pickles the result back through a pipe and exits; the parent turns a death by a signal into a
TinyqError naming the signal and the log's first line, and a refusal into the same one-line
error with TFLM's own reason. Forking costs a few milliseconds; TFLM is imported before it.

The child gets the kernel's parent-death signal (tinyq/proc.py's mechanism): however tinyq ends,
even by SIGKILL, the child goes with it. Forking is Linux's here (TFLM's Python package exists for
Linux x86-64 only); elsewhere - LiteRT's float runs on macOS and Windows - the call runs in-process.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import tempfile
import traceback
from typing import Callable, TypeVar

import numpy as np

from tinyq import golden, tflm_log
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ir import Graph
from tinyq.proc import _PRCTL, PR_SET_PDEATHSIG

T = TypeVar("T")
FORKS = sys.platform.startswith("linux")  # macOS: fork after loading system frameworks is unsafe; Windows: none
LOG_LINE = 160  # characters of TFLM's log kept in an error line
CRASH_HINT = "the model's shapes or values are probably inconsistent: tinyq inspect MODEL shows its ops"


class NativeCrash(TinyqError):
    """The child died (a signal, or an exit before replying): the interpreter's native code ended it."""

    def __init__(self, what: str, where: str | None = None, hint: str | None = None, death: str = "",
                 detail: str = "", aborted: bool = False):
        super().__init__(what, where, hint)
        self.death = death  # "crashed (SIGABRT)", ...
        self.detail = detail  # what follows the death in `what`: the known cause, the op refused, or the log
        self.aborted = aborted  # SIGABRT: an assertion in the native code


class _RemoteTraceback(Exception):
    """The child's traceback of an unexpected exception, chained as its cause (as concurrent.futures does)."""

    def __init__(self, text: str):
        super().__init__(text)

    def __str__(self) -> str:
        return "\n" + self.args[0]


def _child(fn: Callable[..., T], args: tuple, out: int, log: int) -> None:
    """Runs in the forked child: never returns (os._exit), whatever happens."""
    status = 0
    try:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the parent too: it reports it
        faulthandler.disable()  # its dump goes to a descriptor of its own, past the captured log
        os.dup2(log, 1)
        os.dup2(log, 2)
        tflm_log.IN_CHILD = True  # golden quotes TFLM's log from this file, which a crash must keep
        try:
            reply = ("ok", fn(*args))
        except TinyqError as exc:
            reply = ("refused", type(exc), exc.what, exc.where, exc.hint)
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it again
            reply = ("error", exc, traceback.format_exc())
        try:
            data = pickle.dumps(reply)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text does
            data = pickle.dumps(("error", RuntimeError(repr(reply[1])[:1000]), reply[2]))
        with os.fdopen(out, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape into the copy of the parent's stack
        status = 1
    finally:
        os._exit(status)


def _log_line(log_file) -> str:
    """The first informative line of what the child wrote (TFLM's log)."""
    log_file.seek(0)
    for line in log_file.read(1 << 16).decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            return line[:LOG_LINE]
    return ""


def in_child(fn: Callable[..., T], *args, doing: str = "running the quantized model", where: str | None = None,
             graph: Graph | None = None, engine: str = "TFLM") -> T:
    """fn(*args) in a forked child: its result, or its TinyqError, or a TinyqError when it dies (naming the
    first op of `graph`, the model TFLM ran, that tinyq's own support checks refuse: they mirror TFLM's)."""
    if not FORKS:
        return fn(*args)
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as log_file:
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_end)
            _child(fn, args, write_end, log_file.fileno())
        os.close(write_end)
        try:
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
        except BaseException:  # Ctrl-C or anything else: the child does not outlive the call
            _kill(pid)
            raise
        log = _log_line(log_file)
    if not data:  # it died before replying
        death = _death(status)
        aborted = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGABRT
        asserted = known_abort(graph) if graph is not None and aborted else None
        refusal = first_refusal(graph) if graph is not None and asserted is None else None
        if asserted is not None:
            detail, hint = f"; {asserted[0]}", asserted[1]
        elif refusal is not None:
            detail, hint = f"; its {refusal.where}: {refusal.what}", refusal.hint
        else:
            detail, hint = (f": {log}" if log else ""), CRASH_HINT
        raise NativeCrash(f"{engine} {death} while {doing}{detail}", where=where, hint=hint, death=death,
                          detail=detail, aborted=aborted)
    reply = pickle.loads(data)
    if reply[0] == "ok":
        return reply[1]
    if reply[0] == "refused":
        kind, what, error_where, hint = reply[1:]
        # TFLM refusing to load a model it was handed (a 12-input CONCATENATION of an unrolled PyTorch LSTM):
        # tinyq's check of the op says what and what to do, where the crash hint would blame the float model
        refusal = first_refusal(graph) if graph is not None and hint is None else None
        if refusal is not None:
            raise TinyqError(f"{what}; its {refusal.where}: {refusal.what}", where=error_where or where,
                             hint=refusal.hint)
        if log and tflm_log.short(log) not in what:  # the native log says why; the interpreter's exception often does not
            what = f"{what} ({log})"
        raise kind(what, where=error_where or where, hint=hint or CRASH_HINT)
    exc, text = reply[1], reply[2]
    raise exc from _RemoteTraceback(text)


# TFLM's int8 SOFTMAX divides by 2^(bits over unit + 23) with gemmlowp's RoundingDivideByPOT, which asserts the
# exponent is at most 31: its exps, each at most 1, must sum below 512
SOFTMAX_INT8_TIES = 512


def known_abort(graph: Graph) -> tuple[str, str] | None:
    """(what, hint) of an assertion TFLM's kernels are known to hit on some values of this graph, where tinyq's
    kernels give a result: what a SIGABRT most likely was."""
    for op in graph.operators:
        x = graph.tensors[op.inputs[0]] if op.op == "softmax" else None
        if x is not None and x.dtype == "int8" and x.shape and x.shape[-1] >= SOFTMAX_INT8_TIES:
            return (f"its op {op.index} (softmax) is int8 over {x.shape[-1]} values, and TFLM's int8 SOFTMAX aborts "
                    f"when {SOFTMAX_INT8_TIES} or more of them tie at the maximum",
                    "int16 activations (tinyq quantize --activations int16) take TFLM's int16 SOFTMAX, which does not")
    return None


def first_refusal(graph: Graph) -> UnsupportedError | None:
    """What tinyq's lowering says of the first op it cannot take (its checks are TFLM's Prepare's)."""
    from tinyq.lower import lower_op

    for op in graph.operators:
        try:
            lower_op(graph, op)
        except UnsupportedError as exc:
            return exc
        except Exception:  # noqa: BLE001 - a diagnosis only: a model that broke TFLM may break a check too
            continue
    return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"crashed ({name})"
    return f"exited with status {os.WEXITSTATUS(status)}"


def _import_tflm() -> None:
    """TFLM's modules imported here, once, before forking: importing them takes about 0.5 s, which every
    child would otherwise pay again (an 8-candidate self-check of a small model: 1 s -> 6 s)."""
    try:
        from tflite_micro.python.tflite_micro import runtime  # noqa: F401
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated  # noqa: F401
    except ImportError:
        pass  # the child raises golden's one-line error


def tflm_run(model: bytes, inputs: list[list[np.ndarray]], graph: Graph | None = None,
             where: str | None = None) -> list[list[np.ndarray]]:
    """golden.tflm_run in a child; `graph`: the model as tinyq holds it, to name the op behind a crash."""
    _import_tflm()
    return in_child(golden.tflm_run, model, inputs, where=where, graph=graph)


def tflm_run_layers(graph: Graph, inputs: list[list[np.ndarray]], where: str | None = None
                    ) -> list[dict[int, np.ndarray]]:
    """golden.tflm_run_layers in a child."""
    _import_tflm()
    return in_child(golden.tflm_run_layers, graph, inputs, doing="running every layer of the quantized model",
                    where=where, graph=graph)
