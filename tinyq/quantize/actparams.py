"""Activation quantization parameters: observed ranges, tied where TFLM requires, fixed where TFLite does.

Tensors whose params must be equal (a pooling or reshape output and its input,
every input of a concatenation and its output, ...) form one group; a group
takes the union of its members' chosen ranges, or the fixed parameters of a
softmax/logistic/tanh output when one is in it.

A group is int8 or int16 (widths.py). int8: asymmetric, over the observer's
range. int16: TFLite's 16x8 scheme - symmetric, zero point 0 - over twice the
observed range, scale 2 max(|min|, |max|) / 32767 (clipping buys nothing at 16
bits, and headroom costs next to nothing: inputs the calibration did not show go
past its maximum, and a clipped int16 tensor loses far more than the one bit;
the converter's scale is max / 32767), softmax/logistic/tanh outputs at 2^-15. A
tensor read at the other width (a QUANTIZE joins the two) has its own
parameters: an int16 copy of an int8 tensor takes scale s / 128, which holds
every int8 value exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyq import qmath
from tinyq.errors import TinyqError
from tinyq.ir import NO_TENSOR, Graph, Quant, describe_op
from tinyq.ops.comparisons import EQUAL, GREATER, LESS
from tinyq.passes.graph_edit import option
from tinyq.quantize.observers import OBSERVERS, TensorStats
from tinyq.quantize.qparams import INT8, INT16, VALUE_LIMIT, affine_params, f32, symmetric_params
from tinyq.quantize.rules import RULES

# TFLite's 16x8 outputs of fixed range (operator_property.cc, restricted_value_int16)
INT16_FIXED_OUTPUT = {"softmax": (1.0 / 32768, 0), "logistic": (1.0 / 32768, 0), "tanh": (1.0 / 32768, 0)}
SOFTMAX_MIN_REAL = 1.0 + 2.0**-20  # beta * input scale * 2^26 at least this: TFLM needs more than 1
INT8_TO_INT16_STEP = 128  # int16 copy of an int8 tensor: scale / 128 (|q - zp| <= 255 < 32767 / 128)
# int16 activations cover this many times the calibrated magnitude. Measured (the digits test inputs go up to
# 9% past the 200 calibration samples' maximum): with min/max, clipping cost the digits models ~5 dB at the
# logits; the bit it spends cost no model in `tinyq bench quantize` more than 0.1 dB at any output.
INT16_HEADROOM = 2.0
# a selecting op's input that saw more than this many times the op's output span is not tied to it: 4 costs
# the output 2 bits before splitting pays for the requantize
SELECTED_SPAN = 4.0


@dataclass(frozen=True)
class ActivationChoice:
    quant: Quant
    observed: tuple[float, float]  # what calibration saw (min, max)
    chosen: tuple[float, float]  # the range the parameters cover
    reason: str  # "minmax", "mse", "tied", "softmax output", ...
    dtype: str = "int8"


def activation_inputs(graph: Graph, op) -> list[int]:
    """The op's inputs that carry data (quantized as activations), not weights, biases or shapes."""
    return [op.inputs[p] for p in activation_positions(graph, op)]


def activation_positions(graph: Graph, op) -> list[int]:
    rule = RULES[op.op]
    positions = rule.activation_inputs if rule.activation_inputs is not None else range(len(op.inputs))
    return [p for p in positions if p < len(op.inputs) and op.inputs[p] != NO_TENSOR
            and graph.tensors[op.inputs[p]].dtype == "float32"
            and not (rule.float_island and graph.tensors[op.inputs[p]].is_const)]


def quantized_tensors(graph: Graph) -> list[int]:
    """Every float tensor that becomes an integer activation (float constants used as data included)."""
    seen: list[int] = [t for t in graph.inputs if graph.tensors[t].dtype == "float32"]
    for op in graph.operators:
        for t in activation_inputs(graph, op) + [t for t in op.outputs if graph.tensors[t].dtype == "float32"]:
            if t not in seen:
                seen.append(t)
    return seen


class _Groups:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


