"""UNIDIRECTIONAL_SEQUENCE_LSTM, integer: TFLM's standard LSTM with int16 cell state.

int8 activations (int8 weights, int32 biases) or 16x8 (int16 activations, int8 weights, int64
biases), both with an int16 cell state, exactly as TFLM's lstm_eval.h computes them. TFLM runs the
standard (Keras) LSTM only: all four gates with input and recurrent weights and a bias, no CIFG,
peephole, projection or layer normalization (its Prepare fails on any of those tensors), so tinyq
refuses them too.

Each step (lstm_eval.h LstmStep), per unit: every gate is the sum, saturated to int16, of two
fully connected outputs on the Q3.12 grid (2^-12), each saturated to int16: the input's (with the
bias) and the previous hidden state's; then sigmoid (the cell gate: tanh, the fused activation) from
TFLM's 256-entry sigmoid table onto Q0.15. The cell becomes
sat16(sat16(forget * cell) + sat16(input * cell_gate)), clipped to +-cell_clip if one is given; the
hidden state is tanh(cell) * output gate on the hidden state's grid. The output at each step is the
new hidden state. Hidden and cell state are variable tensors: they carry over from one invoke to the
next (tinyq/plan/state.py), which is how streaming models run one frame per invoke.

The fully connected biases are folded offline with the zero-point terms into effective biases
(int32 arithmetic wraps exactly as TFLM's accumulator does; int64 sums are exact), as TFLM's
CMSIS-NN glue also does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32, s16
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, RecurrentRule, reference_kernel, unsupported
from tinyq.ops.common import require_const, require_int8_or_int16, require_shifts


@dataclass(frozen=True)
class UnidirectionalSequenceLSTMOptions:
    fused_activation_function: str = "NONE"
    cell_clip: float = 0.0
    proj_clip: float = 0.0
    time_major: bool = False
    asymmetric_quantize_inputs: bool = False
    diagonal_recurrent_tensors: bool = False


# lstm_shared.h: the 24 inputs
INPUT = 0
INPUT_WEIGHTS = (2, 1, 3, 4)  # forget, input, cell, output: the order tinyq keeps every per-gate array in
RECURRENT_WEIGHTS = (6, 5, 7, 8)
PEEPHOLE = (9, 10, 11)
BIASES = (13, 12, 14, 15)
PROJECTION = (16, 17)
HIDDEN_STATE, CELL_STATE = 18, 19
LAYER_NORM = (20, 21, 22, 23)
GATES = ("forget", "input", "cell", "output")

GATE_SCALE = 2.0**-12  # PrepareGateParametersInteger: gate pre-activations in Q3.12
GATE_OUTPUT_SCALE = 2.0**-15  # sigmoid/tanh outputs in Q0.15
# CalculateLstmGate applies TANH or SIGMOID to the cell gate and asserts on any other (a release build
# then leaves the gate as it is, a debug build aborts); the flatbuffer schema has no SIGMOID.
CELL_GATE_ACTIVATIONS = ("TANH",)


@dataclass(frozen=True)
class LstmParams:
    sequences: int  # independent runs over time: the batches (batch-major), or 1 (time-major)
    rows: int  # batch rows each step computes together: 1, or the batches (time-major)
    steps: int  # time steps
    input_size: int
    hidden_size: int
    fc_multiplier: tuple[int, ...]  # per gate, the input then the recurrent fully connected requantization
    fc_shift: tuple[int, ...]
    forget_multiplier: int  # forget gate x cell -> cell
    forget_shift: int
    update_multiplier: int  # input gate x cell gate -> cell
    update_shift: int
    hidden_multiplier: int  # tanh(cell) x output gate -> hidden state
    hidden_shift: int
    hidden_zero_point: int
    hidden_min: int
    hidden_max: int
    cell_clip: int  # the cell is clipped to [-cell_clip, cell_clip]; -1: no clipping
    cell_scale_power: int  # log2 of the cell state's scale, rounded (CreateLstmCellStateInfo)
    cell_tanh_multiplier: int  # the cell on the tanh table's grid: (cell * multiplier + half) >> shift
    cell_tanh_shift: int
    time_major: bool


def _tensor(graph: Graph, op: Operator, position: int) -> Tensor | None:
    return graph.tensor(op.inputs[position]) if position < len(op.inputs) else None


def _check_variants(graph: Graph, op: Operator) -> None:
    """The LSTM variants TFLM's ValidateTensorStatus rejects: their tensors must be absent."""
    for positions, variant in ((PEEPHOLE, "peephole weights"), (PROJECTION, "a projection"),
                               (LAYER_NORM, "layer normalization coefficients")):
        present = [p for p in positions if _tensor(graph, op, p) is not None]
        if present:
            raise unsupported(graph, op, f"an LSTM with {variant} (input {present[0]}) is not supported",
                              "TFLM runs the standard LSTM only (no peephole, projection or layer norm)")
    for positions, what in ((INPUT_WEIGHTS + RECURRENT_WEIGHTS, "weights"), (BIASES, "bias")):
        missing = [p for p in positions if _tensor(graph, op, p) is None]
        if missing:
            hint = "CIFG (no input gate) is not supported: TFLM needs all four gates" if 1 in missing or \
                5 in missing or 12 in missing else "the file is corrupt"
            raise unsupported(graph, op, f"LSTM {what} input {missing[0]} is missing", hint)


