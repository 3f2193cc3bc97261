"""The cycle estimate (tinyq/bench/cycles.py, docs/cycles.md): its timing rules on hand-written
instruction sequences, the objdump and QEMU-log readers, and one traced firmware run whose
instruction count must agree with QEMU's -icount timer."""

from __future__ import annotations

import shutil

import pytest

from tinyq.bench import cycles
from tinyq.bench.cycles import Instruction, MODELS, estimate, parse_disassembly, trace_addresses

M55, M85 = MODELS["cortex-m55"], MODELS["cortex-m85"]


def program(*lines: str, start: int = 0x100) -> tuple[dict[int, Instruction], list[int]]:
    """Straight-line code from "mnemonic operands" lines (4-byte instructions); the addresses in order."""
    prog, address = {}, start
    for line in lines:
        mnemonic, _, operands = line.partition(" ")
        prog[address] = Instruction(address, 4, mnemonic, operands.strip(), "f")
        address += 4
    return prog, sorted(prog)


def cycles_of(*lines: str, model=M55) -> int:
    prog, order = program(*lines)
    return estimate(order, prog, model).cycles


def test_scalar_instructions_take_a_cycle_each():
    assert cycles_of("adds r0, r0, #1", "mov r1, r2", "ldr r3, [r4]", "str r3, [r5]", "mul r0, r1, r2") == 5


def test_helium_instructions_of_one_unit_wait_for_it():
    # each multiply-accumulate holds the MAC unit two cycles (dual-beat)
    assert cycles_of("vmlav.s8 r0, q0, q1", "vmlava.s8 r0, q0, q2") == 4
    assert cycles_of(*["vldrb.u8 q0, [r0], #16"] * 4) == 8


def test_helium_instructions_of_different_units_overlap():
    pairs = ["vldrb.u8 q0, [r0], #16", "vmlava.s8 r2, q0, q1"] * 4
    assert cycles_of(*pairs) == 9  # one a cycle, the last MAC finishing a cycle later
    # load, ALU and MAC units side by side; a scalar instruction slots between vector ones
    assert cycles_of("vldrw.u32 q0, [r0]", "vadd.i32 q1, q1, q0", "vqrdmulh.s32 q2, q2, q3", "adds r0, #1") == 4


def test_the_m85_variant_loads_and_stores_in_parallel():
    code = ["vldrb.u8 q0, [r0]", "vstrb.8 q1, [r1]"] * 2
    assert cycles_of(*code, model=M55) == 8  # one load/store unit
    assert cycles_of(*code, model=M85) == 5


def test_register_lists_move_two_words_a_cycle():
    assert cycles_of("push {r4, r5, r6, r7, r8, r9, sl, fp, lr}") == 5
    assert cycles_of("vpush {d8-d13}") == 6  # six doubles: twelve words
    assert cycles_of("pop {r4, pc}") == 1
    assert cycles_of("sdiv r0, r1, r2") == cycles.DIVIDE_CYCLES


def test_a_taken_branch_costs_a_cycle_more():
    prog, _ = program("adds r0, #1", "bne.n 0x10c", "adds r1, #1", "adds r2, #1")
    assert estimate([0x100, 0x104, 0x10c], prog, M55).cycles == 3 + 1  # taken
    assert estimate([0x100, 0x104, 0x108, 0x10c], prog, M55).cycles == 4  # not taken: falls through


def test_loop_end_is_free_once_the_loop_cache_holds_it():
    prog, _ = program("adds r0, #1", "le lr, 0x100", "adds r1, #1")
    three_iterations = [0x100, 0x104, 0x100, 0x104, 0x100, 0x104, 0x108]
    # first LE: a slot and the taken-branch cycle; the second: folded; the last (falls through): a slot
    assert estimate(three_iterations, prog, M55).cycles == 3 + 2 + 0 + 1 + 1