@dataclass(frozen=True)
class TieGroups:
    """The float graph's activations, grouped by the parameters TFLM requires them to share."""

    members: tuple[tuple[int, ...], ...]  # each group's tensors, in quantized_tensors order
    group_of: dict  # tensor -> position in members
    fixed_by: dict  # tensor -> the op (name) that fixes its output parameters
    zero_point_0: frozenset = frozenset()  # groups holding one of these tensors are int8 at zero point 0
    # group -> tensors whose ranges it covers without sharing their parameters: an op's fixed output
    # (softmax, tanh, l2_normalization) read by a concatenation, requantized on the way in (rewrite.py)
    range_only: dict = field(default_factory=dict)
    no_range: frozenset = frozenset()  # members whose values do not widen their group's range (clamp bounds)
    # comparison thresholds: constant -> (the op's outcome bits, whether the constant is the first operand)
    thresholds: dict = field(default_factory=dict)
    # tensor -> (int8, int16) interval its values need not pass: every reader of it is an op whose answer stops
    # changing there (RELU, RELU6, LOGISTIC, TANH: QuantRule.input_saturates) and it is no graph output. Its
    # group's range covers the rest of it (a RELU6's output shares its input's parameters: both take [0, 6])
    saturates: dict = field(default_factory=dict)


def _clamped_apart(rule, t: int, observed: dict | None, saturates: dict) -> bool:
    """Whether a clamp that keeps its input's parameters (RELU6) reads a tensor other ops need whole (so its range
    is not cut: saturates) and that spans over SELECTED_SPAN times what the clamp passes: tied, the clamp's
    output would take the wide grid ([0, 6] of a tensor reaching 4000 that a FULLY_CONNECTED also reads: 0 dB).
    The clamp then reads a requantized copy at its output's parameters (rewrite.py)."""
    if rule.input_saturates is None or observed is None or t not in observed or t in saturates:
        return False
    return _span(observed[t]) > SELECTED_SPAN * _span(_within(observed[t], rule.input_saturates[0])) > 0.0


def _within(rng: tuple[float, float], interval: tuple[float, float]) -> tuple[float, float]:
    """rng cut to the interval; a range wholly past it keeps the interval's edge nearest it."""
    (lo, hi), (a, b) = rng, interval
    return min(max(lo, a), b), max(min(hi, b), a)


def _span(rng: tuple[float, float]) -> float:
    return max(rng[1], 0.0) - min(rng[0], 0.0)  # an int8 range holds 0


def _selected_apart(graph: Graph, t: int, out: int, observed: dict | None, saturates: dict) -> bool:
    """Whether an input of a selecting op (QuantRule.selects) spans over SELECTED_SPAN times what the op's output
    saw, within what its readers tell apart (saturates): tied, its range would leave the values the op passes
    on a few steps (a branch reaching 1e4 that the select rarely takes, beside one in [-3, 9]; a constant
    fallback the select never took; a select read by a RELU6)."""
    if observed is None or t not in observed or out not in observed:
        return False
    passed = _within(observed[out], saturates[out][0]) if out in saturates else observed[out]
    return _span(observed[t]) > SELECTED_SPAN * _span(passed) > 0.0


# An input of a concatenation, MAXIMUM, MINIMUM, PACK, ADD_N or SELECT_V2 whose values span this many times less
# than the group the tie would put it in, and that other ops read, keeps its own parameters and is requantized on
# its way in: the tie would cost its other readers log2(this) bits or more, the requantize costs one QUANTIZE and
# nothing at the output, which holds the wide values anyway. DenseNet-like concatenations of similar ranges stay tied.
NARROW_INPUT = 8.0
NARROW_SPLIT_OPS = ("concatenation", "maximum", "minimum", "pack", "add_n", "select_v2")


def tie_groups(graph: Graph, observed: dict | None = None) -> TieGroups:
    """`observed`: calibration's (min, max) per tensor; with it, an input far wider than what a selecting op
    passes on, and a narrow input of a NARROW_SPLIT_OPS op that other ops read too, keep their own parameters
    (rewrite.py requantizes them on the way in)."""
    if observed is None:
        return _tie_groups(graph, None, frozenset())
    return _tie_groups(graph, observed, _narrow_inputs(graph, _tie_groups(graph, observed, frozenset()), observed))


