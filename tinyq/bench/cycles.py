"""Estimated Cortex-M55 / M85 cycles from a per-instruction QEMU trace (the model: docs/cycles.md).

QEMU is not cycle-accurate: it counts a 16-lane Helium instruction like a scalar add. This module
replays the instructions one inference executed (QEMU's `-singlestep -d exec,nochain` log, one line
per executed instruction) through a small timing model after the public SLOTHY Cortex-M55 model
(slothy-optimizer/slothy, slothy/targets/arm_v81m/cortex_m55r1.py, itself marked approximate):

- in order, at most one instruction issued per cycle;
- a Helium (MVE) instruction holds its unit for two cycles (the M55 is dual-beat: 4 beats of a
  128-bit vector, 2 per cycle); the units are load/store, integer ALU and multiply/MAC; an
  instruction of another unit may issue on the next cycle (beat-wise overlap), one of the same
  unit waits until the unit is free;
- scalar instructions take one cycle; scalar loads and stores use the load/store unit for that
  cycle; LDM/STM/PUSH/POP (and VLDM/VSTM/VPUSH/VPOP) move two registers a cycle (64-bit bus);
- a taken branch costs one cycle more; a loop's LE branch back is free from the second time it is
  taken in a row (the M55's loop cache); SDIV/UDIV take DIVIDE_CYCLES;
- the M85 variant gives loads and stores separate units (SLOTHY's Cortex-M85 model), nothing more.

It is an estimate, never a time: no result latencies, no memory wait states (tinyq's QEMU boards
run from zero-wait TCM), no store-to-load hazard, no branch prediction beyond the above.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from tinyq.errors import TinyqError

OBJDUMP = "arm-none-eabi-objdump"
OBJDUMP_TIMEOUT_S = 300.0  # a bounded wait: a large image disassembles in seconds
DIVIDE_CYCLES = 4  # the M55's SDIV/UDIV take 2-12 cycles depending on the operands: a middle value
MVE_BEATS_CYCLES = 2  # cycles a Helium instruction holds its unit


@dataclass(frozen=True)
class Instruction:
    address: int
    size: int
    mnemonic: str  # as objdump prints it, condition and size suffixes included: "vldrb.u8", "bne.n"
    operands: str
    function: str

    @property
    def op(self) -> str:
        """The mnemonic without its data type and width suffixes ("vldrb", "bne")."""
        return self.mnemonic.split(".", 1)[0]


@dataclass(frozen=True)
class TimingModel:
    name: str
    separate_load_store: bool  # the M85 issues a load and a store in parallel


MODELS = {"cortex-m55": TimingModel("cortex-m55", False), "cortex-m85": TimingModel("cortex-m85", True)}

# Helium instructions by unit, on the mnemonic without its suffixes (first match wins)
_MVE_MAC = re.compile(r"^v(ml|q?r?dml|q?r?dmul|mul|rmul|fm|cmul|cmla|mla|mls)")
_MVE_LOAD = re.compile(r"^vld[r24]")
_MVE_STORE = re.compile(r"^vst[r24]")
_VECTOR_OPERAND = re.compile(r"\bq\d+\b")
_REGISTER_LIST = re.compile(r"\{([^}]*)\}")
_SCALAR_LOAD = re.compile(r"^(ldr|lda|tbb|tbh)")
_SCALAR_STORE = re.compile(r"^(str|stl)")
_FP_MULTIPLE = ("vpush", "vpop", "vldmia", "vldmdb", "vstmia", "vstmdb")
_LOOP_END = ("le", "letp")


def _base(mnemonic: str) -> str:
    """"bne.n" -> "bne", "ldr.w" -> "ldr", "vldrb.u8" -> "vldrb", "ldmia.w" -> "ldmia"."""
    return mnemonic.split(".", 1)[0]


def _register_count(operands: str) -> int:
    """Registers in a {list} (ranges like d8-d13 count each; a d register is two words)."""
    match = _REGISTER_LIST.search(operands)
    if not match:
        return 1
    words = 0
    for item in match[1].split(","):
        item = item.strip()
        ends = item.split("-")
        span = int(ends[-1][1:]) - int(ends[0][1:]) + 1 if len(ends) == 2 else 1
        words += span * (2 if item.startswith("d") else 1)
    return words


@dataclass(frozen=True)
class Cost:
    unit: str | None  # "load", "store", "alu", "mac" or None (no shared unit)
    hold: int  # cycles the unit is held (Helium: 2)
    issue: int  # cycles before the next instruction may issue


def cost(insn: Instruction, model: TimingModel) -> Cost:
    """The unit an instruction uses and for how long (the rules in the module docstring)."""
    op = _base(insn.mnemonic)
    store_unit = "store" if model.separate_load_store else "load"
    if op in ("sdiv", "udiv"):
        return Cost(None, 0, DIVIDE_CYCLES)
    if op.startswith("v") and _VECTOR_OPERAND.search(insn.operands):
        if _MVE_LOAD.match(op):
            return Cost("load", MVE_BEATS_CYCLES, 1)
        if _MVE_STORE.match(op):
            return Cost(store_unit, MVE_BEATS_CYCLES, 1)
        if op == "vmov" and "[" in insn.operands:  # lanes to or from core registers
            return Cost(None, 0, 1)
        if op in ("vpst", "vpt", "vctp"):
            return Cost(None, 0, 1)
        return Cost("mac" if _MVE_MAC.match(op) else "alu", MVE_BEATS_CYCLES, 1)
    if op in _FP_MULTIPLE or op.startswith(("ldm", "stm", "push", "pop")):
        beats = max(1, -(-_register_count(insn.operands) // 2))
        unit = "load" if op.startswith(("ldm", "pop", "vpop", "vldm")) else store_unit
        return Cost(unit, beats, beats)
    if _SCALAR_LOAD.match(op) or op in ("vldr",):
        return Cost("load", 1, 1)
    if _SCALAR_STORE.match(op) or op in ("vstr",):
        return Cost(store_unit, 1, 1)
    return Cost(None, 0, 1)


@dataclass
class CycleCounter:
    """Feeds executed instructions in order; `cycles` is the estimate so far."""

    model: TimingModel
    now: int = 0  # the cycle the next instruction may issue in
    free: dict = field(default_factory=dict)  # unit -> first cycle it is free
    loop_end: int | None = None  # address of the LE whose branch the loop cache holds

    def step(self, insn: Instruction, taken: bool) -> int:
        """Issue `insn` (`taken`: execution went on elsewhere than the next address); returns the
        cycles it added to the estimate."""
        before = self.cycles
        c = cost(insn, self.model)
        start = max(self.now, self.free.get(c.unit, 0)) if c.unit else self.now
        if c.unit:
            self.free[c.unit] = start + c.hold
        self.now = start + c.issue
        op = _base(insn.mnemonic)
        if op in _LOOP_END:
            if taken and self.loop_end == insn.address:
                self.now = start  # folded into the loop's last instruction: no slot, no penalty
            elif taken:
                self.loop_end = insn.address
                self.now += 1
            else:
                self.loop_end = None
        elif taken:  # a branch (or an exception entry) went elsewhere than the next address
            self.now += 1
        return self.cycles - before

    @property
    def cycles(self) -> int:
        return max([self.now, *self.free.values()])


@dataclass(frozen=True)
class CycleReport:
    instructions: int
    cycles: int
    model: str
    by_unit: dict[str, int]  # Helium instructions (and scalar loads / stores) per unit
    by_function: dict[str, tuple[int, int]]  # function -> (instructions, cycles)
    mve_macs: int  # Helium instructions on the multiply/MAC unit

    def top_functions(self, n: int = 8) -> list[tuple[str, int, int]]:
        ranked = sorted(self.by_function.items(), key=lambda kv: -kv[1][1])
        return [(name, ins, cyc) for name, (ins, cyc) in ranked[:n]]


def estimate(addresses: Iterable[int], program: dict[int, Instruction], model: TimingModel) -> CycleReport:
    """The estimate over executed instruction addresses, in order."""
    counter = CycleCounter(model)
    units: Counter = Counter()
    per_function: dict[str, list[int]] = {}
    macs = 0
    count = 0
    pending: Instruction | None = None

    def issue(insn: Instruction, next_address: int | None) -> None:
        nonlocal macs
        taken = next_address is not None and next_address != insn.address + insn.size
        added = counter.step(insn, taken)
        c = cost(insn, model)
        if c.unit:
            units[c.unit] += 1
            macs += c.unit == "mac"
        entry = per_function.setdefault(insn.function, [0, 0])
        entry[0] += 1
        entry[1] += added

    for address in addresses:
        insn = program.get(address)
        if insn is None:
            raise TinyqError(f"executed address 0x{address:x} is not an instruction of the image",
                             where="cycle estimate", hint="trace and ELF must come from the same build")
        if pending is not None:
            issue(pending, address)
        pending = insn
        count += 1
    if pending is not None:
        issue(pending, None)
    return CycleReport(instructions=count, cycles=counter.cycles, model=model.name, by_unit=dict(units),
                       by_function={k: (v[0], v[1]) for k, v in per_function.items()}, mve_macs=macs)


# --- reading the image and the trace -------------------------------------------------------------

_LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{4} ?){1,2})\s+(\S+)\s*(.*?)\s*(?:@.*)?$")
_FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def disassemble(elf: Path) -> dict[int, Instruction]:
    """Every instruction of the image's code sections by address (objdump, Armv8.1-M with Helium)."""
    tool = shutil.which(OBJDUMP)
    if tool is None:
        raise TinyqError(f"{OBJDUMP} not found", where="cycle estimate",
                         hint="install the Arm GNU toolchain (Debian: binutils-arm-none-eabi)")
    try:
        text = subprocess.run([tool, "-d", "-marmv8.1-m.main", str(elf)], check=True, capture_output=True,
                              text=True, timeout=OBJDUMP_TIMEOUT_S).stdout
    except subprocess.TimeoutExpired:
        raise TinyqError(f"{OBJDUMP} did not finish within {OBJDUMP_TIMEOUT_S:g} s", where=str(elf)) from None
    return parse_disassembly(text)


