"""State that survives invocations (tinyq/plan/state.py): the planner's state region, the generated
reset, the harnesses' sequences, and the TFLM corpus's recurrent and streaming models (LSTM, SVDF)
bit-exact over sequences of invocations on the host and under QEMU.
"""

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_bit_exact, shared_file
from lstm_models import LstmCase, add_lstm, lstm_graph
from test_svdf import SvdfCase, add_svdf
from tinyq.backends import get_backend
from tinyq.bind import bind
from tinyq.boards import get_board
from tinyq.build.libraries import link_inputs
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_file, compile_graph
from tinyq.golden import _interpreter, _output_count
from tinyq.lower import lower_graph
from tinyq.ops.base import HOST
from tinyq.plan import plan_memory
from tinyq.plan.buffers import tensor_lifetimes
from tinyq.plan.state import persistent_tensors, reset_fill
from tinyq.plan.verify import verify_tensors
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import verify_host, verify_qemu
from tinyq.verify.compare import compare_outputs
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner

CORPUS_MODELS = [  # every TFLM corpus model with an LSTM or SVDF
    "examples_mnist_lstm_trained_lstm_int8.tflite",
    "third_party_xtensa_examples_micro_speech_lstm_micro_speech_lstm.tflite",
    "examples_dtln_dtln_noise_suppression.tflite",
    "models_keyword_scrambled.tflite",
    "models_keyword_scrambled_8bit.tflite",
]


def stateful_graph():
    """Two LSTMs and two SVDFs between ordinary ops: four state regions' worth of variable tensors."""
    rng = np.random.default_rng(11)
    b = GraphBuilder("stateful")
    y1 = add_lstm(b, rng, LstmCase(steps=1, hidden_zp=-7))
    y2 = add_lstm(b, rng, LstmCase(steps=1, n_input=4, n_hidden=6, input_scale=1.0 / 128, input_zp=-7), x=y1)
    z1 = add_svdf(b, rng, SvdfCase(state="int8", state_scale=0.5, state_zp=-50, output_scale=2.0))
    z2 = add_svdf(b, rng, SvdfCase(batches=2, state_zp=7))
    return b.build(outputs=[y2, z1, z2])


def _plan(graph):
    bound = bind(lower_graph(graph), get_backend("reference"), HOST)
    return bound, plan_memory(bound)


def test_state_region_is_packed_live_throughout_and_shared_with_nothing():
    graph = stateful_graph()
    bound, plan = _plan(graph)
    state = persistent_tensors(bound.lowered)
    assert len(state) == 6 and all(graph.tensors[t].is_variable for t in state)
    owners = [b for b in plan.buffers if set(state) & set(b.tensors)]
    assert len(owners) == 1 and set(state) <= set(owners[0].tensors)  # one region
    region = owners[0]
    steps = len(plan.execution_order(len(bound.ops)))
    assert (region.first, region.last) == (0, steps)  # before the first op to after the outputs
    spans = sorted((plan.tensor_offset(t), plan.tensor_offset(t) + graph.tensors[t].nbytes) for t in state)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # packed, not overlapping
    assert all(o % 16 == 0 for o, _ in spans)
    start = plan.offsets[plan.buffers.index(region)]
    for buf, off in zip(plan.buffers, plan.offsets):
        if buf is not region:
            assert off + buf.size <= start or off >= start + region.size, buf.name
    life = tensor_lifetimes(bound.lowered, plan.execution_order(len(bound.ops)))
    assert all((life[t].first, life[t].last) == (0, steps) for t in state)


def test_verify_rejects_a_plan_that_lends_state_bytes_to_an_activation():
    graph = stateful_graph()
    bound, plan = _plan(graph)
    state = persistent_tensors(bound.lowered)
    region = next(i for i, b in enumerate(plan.buffers) if state[0] in b.tensors)
    victim = next(i for i, b in enumerate(plan.buffers) if b.tensors and not set(b.tensors) & set(state)
                  and b.last < plan.buffers[region].last)
    offsets = list(plan.offsets)
    offsets[victim] = offsets[region]  # an activation placed over the state when the state "is idle"
    with pytest.raises(AssertionError, match="overlap|persistent tensor"):
        verify_tensors(bound.lowered, replace(plan, offsets=tuple(offsets)), tuple(b.inplace for b in bound.ops))


def test_reset_values_are_tflms():
    graph = stateful_graph()
    fills = {graph.tensors[t].dtype + str(graph.tensors[t].quant.zp): reset_fill(graph.tensors[t])
             for t in persistent_tensors(lower_graph(graph))}
    # int8: the zero point's byte; int16 (even with a zero point) and others: 0 (ResetTensorData)
    assert fills == {"int8-7": 0xF9, "int85": 5, "int160": 0, "int8-50": 0xCE, "int167": 0}