def _narrow_inputs(graph: Graph, ties: TieGroups, observed: dict) -> frozenset:
    """(op index, input) pairs to requantize rather than tie: the input's own group (what data movement ties to
    it) spans NARROW_INPUT times less than the whole tied group, and some op other than this one, or the graph's
    outputs, reads its values."""
    base = _Groups()
    for op in graph.operators:
        data_in = activation_inputs(graph, op)
        if RULES[op.op].output_as_input and data_in:
            for t in op.outputs:
                base.union(t, data_in[0])

    def span(tensors) -> float:
        seen = [observed[t] for t in tensors if t in observed]
        return max(hi for _, hi in seen) - min(lo for lo, _ in seen) if seen else 0.0

    split = set()
    for op in graph.operators:
        if op.op not in NARROW_SPLIT_OPS:
            continue
        for t in activation_inputs(graph, op):
            if graph.tensors[t].is_const or t not in ties.group_of:
                continue
            own = [m for m in ties.group_of if base.find(m) == base.find(t)]
            whole = span(ties.members[ties.group_of[t]])
            if whole <= 0 or span(own) * NARROW_INPUT > whole or not _read_elsewhere(graph, op, set(own)):
                continue
            split.add((op.index, t))
    return frozenset(split)


def _read_elsewhere(graph: Graph, op, own: set) -> bool:
    """Whether a graph output or an op other than `op` reads one of `own` (data movement within `own` aside)."""
    if own.intersection(graph.outputs):
        return True
    for other in graph.operators:
        if other is op or not own.intersection(activation_inputs(graph, other)):
            continue
        if not (RULES[other.op].output_as_input and own.issuperset(other.outputs)):
            return True
    return False


def _tie_groups(graph: Graph, observed: dict | None, split: frozenset) -> TieGroups:
    groups = _Groups()
    fixed_by: dict[int, str] = {}
    requantized: list[tuple[int, int]] = []  # (a fixed output, the concatenation output it goes into)
    no_range: set[int] = set()
    zero_point_0: set[int] = set()
    thresholds: dict[int, tuple[int, bool]] = {}
    saturates = saturation_bounds(graph)
    for op in graph.operators:
        rule = RULES[op.op]
        data_in = activation_inputs(graph, op)
        outs = [t for t in op.outputs if graph.tensors[t].dtype == "float32"]
        if rule.output_as_input and data_in and not _clamped_apart(rule, data_in[0], observed, saturates):
            for t in outs:  # every output of a multi-output op (SPLIT, UNPACK)
                groups.union(t, data_in[0])
        if rule.inputs_as_output and outs:
            fixed_roots = {groups.find(f) for f in fixed_by}
            for t in data_in:
                # a fixed output, or a tensor tied to one (a slice of a softmax): tied, the fixed parameters
                # would clip the other inputs
                if t in fixed_by or groups.find(t) in fixed_roots or (op.index, t) in split:
                    requantized.append((t, outs[0]))
                elif rule.selects and _selected_apart(graph, t, outs[0], observed, saturates):
                    if graph.tensors[t].is_const:  # stored at the output's parameters, saturated: no op at run time
                        groups.union(t, outs[0])
                        no_range.add(t)
                else:
                    groups.union(t, outs[0])
                    if rule.constants_saturate and graph.tensors[t].is_const:
                        no_range.add(t)
        if rule.constants_as_data:
            data = [t for t in data_in if not graph.tensors[t].is_const]
            for t in data_in:
                if data and graph.tensors[t].is_const:
                    groups.union(t, data[0])
                    if rule.outcomes is not None:
                        thresholds[t] = (rule.outcomes, op.inputs[0] == t)
        if rule.fixed_output is not None and outs:
            fixed_by[outs[0]] = op.op
        if rule.zero_point_0:
            zero_point_0.update(data_in + outs)
    by_root: dict[int, list[int]] = {}
    for t in quantized_tensors(graph):
        by_root.setdefault(groups.find(t), []).append(t)
    members = tuple(tuple(m) for m in by_root.values())
    group_of = {t: g for g, m in enumerate(members) for t in m}
    for m in members:
        fixers = {fixed_by[t] for t in m if t in fixed_by}
        if len({RULES[name].fixed_output for name in fixers}) > 1:
            op = next(o for o in graph.operators if m[0] in o.inputs + o.outputs)
            raise TinyqError(f"tensors {list(m)} must share parameters but two ops fix different ones",
                             where=describe_op(graph, op))
    range_only: dict[int, list[int]] = {}
    for t, out in requantized:
        range_only.setdefault(group_of[out], []).append(t)
    return TieGroups(members, group_of, fixed_by, frozenset(zero_point_0),
                     {g: tuple(ts) for g, ts in range_only.items()}, frozenset(no_range), thresholds, saturates)