def parse_disassembly(text: str) -> dict[int, Instruction]:
    program, function = {}, "?"
    for line in text.splitlines():
        head = _FUNCTION.match(line)
        if head:
            function = head[1]
            continue
        m = _LINE.match(line)
        if m:
            address = int(m[1], 16)
            size = 2 * len(m[2].split())
            program[address] = Instruction(address, size, m[3], m[4], function)
    return program


_TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
_REWOUND = "rewound execution of TB"


def trace_addresses(lines: Iterable[str]) -> Iterator[int]:
    """Executed addresses from QEMU's `-singlestep -d exec,nochain` log. With -icount, an instruction
    that touches a device is rewound and executed again: its first line is dropped."""
    pending = None
    for line in lines:
        m = _TRACE.match(line)
        if m:
            if pending is not None:
                yield pending
            pending = int(m[1], 16)
        elif _REWOUND in line:
            pending = None
    if pending is not None:
        yield pending


def call_window(addresses: Iterable[int], entry: int, program: dict[int, Instruction]) -> Iterator[int]:
    """The addresses executed from the first call of the function at `entry` until it returns
    (to the instruction after the call)."""
    previous = None
    it = iter(addresses)
    for address in it:
        if address == entry and previous is not None:
            back = previous + program[previous].size
            yield address
            for inner in it:
                if inner == back:
                    return
                yield inner
            raise TinyqError("the traced call never returned", where="cycle estimate",
                             hint="the firmware stopped inside the function")
        previous = address
    raise TinyqError("the traced run never called the function", where="cycle estimate",
                     hint="check the entry symbol")