def test_stateful_graph_bit_exact_over_a_sequence():
    assert_bit_exact(stateful_graph(), n_inputs=80)


RESET_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "{name}_model.h"
/* argv: records, then the record indices before which to call reset */
int main(int argc, char **argv) {{
  long n = strtol(argv[1], NULL, 10);
  const void *ins[TINYQ_{NAME}_NUM_INPUTS];
  void *outs[TINYQ_{NAME}_NUM_OUTPUTS];
  for (int i = 0; i < TINYQ_{NAME}_NUM_INPUTS; ++i) ins[i] = malloc((size_t)tinyq_{name}_input(i)->bytes);
  for (int i = 0; i < TINYQ_{NAME}_NUM_OUTPUTS; ++i) outs[i] = malloc((size_t)tinyq_{name}_output(i)->bytes);
  for (long r = 0; r < n; ++r) {{
    for (int a = 2; a < argc; ++a) if (strtol(argv[a], NULL, 10) == r) tinyq_{name}_reset();
    for (int i = 0; i < TINYQ_{NAME}_NUM_INPUTS; ++i)
      if (fread((void *)ins[i], 1, (size_t)tinyq_{name}_input(i)->bytes, stdin) != (size_t)tinyq_{name}_input(i)->bytes) return 3;
    if (tinyq_{name}_invoke_v(ins, outs) != 0) return 4;
    for (int i = 0; i < TINYQ_{NAME}_NUM_OUTPUTS; ++i) fwrite(outs[i], 1, (size_t)tinyq_{name}_output(i)->bytes, stdout);
  }}
  printf("%d", TINYQ_{NAME}_STATE_BYTES);
  return 0;
}}
"""


def _run_with_resets(compiled, tmp_path: Path, inputs, resets) -> tuple[bytes, int]:
    name = compiled.source.name
    folder = write_output_dir(tmp_path / "model", compiled.source.files)
    (folder / "main.c").write_text(RESET_MAIN.format(name=name, NAME=name.upper()))
    board = get_board("host")
    libs = link_inputs(compiled.source.libraries, board.toolchain.cc, board.toolchain.cflags)
    subprocess.run([board.toolchain.cc, *board.toolchain.cflags, "-Wall", "-Wextra", "-Werror", "-I.", *libs.cflags,
                    *sorted(p.name for p in folder.glob("*.c")), "-o", "reset_test", *map(str, libs.archives),
                    *board.toolchain.ldflags], cwd=folder, check=True, capture_output=True)
    stdin = b"".join(np.ascontiguousarray(a).tobytes() for record in inputs for a in record)
    run = subprocess.run([str(folder / "reset_test"), str(len(inputs)), *map(str, resets)], input=stdin,
                         capture_output=True, check=True)
    out_bytes = sum(compiled.graph.tensors[t].nbytes for t in compiled.graph.outputs)
    body, state_bytes = run.stdout[:out_bytes * len(inputs)], int(run.stdout[out_bytes * len(inputs):])
    return body, state_bytes


def _tflm_with_resets(model: bytes, inputs, resets) -> bytes:
    interp = _interpreter(model, 1 << 22)
    n_out = _output_count(model)
    out = []
    for r, record in enumerate(inputs):
        if r in resets:
            interp.reset()
        for i, a in enumerate(record):
            interp.set_input(a, i)
        interp.invoke()
        out += [np.ascontiguousarray(interp.get_output(i)).tobytes() for i in range(n_out)]
    return b"".join(out)


def test_generated_reset_restores_the_state_as_tflms_reset(tmp_path):
    graph = stateful_graph()
    compiled = compile_graph(graph, get_board("host"))
    inputs = make_inputs(graph, 60, seed=2)
    resets = (20, 21, 45)
    ours, state_bytes = _run_with_resets(compiled, tmp_path, inputs, resets)
    assert ours == _tflm_with_resets(compiled.model, inputs, resets)
    assert ours != _run_with_resets(compiled, tmp_path / "again", inputs, ())[0]  # the resets changed the outputs
    assert state_bytes == sum(graph.tensors[t].nbytes for t in persistent_tensors(compiled.lowered))


def test_stateless_model_has_a_reset_that_does_nothing(tmp_path):
    b = GraphBuilder("plain")
    x = b.input((1, 8), scale=0.1, zero_point=0)
    y = b.activation((1, 8), scale=0.1, zero_point=0)
    b.op("relu", [x], [y])
    compiled = compile_graph(b.build(outputs=[y]), get_board("host"))
    header = compiled.source.files["plain_model.h"]
    assert "#define TINYQ_PLAIN_STATE_BYTES 0" in header and "void tinyq_plain_reset(void);" in header
    inputs = make_inputs(compiled.graph, 4)
    ours, state_bytes = _run_with_resets(compiled, tmp_path, inputs, (2,))
    assert state_bytes == 0 and ours == _tflm_with_resets(compiled.model, inputs, (2,))


def _qemu_session(compiled, board, tmp_path):
    from tinyq.build.arm import build_firmware
    from tinyq.build.firmware import project_files
    from tinyq.build.toolchain import cpu_flags
    from tinyq.run.qemu import _Session

    root = write_output_dir(tmp_path / board.name, project_files(compiled, board, cpu_flags(board)))
    return _Session(board, build_firmware(root, board).elf.resolve(), tmp_path)


def test_firmware_records_carry_state_and_z_resets_it(tmp_path):
    """Under QEMU: "i" records continue one sequence, "z" starts it again, as TFLM's reset()."""
    import time

    graph = lstm_graph(LstmCase(steps=1, n_input=3, n_hidden=4), seed=5)
    board = get_board("qemu-m55")
    compiled = compile_graph(graph, board)
    inputs = make_inputs(graph, 6, seed=1)
    deadline = time.monotonic() + 120
    with _qemu_session(compiled, board, tmp_path) as session:
        while not session.next_line(deadline, "ready line").startswith("tinyq-ready"):
            pass
        lines = []
        for step, record in enumerate(inputs + inputs):
            if step == len(inputs):
                session.send("z\n")
                assert session.next_line(deadline, "reset answer") == "z"
            session.send("i" + record[0].tobytes().hex() + "\n")
            lines.append(session.next_line(deadline, f"result {step}"))
    outputs = [bytes.fromhex(line.split(" ", 3)[3]) for line in lines]
    expected = _tflm_with_resets(compiled.model, inputs + inputs, (len(inputs),))
    assert b"".join(outputs) == expected
    assert outputs[:len(inputs)] == outputs[len(inputs):]  # the reset sequence repeats the first
    assert len(set(outputs[:len(inputs)])) > 1