def saturation_bounds(graph: Graph) -> dict:
    """Tensor -> the (int8, int16) interval past which its readers' answers do not change (TieGroups.saturates)."""
    bounds: dict[int, list] = {}  # tensor -> its readers' intervals (None: a reader without)
    for op in graph.operators:
        bound = RULES[op.op].input_saturates
        for t in set(op.inputs):
            bounds.setdefault(t, []).append(bound)
    result = {}
    for t, readers in bounds.items():
        if all(b is not None for b in readers) and t not in graph.outputs:
            result[t] = tuple((min(b[w][0] for b in readers), max(b[w][1] for b in readers)) for w in (0, 1))
    return result


@dataclass(frozen=True, eq=False)
class Ranges:
    """Per float tensor: what calibration saw, and the observer's range for it (int8)."""

    observed: dict
    chosen: dict


def activation_ranges(graph: Graph, stats: dict[int, TensorStats], observer: str) -> Ranges:
    pick = OBSERVERS[observer]
    observed: dict[int, tuple[float, float]] = {}
    chosen: dict[int, tuple[float, float]] = {}
    for t in quantized_tensors(graph):
        tensor = graph.tensors[t]
        if tensor.is_const:
            observed[t] = chosen[t] = (float(np.min(tensor.data)), float(np.max(tensor.data)))
        elif t in stats:
            observed[t] = (stats[t].lo, stats[t].hi)
            if max(-stats[t].lo, stats[t].hi) > VALUE_LIMIT:
                raise TinyqError(f"the float model computes {max(-stats[t].lo, stats[t].hi):.3g} in tensor {t} "
                                 f"({tensor.name}) on the calibration data, beyond the 2^60 the quantizer's scale "
                                 "arithmetic takes", hint="check the data's scale and the model's weights")
            chosen[t] = pick(stats[t])
        else:
            raise TinyqError(f"tensor {t} ({tensor.name}) was never computed during calibration",
                             hint="this is a tinyq bug")
    return Ranges(observed, chosen)


def _thresholds_saturate(graph: Graph, thresholds: dict, group: tuple[int, ...], lo: float, hi: float) -> bool:
    """Whether each comparison threshold of the group, saturated to [lo, hi], answers as in float for data in
    [lo, hi]: past the range the data stands on one strict side of the threshold, or equal to it at the
    edge, so the op's outcome bits for that side and for EQUAL must agree."""
    for t in group:
        if t not in thresholds:
            continue
        outcomes, first = thresholds[t]
        values = graph.tensors[t].data
        if np.min(values) >= hi:  # the relation (first operand vs second) is threshold above data
            side = GREATER if first else LESS
        elif np.max(values) <= lo:
            side = LESS if first else GREATER
        else:
            return False
        if bool(outcomes & side) != bool(outcomes & EQUAL):
            return False
    return True