def function_address(program: dict[int, Instruction], name: str) -> int:
    addresses = [a for a, insn in program.items() if insn.function == name]
    if not addresses:
        raise TinyqError(f"no function {name} in the image", where="cycle estimate")
    return min(addresses)


def estimate_trace(elf: Path, trace: Path, entry: str, model: TimingModel) -> CycleReport:
    """The estimate for one call of the function `entry` in a trace of `elf`."""
    program = disassemble(elf)
    with open(trace, errors="replace") as lines:
        window = call_window(trace_addresses(lines), function_address(program, entry), program)
        return estimate(window, program, model)


def model_for(core: str) -> TimingModel | None:
    """The timing model of a board's core, None where tinyq has none (only Helium cores)."""
    return MODELS.get(core)


def measure_firmware(elf: Path, board, record: list, output_specs, entry: str,
                     timeout: float = 600.0) -> CycleReport:
    """Boot `elf` on `board`'s QEMU machine (its stand-in's for a real board: the RA8M1's Cortex-M85
    build runs on qemu-m55) with the per-instruction log on, run one input record, and estimate the
    cycles of the call of `entry` (the model's invoke function) with the model of `board`'s core."""
    import tempfile

    from tinyq.run.qemu import qemu_board_for, run_qemu

    model = model_for(board.core)
    if model is None:
        raise TinyqError(f"no cycle model for {board.core}", where=f"board {board.name}",
                         hint=f"cycle estimates exist for {', '.join(MODELS)}")
    with tempfile.TemporaryDirectory(prefix="tinyq-trace-") as tmp:
        trace = Path(tmp) / "exec.log"
        run_qemu(elf, qemu_board_for(board), [record], output_specs, timeout=timeout, trace=trace)
        return estimate_trace(elf, trace, entry, model)
