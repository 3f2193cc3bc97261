"""Run a host test executable over a batch of inputs; optionally trace every tensor."""

from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinyq import proc as child
from tinyq.errors import TinyqError

ENDED_EARLY = "ended early "  # the harness's stderr line for a record whose invoke returned -1


def run_host(exe: Path, inputs: list[list[np.ndarray]], output_specs: list[tuple[tuple[int, ...], np.dtype]],
             trace: bool = False, timeout: float = 300.0):
    """Return (outputs per record, traces per record); a trace maps tensor -> bytes. A record whose invoke
    ended early (a CIRCULAR_BUFFER between its runs: the harness says so on stderr) has None for outputs."""
    stdin = b"".join(np.ascontiguousarray(a).tobytes() for record in inputs for a in record)
    with tempfile.TemporaryDirectory() as tmp:
        trace_path = Path(tmp) / "trace.bin"
        cmd = [str(exe), str(len(inputs))] + ([str(trace_path)] if trace else [])
        try:
            proc = child.run(cmd, input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TinyqError(f"generated model did not finish within {timeout:.0f} s", where=str(exe)) from None
        if proc.returncode != 0:
            raise TinyqError(f"generated model exited with {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace').strip()[:200]}", where=str(exe))
        traces = _read_trace(trace_path.read_bytes(), len(inputs)) if trace else None
    ended_early = {int(line.split()[-1]) for line in proc.stderr.decode(errors="replace").splitlines()
                   if line.startswith(ENDED_EARLY)}
    outputs, pos = [], 0
    data = proc.stdout
    for r in range(len(inputs)):
        if r in ended_early:
            outputs.append(None)
            continue
        record = []
        for shape, dtype in output_specs:
            n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            record.append(np.frombuffer(data[pos:pos + n], dtype=dtype).reshape(shape))
            pos += n
        outputs.append(record)
    if pos != len(data):
        raise TinyqError(f"generated model wrote {len(data)} bytes, expected {pos}", where=str(exe))
    return outputs, traces


def _read_trace(raw: bytes, records: int) -> list[dict[int, bytes]]:
    """Split the trace into records at the harness's (-1, -1, 0) separators."""
    result: list[dict[int, bytes]] = []
    pos = 0
    while pos < len(raw):
        op, tensor, size = struct.unpack_from("<iii", raw, pos)
        pos += 12
        if op == -1:
            result.append({})
        else:
            result[-1][tensor] = raw[pos:pos + size]
        pos += size
    while len(result) < records:
        result.append({})
    return result
