"""The device under test: the MLPerf Tiny commands and tinyq's own, over a Link.

Parses replies strictly (a reply missing a line it must have is garbled) and
retries an idempotent exchange once after resyncing; loading an input starts
over from `db load` when a line was lost. Firmware that is not tinyq's, or that
holds another model, is refused by `check_model`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyq.errors import TinyqError
from tinyq.serial.link import MAX_LINE, DeviceError, GarbledReply, Link

TINYQ_LINE = re.compile(r"^m-tinyq-([a-z-]+)-\[(.*)\]$")
TICKS_LINE = re.compile(r"^m-tinyq-ticks-([0-9]+)$")
LAP_LINE = re.compile(r"^m-lap-us-([0-9]+)$")
RESULTS_LINE = re.compile(r"^m-results-\[([^]]+)\]$")
NAME_LINE = re.compile(r"^m-name-dut-\[([^]]+)]$")
HEX = re.compile(r"^[0-9a-f]*$")
DB_BYTES_PER_LINE = 120  # tinyq firmware takes 255-character commands (the MLPerf runner sends 31 bytes)
RETRIES = 1
RESULT_CHARS = 10  # "-1234.567," : the widest value of an m-results-[...] line


@dataclass(frozen=True)
class DeviceInfo:
    model: str
    hash: str
    board: str
    mlperf: str
    arena_bytes: int
    input_bytes: int
    output_bytes: int
    db_bytes: int
    tick_hz: int
    clock_hz: int
    qemu_icount_shift: int  # -1 on hardware

    @property
    def on_qemu(self) -> bool:
        return self.qemu_icount_shift >= 0


@dataclass(frozen=True)
class TimedRuns:
    ticks: tuple[int, ...]  # one per timed inference (that ran, or ended early)
    outputs: bytes | None  # every output, back to back, of the last run; None: it ended early
    ended_early: bool = False  # the last run's invoke returned -1 (a CIRCULAR_BUFFER: TFLM's kTfLiteAbort)


INFO_FIELDS = {"model": ("model", str), "hash": ("hash", str), "board": ("board", str), "mlperf": ("mlperf", str),
               "arena": ("arena_bytes", int), "input-bytes": ("input_bytes", int),
               "output-bytes": ("output_bytes", int), "db-bytes": ("db_bytes", int), "tick-hz": ("tick_hz", int),
               "clock-hz": ("clock_hz", int), "qemu": ("qemu_icount_shift", int)}


class Dut:
    def __init__(self, link: Link):
        self.link = link
        self.output_bytes = 0  # known after info(): sizes the longest reply line

    def _exchange(self, cmd: str, parse, timeout: float | None = None, silence: float | None = None,
                  max_line: int = MAX_LINE):
        """Send `cmd`, parse its reply (which has lines); after a garbled reply resync and try once more."""
        for attempt in range(RETRIES + 1):
            try:
                return parse(self.link.command(cmd, timeout, silence, max_line, answers=True))
            except GarbledReply:
                if attempt == RETRIES:
                    raise
                self._resync(cmd)

    def _resync(self, cmd: str) -> None:
        """Back in step after a bad reply to `cmd`; a reboot seen meanwhile is the real story."""
        if self.link.sync(after=f"a bad reply to '{cmd}'"):
            raise self.link.reset(cmd, "boot banner while resyncing after a bad reply")

    def name(self) -> str:
        def parse(lines):
            for line in lines:
                m = NAME_LINE.match(line)
                if m:
                    return m.group(1)
            raise GarbledReply("no m-name-dut-[...] line in the reply to 'name'", where=self.link.url)
        return self._exchange("name", parse)

    def info(self) -> DeviceInfo:
        def parse(lines):
            values = {}
            for line in lines:
                m = TINYQ_LINE.match(line)
                if m and m.group(1) in INFO_FIELDS:
                    key, kind = INFO_FIELDS[m.group(1)]
                    try:
                        values[key] = kind(m.group(2))
                    except ValueError:
                        raise GarbledReply(f"bad value in '{line}'", where=self.link.url) from None
            missing = [k for k, _ in INFO_FIELDS.values() if k not in values]
            if missing:
                raise GarbledReply(f"the 'tinyq' reply lacks {', '.join(missing)}", where=self.link.url)
            return DeviceInfo(**values)
        try:
            info = self._exchange("tinyq", parse)
            self.output_bytes = info.output_bytes
            return info
        except DeviceError:
            raise TinyqError("the device does not run tinyq's benchmark firmware (it does not know the "
                             "'tinyq' command)", where=self.link.url,
                             hint="flash it: tinyq flash DIR --board B (QEMU: tinyq qemu DIR)") from None

    def check_model(self, info: DeviceInfo, model_path: Path, expected_hash: str) -> None:
        if info.hash != expected_hash:
            raise TinyqError(f"wrong firmware: the device runs model '{info.model}' (hash {info.hash}), "
                             f"not {Path(model_path).name} (hash {expected_hash})", where=self.link.url,
                             hint=f"flash the firmware built from {Path(model_path).name}: tinyq flash DIR --board B")

    def load(self, data: bytes, per_line: int = DB_BYTES_PER_LINE) -> None:
        """`db load N` then `db <hex>` lines; starts over once when a line is lost or garbled."""
        for attempt in range(RETRIES + 1):
            try:
                self._load_once(data, per_line)
                return
            except (GarbledReply, DeviceError):
                if attempt == RETRIES:
                    raise
                self._resync(f"db load {len(data)}")

    def _load_once(self, data: bytes, per_line: int) -> None:
        reply = self.link.command(f"db load {len(data)}", answers=True)
        if reply != [f"m-[Expecting {len(data)} bytes]"]:
            raise GarbledReply(f"unexpected reply to 'db load {len(data)}': {reply}", where=self.link.url)
        for start in range(0, len(data), per_line):
            chunk = data[start:start + per_line]
            last = start + len(chunk) >= len(data)
            reply = self.link.command("db " + chunk.hex(), answers=last)
            if reply != (["m-load-done"] if last else []):
                raise GarbledReply(f"unexpected reply to db line at byte {start}: {reply}", where=self.link.url)

    def timed_runs(self, runs: int, warmups: int, output_bytes: int, timeout: float | None = None,
                   may_end_early: bool = False) -> TimedRuns:
        """`tinyq-infer`: per-run ticks and the raw outputs. `timeout` (default: the link's) is per
        inference: warmups print nothing, so the silence allowed is one timeout per warmup and one
        more; the whole reply gets one per inference. A run whose invoke ends early (a CIRCULAR_BUFFER
        between its runs) ends the reply: TimedRuns(ended_early=True) when `may_end_early`, else an error."""
        def parse(lines):
            ticks, outputs, ended = [], None, None
            for line in lines:
                m = TICKS_LINE.match(line)
                if m:
                    ticks.append(int(m.group(1)))
                    continue
                m = TINYQ_LINE.match(line)
                if m and m.group(1) == "outputs" and HEX.match(m.group(2)):
                    outputs = bytes.fromhex(m.group(2))
                elif m and m.group(1) == "ended-early" and m.group(2).isdigit():
                    ended = int(m.group(2))
            if ended is not None and outputs is None and len(ticks) == ended + 1 <= runs:
                return TimedRuns(ticks=tuple(ticks), outputs=None, ended_early=True)
            if len(ticks) != runs or outputs is None or len(outputs) != output_bytes:
                got = "no outputs" if outputs is None else f"{len(outputs)} output bytes"
                raise GarbledReply(f"reply to 'tinyq-infer {runs} {warmups}' has {len(ticks)} of {runs} "
                                   f"timings and {got} (expected {output_bytes})", where=self.link.url)
            return TimedRuns(ticks=tuple(ticks), outputs=outputs)
        per_run = self.link.timeout if timeout is None else timeout
        timed = self._exchange(f"tinyq-infer {runs} {warmups}", parse, timeout=per_run * (1 + warmups + runs),
                               silence=per_run * (1 + warmups), max_line=max(MAX_LINE, 2 * output_bytes + 64))
        if timed.ended_early and not may_end_early:
            raise TinyqError(f"timed run {len(timed.ticks) - 1} ended early: the model's invoke returned -1 "
                             "(a CIRCULAR_BUFFER between its runs, TFLM's kTfLiteAbort), so it has no outputs",
                             where=self.link.url, hint="time a model that runs on every invoke, or use tinyq verify")
        return timed

    def infer(self, runs: int, warmups: int, timeout: float | None = None) -> dict:
        """The MLPerf `infer N W` exchange as the official runner parses it (`timeout` per inference)."""
        def parse(lines):
            laps = [int(m.group(1)) for m in map(LAP_LINE.match, lines) if m]
            results = [m.group(1) for m in map(RESULTS_LINE.match, lines) if m]
            if len(laps) != 2 or len(results) != 1:
                raise GarbledReply(f"reply to 'infer' has {len(laps)} of 2 timestamps and {len(results)} of 1 "
                                   "results lines", where=self.link.url)
            try:
                values = [float(x) for x in results[0].split(",")]
            except ValueError:
                raise GarbledReply(f"bad results line '{results[0][:60]}'", where=self.link.url) from None
            return {"elapsed_us": laps[1] - laps[0], "results": values}
        per_run = self.link.timeout if timeout is None else timeout
        return self._exchange(f"infer {runs} {warmups}", parse, timeout=per_run * (1 + warmups + runs),
                              silence=per_run * (1 + warmups + runs),
                              max_line=max(MAX_LINE, RESULT_CHARS * self.output_bytes + 64))