def _gate_tensors(graph: Graph, op: Operator, positions, role: str, dtype: str, shape) -> list[Tensor]:
    tensors = [_tensor(graph, op, p) for p in positions]
    for p, t in zip(positions, tensors):
        require_const(graph, op, t, f"{role} (input {p})")
        if t.dtype != dtype:
            raise unsupported(graph, op, f"{role} input {p} is {t.dtype}; this LSTM needs {dtype}",
                              "TFLM's integer LSTM takes int8 weights with int32 (int8) or int64 (16x8) biases")
        if tuple(t.shape) != tuple(shape):
            raise unsupported(graph, op, f"{role} input {p} has shape {list(t.shape)}, expected {list(shape)}",
                              "the model's shapes are inconsistent; re-export it")
        if dtype == "int8":
            if t.quant is None or t.quant.per_channel:
                raise unsupported(graph, op, f"{role} input {p} must be quantized per tensor",
                                  "TFLM's LSTM reads one weight scale per matrix")
            if t.quant.zp != 0:
                raise unsupported(graph, op, f"{role} input {p} has zero point {t.quant.zp}",
                                  "TFLM's LSTM takes symmetric weights (zero point 0)")
    return tensors


def _fc_multiplier(activation_scale: float, weights: Tensor) -> tuple[int, int]:
    """CreateGateParams: input scale x weight scale / 2^-12, in double, quantized."""
    return qmath.quantize_multiplier(qmath.f32(activation_scale) * qmath.f32(weights.quant.s) / GATE_SCALE)