@pytest.mark.parametrize("model", CORPUS_MODELS)
def test_corpus_models_bit_exact_over_a_sequence(model):
    path = shared_file("models", "tflm-corpus", model)
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_file(path, get_board("host"), backend=backend)
        assert {"unidirectional_sequence_lstm", "svdf"} & {k.op.op for k in compiled.lowered.ops}
        assert persistent_tensors(compiled.lowered)
        result = verify_host(compiled, get_board("host"), n_inputs=60)
        assert result.ok, (backend, result.mismatches[:3])


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_corpus_models_bit_exact_in_qemu(board):
    b = get_board(board)
    for model in CORPUS_MODELS:
        path = shared_file("models", "tflm-corpus", model)
        for backend in ("reference", "cmsis-nn"):
            report = verify_qemu(compile_file(path, b, backend=backend), b, n_inputs=50)
            assert report.result.ok, (model, backend)


STREAMING_KWS = Path(__file__).parent / "data" / "streaming"


def _keyword_stream(graph) -> list[list[np.ndarray]]:
    """The four test utterances, frame after frame, quantized to the model's input."""
    x = graph.tensors[graph.inputs[0]]
    frames = np.load(STREAMING_KWS / "keywords.npy").reshape(-1, 40)
    q = np.clip(np.round(frames / x.quant.s) + x.quant.zp, -128, 127).astype(np.int8)
    return [[f.reshape(x.shape)] for f in q]


def test_converter_streaming_keyword_model_bit_exact_frame_by_frame(tmp_path):
    """The TFLite converter's streaming LSTM keyword model (tests/data/streaming): one frame per invoke,
    state carried, over 96 frames of utterances (one stream, then reset before each utterance as a
    keyword spotter would) and 60 random frames, reference and CMSIS-NN."""
    board = get_board("host")
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_file(STREAMING_KWS / "streaming_kws_lstm_int8.tflite", board, backend=backend)
        assert "unidirectional_sequence_lstm" in [k.op.op for k in compiled.lowered.ops]
        stream = _keyword_stream(compiled.graph)
        ours = HostRunner(board).run(compiled, stream).outputs
        assert compare_outputs(compiled.model, compiled.graph, stream, ours).ok
        assert verify_host(compiled, board, n_inputs=60).ok
        resets = (0, 24, 48, 72)
        each, _ = _run_with_resets(compiled, tmp_path / backend, stream, resets)
        assert each == _tflm_with_resets(compiled.model, stream, resets)
    scores = np.frombuffer(each, dtype=np.int8).reshape(4, 24, 4)
    assert scores[:, -1].argmax(axis=1).tolist() == [0, 1, 2, 3]  # from a reset state it spots each keyword


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_converter_streaming_keyword_model_bit_exact_in_qemu(board):
    b = get_board(board)
    for backend in ("reference", "cmsis-nn"):
        compiled = compile_file(STREAMING_KWS / "streaming_kws_lstm_int8.tflite", b, backend=backend)
        assert verify_qemu(compiled, b, n_inputs=60).result.ok, backend