def _group_params(group: tuple[int, ...], dtype: str, fixed_by: dict, observed, chosen,
                  observer: str, zero_point_0: frozenset = frozenset(),
                  range_only: tuple[int, ...] = (), no_range: frozenset = frozenset(),
                  saturates: dict | None = None) -> tuple[Quant, tuple[float, float], str]:
    fixers = [fixed_by[t] for t in group if t in fixed_by]
    # the values the group's parameters must hold: a clamp bound only when nothing else is there
    covered = tuple(t for t in group if t not in no_range) or group
    covered += tuple(range_only)
    saturates = saturates or {}
    if fixers and dtype == "int16" and fixers[0] in INT16_FIXED_OUTPUT:
        scale, zp = INT16_FIXED_OUTPUT[fixers[0]]
        lo, hi = qmath.real_range(scale, zp, *INT16)
        reason = f"{fixers[0]} output"
    elif fixers and dtype == "int8":
        scale, zp = RULES[fixers[0]].fixed_output
        lo, hi = qmath.real_range(scale, zp)
        reason = f"{fixers[0]} output"
    elif dtype == "int16":  # symmetric, over what calibration saw with INT16_HEADROOM
        lo, hi, clipped = _covered_range(covered, observed, saturates, 1, INT16_HEADROOM)
        scale, zp = symmetric_params(lo, hi, INT16[1])
        lo, hi = qmath.real_range(scale, zp, *INT16)
        what = f"symmetric minmax x{INT16_HEADROOM:g}" + clipped
        reason = what if len(group) == 1 else f"{what}, shared by {len(group)} tensors"
    elif zero_point_0.intersection(group):  # int8, symmetric over the observer's range: zero point 0
        lo, hi, clipped = _covered_range(covered, chosen, saturates, 0)
        scale, zp = symmetric_params(lo, hi, INT8[1])
        lo, hi = qmath.real_range(scale, zp)
        reason = f"{observer}, zero point 0{clipped}" + ("" if len(group) == 1 else f", shared by {len(group)} tensors")
    else:
        lo, hi, clipped = _covered_range(covered, chosen, saturates, 0)
        scale, zp = affine_params(lo, hi)
        reason = observer + clipped + ("" if len(group) == 1 else f", shared by {len(group)} tensors")
    return Quant(scale=(f32(scale),), zero_point=(int(zp),)), (lo, hi), reason


def _covered_range(covered, ranges: dict, saturates: dict, width: int,
                   headroom: float = 1.0) -> tuple[float, float, str]:
    """The hull of the members' ranges (times headroom), each cut to the interval where its readers' answers
    still change (saturates, at width 0: int8, 1: int16), and the report's note when a cut narrowed it."""
    whole, kept = [], []
    for t in covered:
        lo, hi = ranges[t][0] * headroom, ranges[t][1] * headroom
        whole.append((lo, hi))
        kept.append(_within((lo, hi), saturates[t][width]) if t in saturates else (lo, hi))
    lo, hi = min(r[0] for r in kept), max(r[1] for r in kept)
    if lo <= min(r[0] for r in whole) and hi >= max(r[1] for r in whole):
        return lo, hi, ""
    return lo, hi, f", cut to [{lo:.4g}, {hi:.4g}] (its readers saturate)"


def _softmax_betas(graph: Graph) -> dict[int, float]:
    """Tensor -> the smallest beta of the softmaxes it feeds (for _widen_for_softmax)."""
    betas: dict[int, float] = {}
    for op in graph.operators:
        if op.op == "softmax":
            beta = float(option(op, "beta", 1.0))
            betas[op.inputs[0]] = min(beta, betas.get(op.inputs[0], beta))
    return betas


def _widen_for_softmax(quant: Quant, rng: tuple[float, float], reason: str, beta: float):
    """An int8 softmax input's scale times beta must be above 2^-26, or TFLM's Prepare aborts: a near-constant
    input (a dead logits layer) gets the smallest such scale; its values, all within a step of 0, lose nothing."""
    if qmath.softmax_scaling(beta, quant.s) is not None:
        return quant, rng, reason
    lo, hi = min(rng[0], 0.0), max(rng[1], 0.0)
    factor = SOFTMAX_MIN_REAL / (beta * quant.s * 2.0**26)  # > 1
    while True:
        scale, zp = affine_params(lo * factor, hi * factor)
        if qmath.softmax_scaling(beta, scale) is not None:
            break
        factor *= 1.001
    widened = Quant(scale=(f32(scale),), zero_point=(int(zp),))
    return widened, qmath.real_range(widened.s, widened.zp), f"{reason}, widened for TFLM's softmax"


