"""Child processes that die with tinyq: QEMU, pyocd, picotool, compilers, SDK builds.

Every program tinyq starts goes through `popen` or `run` here. The child gets its own
process group, so stopping it (`stop`) kills whatever it started too, and on Linux the
kernel's parent-death signal (prctl PR_SET_PDEATHSIG = SIGKILL): however tinyq ends, by
an exception, Ctrl-C, SIGTERM or even SIGKILL, which runs no Python code at all, the
child is killed with it. Two limits of the mechanism:
- the signal fires when the *thread* that started the child ends, so long-lived children
  (QEMU) are started from the thread that owns them (tinyq's main thread);
- a grandchild (cc1 under gcc, ninja under cmake) is killed with the group by `stop`,
  but outlives a SIGKILL of tinyq for as long as it runs by itself.
Elsewhere (macOS, Windows) only the process group and the cleanup on tinyq's own way
out apply: a SIGKILL of tinyq can leave a child running there.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl():
    """libc's prctl on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()  # looked up once here: the child between fork and exec only calls it


def _child_setup(parent: int):
    """What the child runs between fork and exec: own group, death signal, and no race."""
    prctl = _PRCTL

    def setup() -> None:
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            # tinyq died between fork and prctl: the signal was never armed, so go now.
            if os.getppid() != parent:
                os._exit(1)
    return setup


def popen(argv, **kwargs) -> subprocess.Popen:
    """subprocess.Popen whose child dies with tinyq; stdin defaults to /dev/null (a child in its
    own process group that read the terminal would be stopped by SIGTTIN)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if os.name == "posix":
        kwargs["preexec_fn"] = _child_setup(os.getpid())
    else:
        kwargs.setdefault("creationflags", getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))
    return subprocess.Popen(argv, **kwargs)


def stop(proc: subprocess.Popen) -> int:
    """Kill the child and its process group, if it still runs, and reap it; returns its status."""
    if proc.poll() is None:  # not reaped yet, so its pid still names its group
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)  # the group's id is the child's pid (setpgid(0, 0))
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            proc.kill()
    return proc.wait()


def run(argv, *, input=None, timeout: float | None = None, capture_output: bool = False,
        check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run through `popen`: on a timeout, Ctrl-C or any exception the whole process
    group is killed before the exception goes on (TimeoutExpired carries the output so far)."""
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    with popen(argv, **kwargs) as proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            stop(proc)
            stdout, stderr = proc.communicate()
            raise subprocess.TimeoutExpired(exc.cmd, exc.timeout, output=stdout, stderr=stderr) from None
        except BaseException:
            stop(proc)
            raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


TOOL_TIMEOUT_S = 900.0  # one compile, link or archive step; TINYQ_TOOL_TIMEOUT (seconds) overrides


def tool_timeout() -> float:
    from tinyq.errors import TinyqError

    text = os.environ.get("TINYQ_TOOL_TIMEOUT", "")
    if not text:
        return TOOL_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise TinyqError(f"TINYQ_TOOL_TIMEOUT={text} is not a number of seconds above 0",
                         hint=f"unset it for the default ({TOOL_TIMEOUT_S:g} s)")
    return value


def run_tool(argv, what: str, where: str, **kwargs) -> subprocess.CompletedProcess:
    """`run` for a compiler, linker or archiver: within tool_timeout(), else one TinyqError (the
    process group killed), so a wedged toolchain never holds tinyq for ever."""
    from tinyq.errors import TinyqError

    limit = tool_timeout()
    try:
        return run(argv, timeout=limit, **kwargs)
    except subprocess.TimeoutExpired:
        raise TinyqError(f"{what} took more than {limit:g} s and was stopped", where=where,
                         hint="a loaded or slow machine: raise TINYQ_TOOL_TIMEOUT (seconds)") from None
