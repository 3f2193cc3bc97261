"""Malformed models: each defect class the fuzzer found is refused with one line naming the tensor or op,
or (where the model is valid but odd) generated C that compiles strictly and runs clean under ASan+UBSan.

Models are written with tinyq's builder and writer, then broken through the flatbuffer object API the
way a corrupt or hand-edited file is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, assert_bit_exact
from tinyq.bench.mutate import pack
from tinyq.bench.sanitize import run_sanitized
from tinyq.cli import main
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.lower import lower_graph
from tinyq.passes.fold import fold_constants
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.schema import OPTIONS_CODES, TENSOR_TYPE_CODES, fb
from tinyq.tflite.writer import write_model

LINE_LIMIT = 300


def fc_model(x_scale=0.05, y_scale=0.1, y_zp=3, out_shape=(1, 8), w_scales=(0.01,), bias=True, name="fc"):
    """input (1, 16) -> FULLY_CONNECTED (8 units) -> output: tensor 0 input, 1 weights, 2 bias, 3 output."""
    rng = np.random.default_rng(0)
    b = GraphBuilder(name)
    x = b.input((1, 16), scale=x_scale, zero_point=-3)
    w = b.const(rng.integers(-127, 128, (8, 16)).astype(np.int8), scale=list(w_scales), axis=0)
    bias_t = b.const(rng.integers(-500, 500, 8).astype(np.int32), scale=0.0005) if bias else -1
    y = b.activation(out_shape, scale=y_scale, zero_point=y_zp)
    b.op("fully_connected", [x, w, bias_t], [y])
    return b.build(outputs=[y])


def edited(graph, edit) -> bytes:
    """The graph written as a .tflite, then changed by `edit(model: fb.ModelT)`."""
    model = fb.ModelT.InitFromPackedBuf(write_model(graph), 0)
    edit(model)
    return pack(model)


def refusal(data: bytes) -> str:
    with pytest.raises(TinyqError) as info:
        read_model(data, where="bad.tflite")
    text = str(info.value)
    assert "\n" not in text and len(text) <= LINE_LIMIT, text
    return text


def tensors(model):
    return model.subgraphs[0].tensors


# --- quantization ---

@pytest.mark.parametrize("scale", [math.nan, math.inf, 0.0, -0.5, 1e-45])
def test_scale_that_is_not_a_positive_normal_number_is_refused(scale):
    text = refusal(write_model(fc_model(x_scale=scale)))
    assert "tensor 0 (input0)" in text and "scale" in text


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_zeros_at_scale_0_and_their_product_at_a_subnormal_scale_run(dtype):
    """The TFLite converter's int16 LSTM cell multiplies its forget gate by a zero state of scale 0 and gives
    the product a subnormal scale (3.6e-43 in Ambiq's NNID model): those tensors hold only their zero point,
    TFLM runs them, and they were refused as corrupt. Any other scale below the normal range still is."""
    zp = 0 if dtype == "int16" else -5
    b = GraphBuilder("zero_state")
    x = b.input((1, 8), dtype, scale=0.01, zero_point=zp)
    zeros = b.const(np.full((1, 8), zp), dtype, scale=0.0, zero_point=zp)
    product = b.activation((1, 8), dtype, scale=3.6e-43, zero_point=zp)
    b.op("mul", [x, zeros], [product])
    y = b.activation((1, 8), dtype, scale=0.02, zero_point=zp)
    b.op("add", [product, x], [y])
    assert_bit_exact(read_model(write_model(b.build(outputs=[y]))), n_inputs=5)
    b = GraphBuilder("not_zeros")
    x = b.input((1, 8), dtype, scale=0.01, zero_point=zp)
    y = b.activation((1, 8), dtype, scale=3.6e-43, zero_point=zp)
    b.op("mul", [x, b.const(np.full((1, 8), zp + 1), dtype, scale=0.0, zero_point=zp)], [y])
    assert "a scale must be a positive, finite, normal float32" in refusal(write_model(b.build(outputs=[y])))
    if dtype == "int8":  # the zeros' scale below a ratio (DIV's divisor): one line, not a ZeroDivisionError
        b = GraphBuilder("divide_by_zeros")
        x = b.input((1, 8), dtype, scale=0.01, zero_point=zp)
        y = b.activation((1, 8), dtype, scale=0.02, zero_point=zp)
        b.op("div", [x, b.const(np.full((1, 8), zp), dtype, scale=0.0, zero_point=zp)], [y])
        with pytest.raises(UnsupportedError, match="divides by an operand's scale of 0"):
            lower_graph(read_model(write_model(b.build(outputs=[y]))))


def test_zero_point_outside_the_type_is_refused():
    text = refusal(write_model(fc_model(y_zp=200)))
    assert "tensor 3" in text and "zero point 200" in text and "[-128, 127]" in text


def test_per_channel_scales_must_match_the_channels():
    text = refusal(write_model(fc_model(w_scales=[0.01] * 3)))
    assert "tensor 1" in text and "3 scales for the 8 channels" in text


def test_scale_and_zero_point_counts_must_agree():
    def edit(model):
        tensors(model)[0].quantization.zeroPoint = [0, 0]
    assert "1 scales but 2 zero points" in refusal(edited(fc_model(), edit))


def test_one_zero_point_for_per_channel_scales_reads_as_tflm_reads_it():
    """TFLM's model transforms (tflm_model_transforms.py) shrink a per-channel weight's zero points to one
    (Ameba's model_int8_tflm_optimized.tflite); TFLM reads it for every channel, tinyq refused the file as
    corrupt ('has 8 scales but 1 zero points')."""
    def edit(model):
        tensors(model)[1].quantization.zeroPoint = [0]
    data = edited(fc_model(w_scales=[0.01 * (k + 1) for k in range(8)]), edit)
    from tinyq.boards import get_board
    from tinyq.driver import compile_bytes
    from tinyq.verify.core import verify_host

    assert read_model(data).tensors[1].quant.zero_point == (0,) * 8
    host = get_board("host")
    assert verify_host(compile_bytes(data, host), host, n_inputs=5).ok  # TFLM runs the file's own bytes


def test_missing_zero_points_are_refused():
    """TFLite needs one zero point per scale; TFLM read past an empty list (abort, or allocation failure)."""
    def edit(model):
        tensors(model)[0].quantization.zeroPoint = []
    assert "1 scales but 0 zero points" in refusal(edited(fc_model(), edit))


def test_a_scale_ratio_no_kernel_can_shift_is_refused_by_the_op():
    graph = read_model(write_model(fc_model(x_scale=1e30, bias=False)))  # a finite scale is well formed...
    with pytest.raises(UnsupportedError, match=r"op 0 \(fully_connected\).*multiplier is 2\^\d+.*left by \d+ "
                                               r"bits, which C leaves undefined"):
        lower_graph(graph)  # ...but 1e30 * 0.01 / 0.1 needs a left shift of ~100 bits (UBSan found it in tq_mbqm_q)


def test_fully_connected_bias_scale_must_be_input_times_weight_scale():
    """TFLM refuses a per-tensor FC whose bias scale is not input x weight scale (the fuzzer's 1e30 bias
    scale was accepted by tinyq and refused by TFLM)."""
    def edit(model):
        tensors(model)[2].quantization.scale = [1e30]
    with pytest.raises(UnsupportedError, match=r"bias scale 1e\+30 is not input scale x weight scale"):
        lower_graph(read_model(edited(fc_model(), edit)))


def test_relu6_bound_outside_int32_is_refused():
    b = GraphBuilder("relu6")
    x = b.input((1, 4), scale=1.5e-38, zero_point=0)
    y = b.activation((1, 4), scale=1.5e-38, zero_point=0)
    b.op("relu6", [x], [y])
    with pytest.raises(UnsupportedError, match="does not fit int32"):
        lower_graph(read_model(write_model(b.build(outputs=[y]))))


# --- types, shapes, sizes, buffers ---

def test_unknown_tensor_type_is_refused():
    def edit(model):
        tensors(model)[3].type = 99
    assert "tensor 3" in (text := refusal(edited(fc_model(), edit))) and "type code 99" in text


def test_known_but_unusual_types_still_read():
    """float16 or uint64 activations are TFLite types: inspect must show them (sizes included)."""
    def edit(model):
        tensors(model)[3].type = TENSOR_TYPE_CODES["float16"]
    graph = read_model(edited(fc_model(), edit))
    assert graph.tensors[3].nbytes == 16
    with pytest.raises(UnsupportedError):
        lower_graph(graph)


def test_64_gib_input_is_refused_before_any_stage():
    def edit(model):
        tensors(model)[0].shape = [1, 65536, 65536, 16]
    text = refusal(edited(fc_model(), edit))
    assert "tensor 0" in text and "68,719,476,736 bytes" in text and "2^31" in text


def test_truncated_constant_buffer_is_refused():
    def edit(model):
        buf = model.buffers[tensors(model)[1].buffer]
        buf.data = buf.data[:100]
    text = refusal(edited(fc_model(), edit))
    assert "tensor 1" in text and "holds 100 bytes" in text and "needs 128" in text


def test_variable_with_constant_data_is_refused():
    """TFLM zeroes variable tensors, ignoring their data (weights flagged variable gave wrong results)."""
    def edit(model):
        tensors(model)[1].isVariable = True
    assert "tensor 1" in (text := refusal(edited(fc_model(), edit))) and "variable with constant data" in text


def test_buffer_with_inline_data_and_an_offset_is_refused():
    """TFLM reads the inline data, LiteRT the offset: tinyq would have picked the offset (wrong weights)."""
    def edit(model):
        buf = model.buffers[tensors(model)[1].buffer]
        buf.offset, buf.size = 2, len(buf.data)
    assert "inline data and an offset" in refusal(edited(fc_model(), edit))


def test_negative_and_huge_dimensions_are_refused():
    def negative(model):
        tensors(model)[3].shape = [1, -8]

    def huge(model):
        tensors(model)[3].shape = [2**31 - 1, 2**31 - 1, 2**31 - 1]
    assert "negative dimension" in refusal(edited(fc_model(), negative))
    assert "beyond the 2^31" in refusal(edited(fc_model(), huge))


# --- operators and the graph ---

GRAPH_DEFECTS = {
    "required operand missing": (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [-1, 1, 2]),
                                 "op 0 (fully_connected) input 0 is -1"),
    "too few operands": (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [0]),
                         "has 1 inputs; FULLY_CONNECTED takes 2 to 3"),
    "output -1": (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [-1]), "has output -1"),
    "tensor index out of range": (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [0, 1, 40]),
                                  "refers to tensor 40"),
    "graph output -1": (lambda m: setattr(m.subgraphs[0], "outputs", [-1]), "graph output -1"),
    "no graph outputs": (lambda m: setattr(m.subgraphs[0], "outputs", []), "no outputs"),
    "graph input written by an op": (lambda m: setattr(m.subgraphs[0], "inputs", [0, 3]),
                                     "which is a graph input"),
    "read before written": (lambda m: setattr(m.subgraphs[0], "inputs", []), "reads tensor 0 (input0) before"),
    "op writes a constant": (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [1]), "which is a constant"),
    "options of another op": (lambda m: setattr(m.subgraphs[0].operators[0], "builtinOptionsType",
                                                OPTIONS_CODES["AddOptions"]), "carries AddOptions"),
    "undefined enum value": (lambda m: setattr(m.subgraphs[0].operators[0].builtinOptions,
                                               "fusedActivationFunction", 99), "which TFLite does not define"),
    "opcode index out of range": (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 7),
                                  "opcode index 7"),
}


@pytest.mark.parametrize("defect", sorted(GRAPH_DEFECTS))
def test_graph_defect_is_refused_at_reading(defect):
    edit, fragment = GRAPH_DEFECTS[defect]
    assert fragment in refusal(edited(fc_model(), edit))


def test_written_twice_is_refused():
    b = GraphBuilder("twice")
    x = b.input((1, 4), scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("relu", [x], [y])
    b.op("relu", [x], [y])
    assert "written by op 0 (relu) and again by op 1 (relu)" in refusal(write_model(b.build(outputs=[y])))


def test_reshape_to_a_scalar_with_an_empty_shape_operand_runs():
    """MLIR exports a reshape to a scalar with a shape operand of shape [0] and an empty buffer: no constant,
    to TFLM either, and never written; TFLM never reads RESHAPE's shape (ai-edge-quantizer's
    reshape_with_empty_shape.tflite). It was refused as read before written, then as an empty tensor."""
    b = GraphBuilder("to_scalar")
    x = b.input((1, 1), scale=0.1, zero_point=2)
    y = b.activation((), scale=0.1, zero_point=2)
    b.op("reshape", [x, b.activation((0,), dtype="int32")], [y])
    assert_bit_exact(read_model(write_model(b.build(outputs=[y]))), n_inputs=5)


def test_conv_without_options_is_refused():
    b = GraphBuilder("conv")
    x = b.input((1, 4, 4, 2), scale=0.1, zero_point=0)
    w = b.const(np.ones((2, 3, 3, 2), np.int8), scale=0.01)
    y = b.activation((1, 4, 4, 2), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, -1], [y])

    def edit(model):
        model.subgraphs[0].operators[0].builtinOptionsType = 0
        model.subgraphs[0].operators[0].builtinOptions = None
    assert "has no Conv2DOptions" in refusal(edited(b.build(outputs=[y]), edit))


def test_optional_bias_may_be_absent():
    assert_bit_exact(fc_model(bias=False), n_inputs=5)


# --- shape relations: the op's own check ---

@pytest.mark.parametrize("batch", [3, 1_048_576])
def test_fully_connected_output_batch_must_match_the_input(batch, tmp_path):
    """An FC whose output claims more batches than its input was generated and read past tq_arena (ASan)."""
    path = tmp_path / "fc.tflite"
    path.write_bytes(write_model(fc_model(out_shape=(batch, 8))))
    with pytest.raises(UnsupportedError, match=r"op 0 \(fully_connected\).*1 rows of 16.*output batch"):
        lower_graph(read_model(path.read_bytes()))
    with pytest.raises(SystemExit) as stop:
        main(["generate", str(path), "-o", str(tmp_path / "out")])
    assert stop.value.code == 2 and not (tmp_path / "out").exists()


def test_conv_whose_filter_is_deeper_than_the_input_is_refused_not_a_division_by_zero():
    b = GraphBuilder("conv")
    x = b.input((1, 4, 4, 2), scale=0.1, zero_point=0)
    w = b.const(np.ones((4, 3, 3, 4), np.int8), scale=0.01)
    y = b.activation((1, 4, 4, 4), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, -1], [y])
    with pytest.raises(UnsupportedError, match="do not form whole groups"):
        lower_graph(read_model(write_model(b.build(outputs=[y]))))


# --- constant folding ---

def _slice_graph(strides, out_shape=(2,)):
    b = GraphBuilder("slice")
    data = b.const(np.arange(6, dtype=np.int32).reshape(2, 3))
    begin, end = b.const(np.array([0, 0], np.int32)), b.const(np.array([2, 3], np.int32))
    stride = b.const(np.array(strides, np.int32))
    shape = b.activation(out_shape, dtype="int32")
    b.op("strided_slice", [data, begin, end, stride], [shape])
    x = b.input((1, 6), scale=0.1, zero_point=0)
    y = b.activation((6,), scale=0.1, zero_point=0)
    b.op("reshape", [x, shape], [y])
    return b.build(outputs=[y])


@pytest.mark.parametrize("strides, out_shape, fragment", [
    ([0, 1], (2,), "a stride is 0"),
    ([1, 1], (2,), "computes 6 values, its output [2] holds 2"),
])
def test_folding_refuses_contradicting_operands(strides, out_shape, fragment):
    graph = read_model(write_model(_slice_graph(strides, out_shape)))
    with pytest.raises(TinyqError, match=r"op 0 \(strided_slice\)") as info:
        fold_constants(graph)
    assert fragment in str(info.value)


# --- generated C under the sanitizers ---

def _generate(graph, tmp_path: Path) -> Path:
    path = tmp_path / f"{graph.name}.tflite"
    path.write_bytes(write_model(graph))
    main(["generate", str(path), "-o", str(tmp_path / "gen")])  # returns on success, exits otherwise
    return tmp_path / "gen"


def test_model_without_inputs_compiles_with_werror_and_runs_clean(tmp_path):
    b = GraphBuilder("noin")
    a = b.const(np.arange(8, dtype=np.int8).reshape(1, 8), scale=0.1, zero_point=0)
    c = b.const(np.full((1, 8), 5, np.int8), scale=0.1, zero_point=0)
    y = b.activation((1, 8), scale=0.2, zero_point=0)
    b.op("add", [a, c], [y])
    gen = _generate(b.build(outputs=[y]), tmp_path)
    stage, detail, out = run_sanitized(gen, "noin", [])
    assert stage == "clean", detail
    assert np.frombuffer(out, np.int8).reshape(-1, 8).tolist()[0] == [3, 3, 4, 4, 5, 5, 6, 6]


def test_accumulator_overflow_wraps_as_in_tflm_without_undefined_behaviour(tmp_path):
    """A bias near INT32_MAX makes the int32 sum wrap: TFLM's result, and UB-free C (UBSan found it)."""
    rng = np.random.default_rng(1)
    b = GraphBuilder("wrap")
    x = b.input((1, 64), scale=0.05, zero_point=-128)
    w = b.const(np.full((16, 64), 127, np.int8), scale=0.01, axis=0)
    bias = b.const(np.full(16, 2**31 - 1000, np.int32) - rng.integers(0, 100, 16).astype(np.int32), scale=0.0005)
    y = b.activation((1, 16), scale=0.1, zero_point=0)
    b.op("fully_connected", [x, w, bias], [y])
    graph = b.build(outputs=[y])
    assert_bit_exact(graph, n_inputs=10)
    stage, detail, _ = run_sanitized(_generate(graph, tmp_path), "wrap", [64])
    assert stage == "clean", detail


# --- messages ---

def test_a_corrupt_name_stays_one_short_line():
    graph = fc_model()
    name = "evil\n\x07\x1b[31m" + "x" * 5000

    def edit(model):
        tensors(model)[0].name = name
        tensors(model)[0].quantization.scale = [math.nan]
    text = refusal(edited(graph, edit))
    assert "\x1b" not in text and "\x07" not in text and "scale nan" in text


def test_every_shared_model_passes_validation():
    files = sorted(SHARED.glob("models/*/*.tflite")) + sorted(SHARED.glob("quant/models/*/*.tflite"))
    if not files:
        pytest.skip(f"{SHARED} holds no models")
    for path in files:
        read_model(path.read_bytes(), where=str(path))  # raises on a false refusal


def test_every_op_tinyq_lowers_has_its_operands_checked():
    """An op missing from OPERANDS is not followed by the dataflow check (the fuzzer's SUB that read its own
    output, whatever TFLM's arena held, was accepted)."""
    from tinyq.ops import all_specs
    from tinyq.tflite.validate import CALLS, OPERANDS

    unchecked = [s.builtin for s in all_specs() if s.lower is not None and not s.builtin.startswith("CUSTOM")
                 and s.builtin not in OPERANDS and s.builtin not in CALLS]
    assert not unchecked


@pytest.mark.parametrize("op, dtype", [("sub", "int16"), ("floor", "float32"), ("sin", "float32")])
def test_an_op_reading_its_own_output_is_refused(op, dtype):
    quant = {"scale": 0.1, "zero_point": 0} if dtype == "int16" else {}
    b = GraphBuilder("own_output")
    x = b.input((1, 4), dtype=dtype, **quant)
    y = b.activation((1, 4), dtype=dtype, **quant)
    b.op(op, [y, x] if op == "sub" else [y], [y])  # TFLM would read whatever its arena held there
    assert f"op 0 ({op}) reads tensor 1 (t1) before any op writes it" in refusal(write_model(b.build(outputs=[y])))
