"""Recurrent ops in the quantizer (UNIDIRECTIONAL_SEQUENCE_LSTM): their cell state's statistics, and their
integer weights, biases and state tensors, as the op's RecurrentRule (tinyq/ops/base.py) describes them.

Calibration: LiteRT shows the float op's output at every step but its cell state only as the last step
leaves it, so the op's own float model (RecurrentRule.float_run, numpy) computes every step's cell from
the input LiteRT computed, starting from the state LiteRT's variable tensors held before the sample. The
state so carries over from one calibration sample to the next, as LiteRT's interpreter (and TFLM, and
tinyq's generated code) carry it from one invoke to the next, while the two float implementations never
drift apart over more than one sample; the float model's output must agree with LiteRT's on every sample
(FLOAT_AGREEMENT), so the cell it reports is the model's. Carrying the state rather than starting each
sample from zero covers a streaming model (one frame per invoke), whose cell a reset calibration would
leave saturating; a model that takes a whole sequence per invoke may get a cell range a power of two wider
than from reset state, one bit of the int16 cell.

Cell state: int16, zero point 0, scale 2^ceil(log2(max |cell|)) / 32768 - the TFLite converter's choice
(prepare_quantize_lstm.h, power_of_two_bound): TFLM's integer tanh of the cell needs a power-of-two scale
(CreateLstmCellStateInfo takes its log2). The output state takes the output's type and parameters: the
kernel writes it into the output, and TFLM's reset fills it with its zero point (0.0).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph, Operator, Quant
from tinyq.quantize import qparams
from tinyq.quantize.observers import TensorStats
from tinyq.quantize.rules import RULES
from tinyq.quantize.weights import quantize_weights

# the most tinyq's float model and LiteRT's float kernel may differ by at an output (values within +-1):
# float32 rounding over one sample's steps stays far below it; a wrong gate order or state is far above
FLOAT_AGREEMENT = 1e-3
# exponents of the cell's power-of-two bound: a scale in [2^-43, 2^2], where TFLM's tanh of the cell
# neither overflows nor shifts out of range (tinyq/ops/lstm.py)
CELL_BOUND_POWERS = (-28, 17)
INT16_STEPS = 32768


def recurrent_ops(graph: Graph) -> list[Operator]:
    return [op for op in graph.operators if op.op in RULES and RULES[op.op].recurrent is not None]


def cell_tensors(graph: Graph) -> list[int]:
    return [op.inputs[RULES[op.op].recurrent.cell_state] for op in recurrent_ops(graph)]


class CellObserver:
    """Every step's cell state of each recurrent op, sample after sample (keyed by the cell-state tensor)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.ops = recurrent_ops(graph)
        self.states: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # op -> LiteRT's state after the last sample

    @property
    def state_tensors(self) -> list[int]:
        """The variable tensors LiteRT must show after each sample (FloatRunner.run's `tensors`)."""
        return [op.inputs[p] for op in self.ops for p in (RULES[op.op].recurrent.output_state,
                                                             RULES[op.op].recurrent.cell_state)]

    def observe(self, values: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """`values`: the sample's activations as LiteRT computed them (each op's input and output among them)
        and its state tensors after the sample."""
        cells = {}
        for op in self.ops:
            rule = RULES[op.op]
            x = values[op.inputs[rule.activation_inputs[0]]]
            y, cell, _ = rule.recurrent.float_run(self.graph, op, x, self.states.get(op.index))
            self.states[op.index] = tuple(np.asarray(values[op.inputs[p]], dtype=np.float32)
                                          for p in (rule.recurrent.output_state, rule.recurrent.cell_state))
            litert = np.asarray(values[op.outputs[0]], dtype=np.float32)
            gap = float(np.max(np.abs(y - litert))) if y.shape == litert.shape else math.inf
            if not gap <= FLOAT_AGREEMENT:
                raise TinyqError(f"tinyq's float {op.op} differs from LiteRT's by {gap:.3g} at op {op.index}'s "
                                 "output, so it cannot calibrate the cell state", where=self.graph.name,
                                 hint="this is a tinyq bug")
            cells[op.inputs[rule.recurrent.cell_state]] = cell
        return cells


def cell_quant(stats: TensorStats) -> Quant:
    """int16 at 2^ceil(log2(max |cell|)) / 32768: the smallest power-of-two range holding every cell seen."""
    bound = max(abs(stats.lo), abs(stats.hi))
    mantissa, exponent = math.frexp(bound) if bound > 0 else (0.5, 1)  # bound = mantissa * 2^exponent
    power = exponent - 1 if mantissa == 0.5 else exponent
    power = min(max(power, CELL_BOUND_POWERS[0]), CELL_BOUND_POWERS[1])
    return Quant(scale=(2.0 ** power / INT16_STEPS,), zero_point=(0,))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def quantize_recurrent_op(graph: Graph, op: Operator, inputs: tuple[int, ...], tensors: list, acts: dict,
                          stats: dict[int, TensorStats], width: str, bias_dtype: str, clip: str) -> int:
    """Writes the op's state tensors, int8 weights and biases into `tensors` (the integer graph's, where
    `inputs` are the tensors the op reads); returns the op's version."""
    rule = RULES[op.op].recurrent
    out = acts[op.outputs[0]]
    state, cell = op.inputs[rule.output_state], op.inputs[rule.cell_state]
    tensors[state] = replace(graph.tensors[state], dtype=out.dtype, quant=out.quant)
    if cell not in stats:
        raise TinyqError(f"op {op.index} ({op.op}) has no calibrated cell state", where=graph.name,
                         hint="its int16 cell scale comes from calibration data: quantize it with tinyq quantize")
    tensors[cell] = replace(graph.tensors[cell], dtype="int16", quant=cell_quant(stats[cell]))
    for w_pos, data_pos, b_pos in rule.weights:
        w = np.asarray(graph.tensors[op.inputs[w_pos]].data, dtype=np.float32)
        s_data = tensors[inputs[data_pos]].quant.s
        qw = quantize_weights(w, 0, "int8", per_channel=False, clip=clip)  # TFLM reads one scale per matrix
        if b_pos is not None:
            b = np.asarray(graph.tensors[op.inputs[b_pos]].data, dtype=np.float64)
            floor = qparams.min_weight_scales_for_bias(b, s_data, qw.scales, bias_dtype)
            if np.any(floor > qw.scales):
                qw = quantize_weights(w, 0, "int8", per_channel=False, clip=clip, min_scales=floor)
            b_t = graph.tensors[op.inputs[b_pos]]
            scale = float(qparams.bias_scales(s_data, qw.scales).astype(np.float32)[0])
            tensors[b_t.index] = replace(b_t, dtype=bias_dtype, quant=Quant(scale=(scale,), zero_point=(0,)),
                                         data=_frozen(qparams.quantize_bias(b, s_data, qw.scales, bias_dtype)))
        w_t = graph.tensors[op.inputs[w_pos]]
        tensors[w_t.index] = replace(w_t, dtype="int8", data=_frozen(qw.q),
                                     quant=Quant(scale=(float(qw.scales[0]),), zero_point=(0,)))
    return dict(rule.versions)[width]


def recurrent_lines(result) -> list[str]:
    """What `tinyq quantize` says of each recurrent op: its weights' type and its cell state's scale."""
    lines = []
    for op in recurrent_ops(result.float_graph):  # tensor indices are the integer graph's too
        rule = RULES[op.op].recurrent
        cell = result.graph.tensors[op.inputs[rule.cell_state]]
        seen = result.stats.get(cell.index)
        largest = f" (|cell| up to {max(abs(seen.lo), abs(seen.hi)):.3g} seen)" if seen is not None else ""
        lines.append(f"op {op.index} ({op.op}): int8 weights per tensor (TFLM's LSTM takes no other), int16 cell "
                     f"state at 2^{round(math.log2(cell.quant.s))}{largest}")
    return lines