def _mul_multiplier(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: double(s1) x double(s2) / double(out), quantized."""
    return qmath.quantize_multiplier(qmath.f32(scale1) * qmath.f32(scale2) / qmath.f32(out_scale))


def _cell_clip(clip: float, cell_scale: float) -> int:
    """CreateLstmCellStateInfo's quantized_cell_clip (static_cast<int16_t> truncates), -1 when TFLM
    does not clip (cell_clip <= 0)."""
    if not np.float32(clip) > 0:
        return -1
    return int(min(max(qmath.f32(clip) / qmath.f32(cell_scale), -32768.0), 32767.0))


def _effective_biases(weights: list[Tensor], biases: list[Tensor] | None, offset: int, wide: bool) -> np.ndarray:
    """Per gate and unit: bias + offset x (sum of the unit's weights), as the accumulator holds it
    (int32 wrapping, or int64)."""
    rows = []
    for g, w in enumerate(weights):
        total = offset * w.data.astype(np.int64).sum(axis=1)
        if biases is not None:
            total = total + biases[g].data.astype(np.int64)
        rows.append(total)
    stacked = np.stack(rows)
    return stacked if wide else ((stacked + 2**31) % 2**32 - 2**31).astype(np.int32)


def _geometry(graph: Graph, op: Operator, x: Tensor, h: Tensor, c: Tensor, y: Tensor) -> tuple[int, int, int, int]:
    """(batches, steps, input size, hidden size), refusing the options and shapes TFLM's LSTM does not take."""
    opts: UnidirectionalSequenceLSTMOptions = op.options
    if opts.fused_activation_function not in CELL_GATE_ACTIVATIONS:
        raise unsupported(graph, op, f"cell gate activation {opts.fused_activation_function} is not supported",
                          "TFLM's LSTM takes TANH (it asserts on any other)")
    if opts.diagonal_recurrent_tensors:
        raise unsupported(graph, op, "diagonal recurrent weights are not supported",
                          "TFLM's LSTM takes full recurrent weight matrices")
    if len(x.shape) != 3 or len(y.shape) != 3 or len(h.shape) < 2:
        raise unsupported(graph, op, f"input {list(x.shape)}, output {list(y.shape)} and hidden state "
                                     f"{list(h.shape)} must be 3-D, 3-D and 2-D", "TFLM's LSTM reads them so")
    batches, steps = (x.shape[1], x.shape[0]) if opts.time_major else (x.shape[0], x.shape[1])
    n_input, n_hidden = x.shape[2], h.shape[1]
    if h.numel != batches * n_hidden or c.numel != batches * n_hidden or \
            tuple(y.shape) != (x.shape[0], x.shape[1], n_hidden):
        raise unsupported(graph, op, f"input {list(x.shape)}, output {list(y.shape)}, hidden {list(h.shape)} and "
                                     f"cell {list(c.shape)} do not agree", "the model's shapes are inconsistent")
    return batches, steps, n_input, n_hidden


def lower(graph: Graph, op: Operator) -> Lowered:
    opts: UnidirectionalSequenceLSTMOptions = op.options
    if len(op.inputs) != 24 or len(op.outputs) != 1:
        raise unsupported(graph, op, f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM's LSTM "
                                     "takes 24 and writes 1", "re-convert the model with a current converter")
    x, h, c = (_tensor(graph, op, p) for p in (INPUT, HIDDEN_STATE, CELL_STATE))
    (y,) = graph.op_outputs(op)
    if x is None or h is None or c is None:
        raise unsupported(graph, op, "the input, hidden state or cell state is missing", "the file is corrupt")
    for t, role in ((h, "hidden state"), (c, "cell state")):
        if not t.is_variable or t.is_const:
            raise unsupported(graph, op, f"the {role} (tensor {t.index}) is not a variable tensor",
                              "TFLM's LSTM keeps its state in variable tensors")
    _check_variants(graph, op)
    if f32.is_float(x):
        return lower_f32(graph, op, x, h, c, y)
    if c.dtype == "float32":
        raise unsupported(graph, op, f"a float32 LSTM cell state beside {x.dtype} activations: float32 LSTM runs "
                                     "float32 throughout", "quantize the whole LSTM (int16 cell state)")
    dtype = require_int8_or_int16(graph, op, x, h, y, what="LSTM tensor")
    if c.dtype != "int16" or c.quant is None:
        raise unsupported(graph, op, f"cell state is {c.dtype}; TFLM's integer LSTM needs a quantized int16 cell",
                          "quantize with an int16 cell state (the TFLite converter does)")
    batches, steps, n_input, n_hidden = _geometry(graph, op, x, h, c, y)
    bias_dtype = "int64" if dtype == "int16" else "int32"
    w_in = _gate_tensors(graph, op, INPUT_WEIGHTS, "input weights", "int8", (n_hidden, n_input))
    w_rec = _gate_tensors(graph, op, RECURRENT_WEIGHTS, "recurrent weights", "int8", (n_hidden, n_hidden))
    biases = _gate_tensors(graph, op, BIASES, "bias", bias_dtype, (n_hidden,))
    wide = dtype == "int16"

    fc = [_fc_multiplier(s, w) for g in range(4) for s, w in ((x.quant.s, w_in[g]), (h.quant.s, w_rec[g]))]
    mults, shifts = [m for m, _ in fc], [s for _, s in fc]
    forget = _mul_multiplier(GATE_OUTPUT_SCALE, c.quant.s, c.quant.s)
    update = _mul_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, c.quant.s)
    hidden = _mul_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, h.quant.s)
    if wide:
        s16.require_accumulator_shifts(graph, op, shifts, wide=True)
    else:
        require_shifts(graph, op, shifts)
    require_shifts(graph, op, [forget[1], update[1], hidden[1]], "gate product")
    # CreateLstmCellStateInfo: log2 of the cell scale, rounded (CheckedLog2's exactness is not asked)
    power, _ = qmath.checked_log2(c.quant.s)
    tanh_shift = power + 12  # lstm_internal::Tanh: (15 + power) - 3
    if not -31 <= tanh_shift <= 14:
        raise unsupported(graph, op, f"cell state scale {c.quant.s:.6g} is outside [2^-43, 2^2]",
                          "TFLM's tanh of the cell overflows or shifts out of range there; re-quantize")
    tanh_mult, tanh_right = (3, -tanh_shift) if tanh_shift < 0 else (3 << tanh_shift, 0)

    qmin, qmax = (-32768, 32767) if dtype == "int16" else (-128, 127)
    params = LstmParams(
        sequences=1 if opts.time_major else batches, rows=batches if opts.time_major else 1, steps=steps,
        input_size=n_input, hidden_size=n_hidden, fc_multiplier=tuple(mults), fc_shift=tuple(shifts),
        forget_multiplier=forget[0], forget_shift=forget[1], update_multiplier=update[0], update_shift=update[1],
        hidden_multiplier=hidden[0], hidden_shift=hidden[1], hidden_zero_point=h.quant.zp, hidden_min=qmin,
        hidden_max=qmax, cell_clip=_cell_clip(opts.cell_clip, c.quant.s), cell_scale_power=power,
        cell_tanh_multiplier=tanh_mult,
        cell_tanh_shift=tanh_right, time_major=bool(opts.time_major))
    ctype = "int64_t" if wide else "int32_t"
    consts = (
        ConstArray("input_weights", "int8_t", np.stack([w.data for w in w_in]).astype(np.int8)),
        ConstArray("recurrent_weights", "int8_t", np.stack([w.data for w in w_rec]).astype(np.int8)),
        ConstArray("effective_bias", ctype, np.concatenate([
            _effective_biases(w_in, biases, -x.quant.zp, wide), _effective_biases(w_rec, None, -h.quant.zp, wide)])),
        ConstArray("bias", ctype, np.stack([b.data for b in biases]).astype(ctype[:-2])),
        ConstArray("sigmoid_table", "uint16_t", qmath.SIGMOID_TABLE_Q16),
    )
    kernel = "unidirectional_sequence_lstm" + ("_s16" if wide else "")
    return Lowered(op=op, kernel=kernel, params=params, inputs=(x.index, h.index, c.index), outputs=(y.index,),
                   consts=consts)


