"""The host side of the firmware's capture mode (firmware/tq_capture.h), over a Link.

`tinyq-inputs` describes the model's inputs (type, shape, quantization, name), so a capture needs no
model file on the host; `tinyq-capture N` returns the records: the bytes of every input, back to back,
of each frame the firmware's sensor delivered and the model then ran on. Where the sensor is the UART
stand-in (QEMU, tinyq's tests), each frame is first fed with `db load` / `db` (Dut.load).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, Quant, Tensor
from tinyq.serial.dut import HEX, RETRIES, TINYQ_LINE
from tinyq.serial.link import MAX_LINE, DeviceError, GarbledReply, Link

INPUT_FIELDS = re.compile(r"^([a-z0-9]+),([0-9x]+),([-+.0-9eE]+|inf|nan),(-?[0-9]+),(.*)$")


@dataclass(frozen=True)
class InputSpec:
    """One model input as the firmware describes it."""

    dtype: str
    shape: tuple[int, ...]
    scale: float  # 0 when not quantized
    zero_point: int
    name: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * DTYPES[self.dtype][1]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.shape[1:] if self.shape and self.shape[0] == 1 else self.shape

    def tensor(self) -> Tensor:
        """As a graph tensor (for the conversions that take one)."""
        quant = Quant((self.scale,), (self.zero_point,)) if self.scale > 0 else None
        return Tensor(index=0, name=self.name, dtype=self.dtype, shape=self.shape, quant=quant)

    def describe(self) -> str:
        quant = f", scale {self.scale:g}, zero point {self.zero_point}" if self.scale > 0 else ""
        return f"'{self.name}' {self.dtype} {'x'.join(map(str, self.shape))}{quant}"


def parse_input(text: str, where: str) -> InputSpec:
    m = INPUT_FIELDS.match(text)
    if not m or m.group(1) not in DTYPES:
        raise GarbledReply(f"bad input description '{text[:60]}'", where=where)
    shape = tuple(int(d) for d in m.group(2).split("x") if d)
    return InputSpec(dtype=m.group(1), shape=shape, scale=float(m.group(3)), zero_point=int(m.group(4)),
                     name=m.group(5))


class CaptureDevice:
    """`tinyq-inputs` and `tinyq-capture` over a Link already in step with the device."""

    def __init__(self, link: Link):
        self.link = link
        self.specs: tuple[InputSpec, ...] = ()

    @property
    def frame_bytes(self) -> int:
        return sum(s.nbytes for s in self.specs)

    def inputs(self) -> tuple[InputSpec, ...]:
        try:
            lines = self.link.command("tinyq-inputs", answers=True)
        except DeviceError:
            raise TinyqError("the firmware has no capture mode (it does not know 'tinyq-inputs')",
                             where=self.link.url, hint="rebuild and flash it with this tinyq: tinyq flash DIR "
                             "(QEMU: tinyq qemu DIR)") from None
        specs = [parse_input(m.group(2), self.link.url) for m in map(TINYQ_LINE.match, lines)
                 if m and m.group(1) == "input"]
        if not specs:
            raise GarbledReply("the reply to 'tinyq-inputs' describes no input", where=self.link.url)
        self.specs = tuple(specs)
        return self.specs

    def capture(self, frames: int = 1, timeout: float | None = None) -> list[bytes]:
        """`frames` records from the sensor (fewer if it runs dry after the first); `timeout` per frame."""
        per_frame = self.link.timeout if timeout is None else timeout
        try:
            lines = self.link.command(f"tinyq-capture {frames}", timeout=per_frame * frames, silence=per_frame,
                                      max_line=max(MAX_LINE, 2 * self.frame_bytes + 64), answers=True)
        except DeviceError as exc:
            if "no frame" in str(exc):
                raise TinyqError("the device's sensor gave no frame", where=self.link.url,
                                 hint="a firmware whose sensor is the UART stand-in (QEMU) needs --sensor FILE"
                                 ) from None
            raise
        records, count = [], None
        for m in map(TINYQ_LINE.match, lines):
            if m and m.group(1) == "record":
                if not HEX.match(m.group(2)) or len(m.group(2)) != 2 * self.frame_bytes:
                    raise GarbledReply(f"a record of {len(m.group(2)) // 2} bytes; the inputs take {self.frame_bytes}",
                                       where=self.link.url)
                records.append(bytes.fromhex(m.group(2)))
            elif m and m.group(1) == "captured" and m.group(2).isdigit():
                count = int(m.group(2))
        if count is None or count != len(records):
            raise GarbledReply(f"the reply to 'tinyq-capture {frames}' holds {len(records)} records and "
                               f"{'no count' if count is None else f'the count {count}'}", where=self.link.url)
        return records

    def take(self, feed=None, timeout: float | None = None) -> bytes:
        """One record; `feed()` first gives the sensor its data (the UART stand-in's frame, a pipeline's
        audio). After a garbled reply the link is resynced and the exchange tried once more (fed again;
        a real sensor gives its next frame)."""
        for attempt in range(RETRIES + 1):
            try:
                if feed is not None:
                    feed()
                return self.capture(1, timeout)[0]
            except GarbledReply:
                if attempt == RETRIES:
                    raise
                if self.link.sync(after="a bad reply to 'tinyq-capture 1'"):
                    raise self.link.reset("tinyq-capture 1", "boot banner while resyncing after a bad reply") from None

    def decode(self, records: list[bytes]) -> list[np.ndarray]:
        """The records as one array per input: N x its sample shape, in the input's own type."""
        arrays, pos = [], 0
        for spec in self.specs:
            raw = b"".join(r[pos:pos + spec.nbytes] for r in records)
            arrays.append(np.frombuffer(raw, dtype=DTYPES[spec.dtype][0]).reshape((len(records),) + spec.sample_shape))
            pos += spec.nbytes
        return arrays