def test_report_counts_units_and_functions():
    prog, order = program("vldrb.u8 q0, [r0]", "vmlav.s8 r0, q0, q1", "vmlava.s8 r0, q0, q2", "adds r0, #1")
    report = estimate(order, prog, M55)
    assert report.instructions == 4 and report.mve_macs == 2
    assert report.by_unit == {"load": 1, "mac": 2}
    assert report.by_function == {"f": (4, report.cycles)}


OBJDUMP = """
00000868 <tq_mve_block_copied>:
     868:\te92d 4ff0 \tstmdb\tsp!, {r4, r5, r6, r7, r8, r9, sl, fp, lr}
     86c:\ted2d 8b0c \tvpush\t{d8-d13}
     870:\tb087      \tsub\tsp, #28
     872:\t9e1c      \tldr\tr6, [sp, #112]\t@ 0x70
     8a2:\tecb7 1e10 \tvldrb.u8\tq0, [r7], #16
     8b2:\teef0 cf06 \tvmlav.s8\tip, q0, q3
"""


def test_objdump_lines_become_instructions():
    prog = parse_disassembly(OBJDUMP)
    assert sorted(prog) == [0x868, 0x86c, 0x870, 0x872, 0x8a2, 0x8b2]
    assert (prog[0x870].size, prog[0x872].size, prog[0x8a2].size) == (2, 2, 4)
    assert prog[0x872].operands == "r6, [sp, #112]"  # objdump's comment dropped
    assert prog[0x8b2].mnemonic == "vmlav.s8" and prog[0x8b2].function == "tq_mve_block_copied"
    assert cycles.cost(prog[0x8b2], M55).unit == "mac" and cycles.cost(prog[0x8a2], M55).unit == "load"


def test_qemu_log_drops_rewound_instructions():
    log = ["Trace 0: 0x7f50dc000100 [0080044a/0000151c/00000150/ff020201] Reset_Handler",
           "Trace 0: 0x7f50dc000440 [0080044a/00001522/00000150/ff020201] Reset_Handler",
           "cpu_io_recompile: rewound execution of TB to 00001522",
           "Trace 0: 0x7f50dc0005c0 [0080044a/00001522/00000150/ff038201] Reset_Handler",
           "Trace 0: 0x7f50dc0005c0 [0080044a/00001524/00000150/ff038201] Reset_Handler"]
    assert list(trace_addresses(log)) == [0x151c, 0x1522, 0x1524]


def test_call_window_runs_from_entry_to_the_return_address():
    prog, _ = program("bl 0x10c", "adds r0, #1", "nop", "adds r1, #1", "bx lr")
    executed = [0x100, 0x10c, 0x110, 0x104, 0x108]
    assert list(cycles.call_window(executed, 0x10c, prog)) == [0x10c, 0x110]


needs_qemu = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None
    or shutil.which(cycles.OBJDUMP) is None, reason="needs arm-none-eabi-gcc, objdump and qemu-system-arm")


@needs_qemu
def test_traced_firmware_agrees_with_the_icount_timer(tmp_path):
    """The trace counts every instruction of one inference; QEMU's timer (31.25 instructions a tick
    on qemu-m55) must agree to within two ticks, and the estimate is above one cycle an instruction
    only by what the Helium units and branches add."""
    from test_qemu import small_model
    from tinyq.bench.firmware import _cycles
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph
    from tinyq.verify import verify_qemu

    board = get_board("qemu-m55")
    compiled = compile_graph(small_model(seed=6), board, backend="cmsis-nn")
    report = verify_qemu(compiled, board, n_inputs=4, work_dir=tmp_path)
    assert report.result.ok
    estimate_ = _cycles(compiled, board, tmp_path, seed=0)
    timed = report.run.instructions[-1]  # the same random record as _cycles traces
    assert abs(estimate_.instructions - timed) <= 63
    assert estimate_.instructions < estimate_.cycles < 3 * estimate_.instructions
    assert sum(i for i, _ in estimate_.by_function.values()) == estimate_.instructions