def _add_sub_inputs(graph: Graph, ties: TieGroups) -> dict[int, list[int]]:
    """ADD/SUB output -> the op's quantized data inputs."""
    return {op.outputs[0]: [t for t in activation_inputs(graph, op) if t in ties.group_of]
            for op in graph.operators if op.op in ("add", "sub") and op.outputs and op.outputs[0] in ties.group_of}


def _widen_for_add(quant: Quant, rng: tuple[float, float], reason: str, widest_input: float):
    """TFLM's int8 ADD/SUB needs 2 * max(input scales) < 2^20 * output scale (its output multiplier below one),
    or its Prepare aborts: an output range far narrower than an input's (0 - mean * rsqrt of a LayerNorm over a
    normalized tensor, about 1e-8, beside a constant 0 at scale 1) is widened to the smallest scale it takes."""
    if 2.0 * widest_input < 2.0**20 * quant.s:
        return quant, rng, reason
    lo, hi = min(rng[0], 0.0), max(rng[1], 0.0)
    if hi - lo <= 0:
        lo, hi = 0.0, 1.0
    factor = 2.0 * widest_input * (1.0 + 2.0**-20) / (2.0**20 * quant.s)
    while True:
        scale, zp = affine_params(lo * factor, hi * factor)
        if 2.0 * widest_input < 2.0**20 * float(f32(scale)):
            break
        factor *= 1.001
    widened = Quant(scale=(f32(scale),), zero_point=(int(zp),))
    return widened, qmath.real_range(widened.s, widened.zp), f"{reason}, widened for TFLM's ADD/SUB"


# TFLM's int8 CUMSUM adds each input step as 2^19 (shifted left 20, halved) in int32 and wraps: its running
# sums must stay under 2^12 input steps. The largest |sum| calibration saw must fit with CUMSUM_HEADROOM.
CUMSUM_STEPS = 2**12
CUMSUM_HEADROOM = 2.0


def _cumsum_sums(graph: Graph, observed: dict) -> dict[int, float]:
    """CUMSUM input -> the largest |running sum| calibration saw in the outputs it feeds."""
    sums: dict[int, float] = {}
    for op in graph.operators:
        if op.op == "cumsum" and op.outputs[0] in observed:
            lo, hi = observed[op.outputs[0]]
            sums[op.inputs[0]] = max(sums.get(op.inputs[0], 0.0), abs(lo), abs(hi))
    return sums


def _widen_for_cumsum(quant: Quant, rng: tuple[float, float], reason: str, largest_sum: float):
    """An int8 CUMSUM input whose steps would overflow TFLM's int32 running sum gets a scale that holds the
    largest sum in CUMSUM_STEPS / CUMSUM_HEADROOM steps: coarser, where the narrower one wraps to garbage."""
    needed = largest_sum * CUMSUM_HEADROOM / CUMSUM_STEPS
    if quant.s >= needed:
        return quant, rng, reason
    scale = f32(needed * (1 + 2.0**-20))
    widened = Quant(scale=(scale,), zero_point=(0,))
    return widened, qmath.real_range(widened.s, 0), f"{reason}, widened for TFLM's int32 CUMSUM"


def zero_point_0_copy(source: ActivationChoice, largest_sum: float) -> Quant:
    """Parameters of the copy a CUMSUM reads when its input's group is a fixed output (softmax's zero point
    -128 wins over the CUMSUM's zero point 0; TFLM's running sum starts at the input offset): zero point 0,
    symmetric over what calibration saw in the source (a softmax's [0, 1) grid is wider than its values) and
    within what its parameters hold, widened as _widen_for_cumsum widens an input."""
    lo, hi = max(source.observed[0], source.chosen[0]), min(source.observed[1], source.chosen[1])
    scale, _ = symmetric_params(lo, hi, INT8[1])
    quant = Quant(scale=(f32(scale),), zero_point=(0,))
    return _widen_for_cumsum(quant, qmath.real_range(quant.s, 0), "", largest_sum)[0]


