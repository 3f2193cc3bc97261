"""What a float32 model costs on a board, and what its int8 version would: the line `tinyq inspect`
prints for models with float ops.

Flash and arena are exact for the float model (its constants and its planned arena) and
estimated for int8 (weights a quarter of their float32 bytes, activations a quarter of the
arena). Instructions are estimated from the model's multiply-accumulates (convolutions, fully
connected, batch matmul; other ops count one per output element) times instructions per
multiply-accumulate measured on MLPerf Tiny's ResNet-8 (12.5 M of them) under QEMU:

    tinyq verify ../shared/models/mlperf-tiny/ic_resnet8_float32.tflite --board qemu-m55        76,027,500
    tinyq verify ../shared/models/mlperf-tiny/ic_resnet8_float32.tflite --board qemu-m0-an385   1,989,005,200
    tinyq verify ../shared/models/mlperf-tiny/ic_resnet8_int8.tflite --board qemu-m55           34,962,375
    tinyq verify ../shared/models/mlperf-tiny/ic_resnet8_int8.tflite --board qemu-m0-an385      73,683,360
    ... ic_resnet8_int8.tflite --board qemu-m55 --backend cmsis-nn                               3,055,875
    ... ic_resnet8_int8.tflite --board qemu-m0-an385 --backend cmsis-nn                          97,573,640

(instructions per inference, tinyq at the commit that added this file). An estimate for one
model class: a model dominated by other ops (element-wise math, softmax) differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph

RESNET8_MACS = 12_530_442  # macs() of ic_resnet8_float32.tflite (and of its int8 twin)

# (float ABI, backend) -> measured instructions for ResNet-8 (module docstring)
_FLOAT_INSTRUCTIONS = {"hard": 76_027_500, "soft": 1_989_005_200}
_INT8_INSTRUCTIONS = {("hard", "reference"): 34_962_375, ("soft", "reference"): 73_683_360,
                      ("hard", "cmsis-nn"): 3_055_875, ("soft", "cmsis-nn"): 97_573_640}
_BOARD_CLASS = {"hard": "Cortex-M55/M85 with its FPU (qemu-m55)", "soft": "ARMv6-M, soft float (qemu-m0-an385)"}


def _numel(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def macs(graph: Graph) -> int:
    """Multiply-accumulates of the convolutions, fully connected layers and matrix products; one per
    output element for every other op."""
    total = 0
    for op in graph.operators:
        ins, outs = graph.op_inputs(op), graph.op_outputs(op)
        out = _numel(outs[0].shape) if outs else 0
        if op.op in ("conv_2d", "depthwise_conv_2d") and len(ins) > 1 and ins[1] is not None:
            w = ins[1].shape
            total += out * w[1] * w[2] * (w[3] if op.op == "conv_2d" else 1)
        elif op.op == "fully_connected" and len(ins) > 1 and ins[1] is not None:
            total += out * ins[1].shape[-1]
        elif op.op == "transpose_conv" and len(ins) > 2 and ins[2] is not None:
            w = ins[1].shape
            total += _numel(ins[2].shape) * w[0] * w[1] * w[2]
        elif op.op == "batch_matmul" and ins and ins[0] is not None:
            adj_x = getattr(op.options, "adj_x", False)
            total += out * ins[0].shape[-2 if adj_x else -1]
        else:
            total += out
    return total


def float_abi(board) -> str | None:
    """'hard' for a board with a floating-point unit tinyq has measured (Arm FPU), 'soft' for Arm
    cores without one, None elsewhere (the host, Xtensa)."""
    features = set(board.isa_features)
    if board.core.startswith("cortex-m"):
        return "hard" if features & {"fpu-sp", "fpu-dp", "mve-fp"} else "soft"
    return None


@dataclass(frozen=True)
class FloatCost:
    float_ops: int
    weights_bytes: int  # float32 constants of the float ops
    arena_bytes: int | None
    macs: int
    abi: str | None
    float_instructions: int | None
    int8_instructions: dict[str, int]  # backend -> estimate

    def lines(self, model: str) -> list[str]:
        int8_weights = self.weights_bytes // 4
        text = [f"  float32: {self.float_ops} op(s) run TFLM's float reference arithmetic (no CMSIS-NN/ESP-NN "
                f"float kernels): {self.weights_bytes:,} B of float weights"
                + (f", arena {self.arena_bytes:,} B" if self.arena_bytes is not None else "")
                + f"; as int8 about {int8_weights:,} B of weights"
                + (f" and an arena about {self.arena_bytes // 4:,} B" if self.arena_bytes is not None else "")]
        if self.float_instructions is not None:
            int8 = ", ".join(f"{n / 1e6:,.1f} M with {backend}" for backend, n in self.int8_instructions.items())
            text.append(f"    {self.macs / 1e6:.2f} M multiply-accumulates: about {self.float_instructions / 1e6:,.1f} M "
                        f"instructions on {_BOARD_CLASS[self.abi]}; as int8 about {int8} (estimates from ResNet-8, "
                        "tinyq/float_cost.py)")
        else:
            text.append(f"    {self.macs / 1e6:.2f} M multiply-accumulates (instruction estimates: --board qemu-m55 "
                        "or --board rp2040)")
        text.append(f"    smaller and faster as int8: tinyq quantize {model} --calib DATA.npy -o "
                    f"{_int8_name(model)}")
        return text


def _int8_name(model: str) -> str:
    stem = model[:-len(".tflite")] if model.endswith(".tflite") else model
    return f"{stem}_int8.tflite"


def float_cost(graph: Graph, board, arena_bytes: int | None) -> FloatCost | None:
    """The cost line's figures, or None when the model has no float32 op."""
    float_ops = [op for op in graph.operators
                 if any(t is not None and t.dtype == "float32" for t in graph.op_outputs(op))
                 and op.op not in ("dequantize",)]
    if not float_ops:
        return None
    weights = sum(t.nbytes for op in float_ops for t in graph.op_inputs(op)
                  if t is not None and t.is_const and t.dtype == "float32")
    count = macs(graph)
    abi = float_abi(board)
    float_ins, int8_ins = None, {}
    if abi is not None:
        float_ins = round(count * _FLOAT_INSTRUCTIONS[abi] / RESNET8_MACS)
        int8_ins = {backend: round(count * n / RESNET8_MACS) for (a, backend), n in _INT8_INSTRUCTIONS.items()
                    if a == abi}
    return FloatCost(float_ops=len(float_ops), weights_bytes=weights, arena_bytes=arena_bytes, macs=count, abi=abi,
                     float_instructions=float_ins, int8_instructions=int8_ins)