@dataclass(frozen=True)
class LstmF32Params:
    sequences: int
    rows: int
    steps: int
    input_size: int
    hidden_size: int
    cell_clip: float  # float32; TFLM clips the cell when it is above 0
    time_major: bool


def lower_f32(graph: Graph, op: Operator, x: Tensor, h: Tensor, c: Tensor, y: Tensor) -> Lowered:
    """float32: LstmStep<float> (lstm_eval.h): float weights and biases, Logistic/tanh as TFLM's
    reference float kernels (tq_lstm_f32.c)."""
    opts: UnidirectionalSequenceLSTMOptions = op.options
    f32.require_float32(graph, op, x, h, c, y, what="LSTM tensor")
    batches, steps, n_input, n_hidden = _geometry(graph, op, x, h, c, y)
    w_in = _gate_tensors(graph, op, INPUT_WEIGHTS, "input weights", "float32", (n_hidden, n_input))
    w_rec = _gate_tensors(graph, op, RECURRENT_WEIGHTS, "recurrent weights", "float32", (n_hidden, n_hidden))
    biases = _gate_tensors(graph, op, BIASES, "bias", "float32", (n_hidden,))
    params = LstmF32Params(sequences=1 if opts.time_major else batches, rows=batches if opts.time_major else 1,
                           steps=steps, input_size=n_input, hidden_size=n_hidden,
                           cell_clip=float(np.float32(opts.cell_clip)), time_major=bool(opts.time_major))
    stack = lambda ts: np.stack([np.asarray(t.data, dtype=np.float32) for t in ts]).reshape(-1)  # noqa: E731
    consts = (ConstArray("input_weights", "float", stack(w_in)), ConstArray("recurrent_weights", "float", stack(w_rec)),
              ConstArray("bias", "float", stack(biases)))
    return Lowered(op=op, kernel="unidirectional_sequence_lstm_f32", params=params,
                   inputs=(x.index, h.index, c.index), outputs=(y.index,), consts=consts)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-v) overflows to inf for v below -88: the sigmoid is then 0
        return (np.float32(1) / (np.float32(1) + np.exp(-v))).astype(np.float32)