def choose_activation_params(graph: Graph, stats: dict[int, TensorStats], observer: str, layout=None,
                             ranges: Ranges | None = None) -> dict[int, ActivationChoice]:
    """Parameters of every quantized tensor: the float graph's (same index) and, with a layout, the
    copies at the other width and the io tensors it adds (widths.Layout; None: every tensor int8).
    `ranges`: activation_ranges(graph, stats, observer), when the caller has them."""
    ranges = ranges or activation_ranges(graph, stats, observer)
    ties = tie_groups(graph, ranges.observed)
    observed, chosen = ranges.observed, ranges.chosen
    cache: dict[tuple[int, str], tuple[Quant, tuple[float, float], str]] = {}

    betas = _softmax_betas(graph)
    summed = _add_sub_inputs(graph, ties)
    sums = _cumsum_sums(graph, observed)
    pending: set[int] = set()

    def params(t: int, dtype: str):
        g = ties.group_of[t]
        if (g, dtype) not in cache:
            pending.add(g)
            cache[g, dtype] = _group_params(ties.members[g], dtype, ties.fixed_by, observed, chosen, observer,
                                             ties.zero_point_0, ties.range_only.get(g, ()), ties.no_range,
                                             ties.saturates)
            data = tuple(m for m in ties.members[g] if m not in ties.thresholds)
            if data != ties.members[g] and data:
                alone = _group_params(data, dtype, ties.fixed_by, observed, chosen, observer, ties.zero_point_0,
                                      ties.range_only.get(g, ()), ties.no_range, ties.saturates)
                if _thresholds_saturate(graph, ties.thresholds, ties.members[g], *alone[1]):
                    cache[g, dtype] = alone
            beta = min((betas[m] for m in ties.members[g] if m in betas), default=None)
            if dtype == "int8" and beta is not None and beta > 0:
                cache[g, dtype] = _widen_for_softmax(*cache[g, dtype], beta)
            widest = max((params(i, "int8")[0].s for m in ties.members[g] for i in summed.get(m, ())
                          if ties.group_of[i] not in pending), default=0.0)
            if dtype == "int8" and widest > 0 and not any(m in ties.fixed_by for m in ties.members[g]):
                cache[g, dtype] = _widen_for_add(*cache[g, dtype], widest)
            largest_sum = max((sums[m] for m in ties.members[g] if m in sums), default=0.0)
            if dtype == "int8" and largest_sum > 0 and not any(m in ties.fixed_by for m in ties.members[g]):
                cache[g, dtype] = _widen_for_cumsum(*cache[g, dtype], largest_sum)
            pending.discard(g)
        return cache[g, dtype]

    result: dict[int, ActivationChoice] = {}
    dtypes = layout.dtypes if layout is not None else {t: "int8" for t in ties.group_of}
    for q, dtype in dtypes.items():  # home tensors and new graph inputs first: copies derive from them
        t = layout.origin[q] if layout is not None else q
        if layout is not None and q in layout.copy_of:
            continue
        quant, rng, reason = params(t, dtype)
        result[q] = ActivationChoice(quant, observed[t], rng, reason, dtype)
    for q, source in (layout.copy_of.items() if layout is not None else ()):
        t, dtype = layout.origin[q], layout.dtypes[q]
        src = result[source]
        if dtype == "int16" and src.dtype == "int8":
            scale = f32(src.quant.s / INT8_TO_INT16_STEP)
            quant = Quant(scale=(scale,), zero_point=(0,))
            result[q] = ActivationChoice(quant, observed[t], src.chosen, "int8 copy, exact", dtype)
        else:
            quant, rng, reason = params(t, dtype)
            result[q] = ActivationChoice(quant, observed[t], rng, f"{reason} ({src.dtype} copy)", dtype)
    return result
