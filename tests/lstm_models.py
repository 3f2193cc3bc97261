"""Single-op UNIDIRECTIONAL_SEQUENCE_LSTM models for the tests: TFLM's 24-input layout, the hidden
and cell state as variable tensors, weights and biases drawn at the scales a converter writes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import NO_TENSOR
from tinyq.tflite.builder import GraphBuilder


@dataclass(frozen=True)
class LstmCase:
    batches: int = 1
    steps: int = 3
    n_input: int = 5
    n_hidden: int = 4
    dtype: str = "int8"  # activations: int8, or int16 (16x8)
    time_major: bool = False
    activation: str = "TANH"  # the cell gate's
    cell_clip: float = 0.0
    cell_scale: float = 2.0**-11
    input_scale: float = 0.05
    input_zp: int = -3
    hidden_scale: float = 1.0 / 128
    hidden_zp: int = 5
    weight_scale: float = 0.02  # each matrix gets this times a random factor in [0.5, 2)
    bias_range: int = 3000  # biases uniform in +-bias_range (int32) units of input scale x weight scale

    @property
    def shape_in(self) -> tuple[int, int, int]:
        return (self.steps, self.batches, self.n_input) if self.time_major else \
            (self.batches, self.steps, self.n_input)

    @property
    def shape_out(self) -> tuple[int, int, int]:
        return self.shape_in[:2] + (self.n_hidden,)


def add_lstm(b: GraphBuilder, rng: np.random.Generator, case: LstmCase, x: int | None = None,
             cifg: bool = False, peephole: bool = False, projection: bool = False, layer_norm: bool = False) -> int:
    """An LSTM reading `x` (a new graph input when None); returns its output tensor. The variant
    flags add the tensors TFLM refuses."""
    c = case
    wide = c.dtype == "int16"
    input_zp, hidden_zp = (0, 0) if wide else (c.input_zp, c.hidden_zp)
    if x is None:
        x = b.input(c.shape_in, dtype=c.dtype, scale=c.input_scale, zero_point=input_zp)
    hidden = b.variable((c.batches, c.n_hidden), dtype=c.dtype, scale=c.hidden_scale, zero_point=hidden_zp)
    cell = b.variable((c.batches, c.n_hidden), dtype="int16", scale=c.cell_scale, zero_point=0)

    def weights(cols: int, activation_scale: float) -> tuple[int, float]:
        scale = c.weight_scale * float(rng.uniform(0.5, 2.0))
        data = rng.integers(-127, 128, size=(c.n_hidden, cols), dtype=np.int8)
        return b.const(data, scale=scale, zero_point=0), scale * activation_scale

    inputs = [NO_TENSOR] * 24
    inputs[0] = x
    bias_scales = {}
    for gate, (w_in, w_rec) in enumerate(((1, 5), (2, 6), (3, 7), (4, 8))):
        if cifg and gate == 0:
            continue
        inputs[w_in], bias_scales[gate] = weights(c.n_input, c.input_scale)
        inputs[w_rec], _ = weights(c.n_hidden, c.hidden_scale)
    bias_dtype = "int64" if wide else "int32"
    for gate, position in enumerate((12, 13, 14, 15)):
        if cifg and gate == 0:
            continue
        data = rng.integers(-c.bias_range, c.bias_range + 1, size=(c.n_hidden,)).astype(bias_dtype)
        inputs[position] = b.const(data, dtype=bias_dtype, scale=bias_scales[gate], zero_point=0)
    if peephole:
        for position in (9, 10, 11):
            inputs[position] = b.const(rng.integers(-1000, 1000, size=(c.n_hidden,)).astype(np.int16),
                                       scale=2.0**-12, zero_point=0)
    if projection:
        inputs[16] = b.const(rng.integers(-127, 128, size=(c.n_hidden, c.n_hidden), dtype=np.int8), scale=0.02,
                             zero_point=0)
    if layer_norm:
        for position in (20, 21, 22, 23):
            inputs[position] = b.const(rng.integers(-1000, 1000, size=(c.n_hidden,)).astype(np.int16),
                                       scale=2.0**-10, zero_point=0)
    inputs[18], inputs[19] = hidden, cell
    y = b.activation(c.shape_out, dtype=c.dtype, scale=c.hidden_scale, zero_point=hidden_zp)
    b.op("unidirectional_sequence_lstm", inputs, [y], fused_activation_function=c.activation,
         cell_clip=c.cell_clip, time_major=c.time_major)
    return y


def lstm_graph(case: LstmCase, seed: int = 0, **variants):
    b = GraphBuilder("lstm")
    y = add_lstm(b, np.random.default_rng(seed), case, **variants)
    return b.build(outputs=[y])