def float_run(graph: Graph, op: Operator, x: np.ndarray, state=None):
    """The float LSTM on one input, in float32 as LstmStep<float> computes it: (output, the cell state
    after every step [steps, batches, hidden], the (hidden, cell) state after the last step). `state` is
    the previous input's (None: zeros, as after a reset). The quantizer's calibration reads every step's
    cell from it: LiteRT shows only the state the last step leaves."""
    opts: UnidirectionalSequenceLSTMOptions = op.options
    w_in, w_rec, bias = ([np.asarray(graph.tensors[op.inputs[p]].data, dtype=np.float32) for p in positions]
                         for positions in (INPUT_WEIGHTS, RECURRENT_WEIGHTS, BIASES))
    seq = np.asarray(x, dtype=np.float32)
    seq = seq if opts.time_major else seq.transpose(1, 0, 2)  # [steps, batches, input]
    zeros = np.zeros((seq.shape[1], w_in[0].shape[0]), dtype=np.float32)
    hidden, cell = (zeros, zeros) if state is None else (np.reshape(s, zeros.shape) for s in state)
    clip = np.float32(opts.cell_clip)
    outputs, cells = [], []
    for step in seq:
        forget, update, candidate, out = (step @ w_in[g].T + hidden @ w_rec[g].T + bias[g] for g in range(4))
        cell = _sigmoid(forget) * cell + _sigmoid(update) * np.tanh(candidate)
        if clip > 0:
            cell = np.clip(cell, -clip, clip)
        hidden = _sigmoid(out) * np.tanh(cell)
        outputs.append(hidden)
        cells.append(cell)
    y = np.stack(outputs)
    return (y if opts.time_major else y.transpose(1, 0, 2)), np.stack(cells), (hidden, cell)


def check_quantizable(graph: Graph, op: Operator) -> None:
    """The float LSTM's variants TFLM's integer kernel lacks (peephole, projection, layer norm, CIFG, a
    cell gate other than TANH, diagonal recurrent weights) are those its float kernel lacks too:
    lowering the float op refuses them, one line each."""
    lower(graph, op)


# the quantizer's description: per gate the input and the recurrent weights, the bias added with the input's
# product (TFLM's recurrent fully connected has none), the hidden state the output repeats, the int16 cell
QUANT = QuantRule(1, activation_inputs=(INPUT,), recurrent=RecurrentRule(
    weights=tuple((w, INPUT, b) for w, b in zip(INPUT_WEIGHTS, BIASES)) +
    tuple((w, HIDDEN_STATE, None) for w in RECURRENT_WEIGHTS),
    output_state=HIDDEN_STATE, cell_state=CELL_STATE, float_run=float_run, check=check_quantizable,
    versions=(("int8", 1), ("int16", 5))))  # tools/versioning/op_version.cc: 16x8 is version 5

REFERENCE_USES = ("input_weights", "recurrent_weights", "effective_bias", "sigmoid_table")

SPECS = [OpSpec(
    name="unidirectional_sequence_lstm", builtin="UNIDIRECTIONAL_SEQUENCE_LSTM",
    options=UnidirectionalSequenceLSTMOptions, fb_options="UnidirectionalSequenceLSTMOptions", lower=lower,
    kernels=(reference_kernel("unidirectional_sequence_lstm", uses=REFERENCE_USES),
             reference_kernel("unidirectional_sequence_lstm_s16", uses=REFERENCE_USES),
             reference_kernel("unidirectional_sequence_lstm_f32")), quant=QUANT,
    doc="int8 (int32 biases) and 16x8 (int16 activations, int64 biases) with an int16 cell state, the standard "
        "LSTM as TFLM runs it (all four gates; TANH cell gate; cell clip; time- or batch-major); "
        "hidden and cell state kept across invokes (reset: tinyq_<name>_reset); no CIFG, peephole, projection "
        "or layer norm (TFLM has none); float32 (float weights, biases and state; TFLM's float gates). "
        "Quantizer: int8 or 16x8 from the float LSTM, per-tensor int8 weights whatever --weights asks, an int16 "
        "cell at the power-of-two scale covering every step's cell")]
