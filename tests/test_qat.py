"""tinyq finetune: the fake-quantized torch graph against TFLM's integer model, the export, the command.

Models are built here with GraphBuilder (random weights, fixed seeds), so nothing depends on ../shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="finetune needs PyTorch: pip install 'tinyq[qat]'")
pytest.importorskip("tflite_micro", reason="the integer models run in TFLM: pip install 'tinyq[tflm]'")

from tinyq.ir import NO_TENSOR  # noqa: E402
from tinyq.qat.export import quantized_graph, start_from  # noqa: E402
from tinyq.qat.model import QatGraph  # noqa: E402
from tinyq.qat.pipeline import int_outputs  # noqa: E402
from tinyq.quantize import QuantizeConfig, quantize_graph  # noqa: E402
from tinyq.tflite.builder import GraphBuilder  # noqa: E402
from tinyq.tflite.writer import write_model  # noqa: E402


def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def small_cnn(seed: int = 0, classes: int = 5):
    """conv (RELU) -> depthwise (RELU6) -> add (residual) -> max pool -> conv stride 2 -> average pool ->
    reshape -> FC -> softmax: every kind of op the MLPerf models use, on a 6x6x2 input."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("small_cnn")
    x = b.input((1, 6, 6, 2), dtype="float32")
    c1 = b.activation((1, 6, 6, 4), dtype="float32")
    b.op("conv_2d", [x, b.const(_f32(rng, 4, 3, 3, 2, scale=0.4)), b.const(_f32(rng, 4, scale=0.1))], [c1],
         padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU")
    d1 = b.activation((1, 6, 6, 4), dtype="float32")
    b.op("depthwise_conv_2d", [c1, b.const(_f32(rng, 1, 3, 3, 4, scale=0.5)), b.const(_f32(rng, 4, scale=0.1))],
         [d1], padding="SAME", stride_w=1, stride_h=1, depth_multiplier=1, fused_activation_function="RELU6")
    s = b.activation((1, 6, 6, 4), dtype="float32")
    b.op("add", [c1, d1], [s])
    p = b.activation((1, 3, 3, 4), dtype="float32")
    b.op("max_pool_2d", [s], [p], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    c2 = b.activation((1, 2, 2, 8), dtype="float32")
    b.op("conv_2d", [p, b.const(_f32(rng, 8, 3, 3, 4, scale=0.3)), b.const(_f32(rng, 8, scale=0.1))], [c2],
         padding="SAME", stride_w=2, stride_h=2, fused_activation_function="RELU")
    g = b.activation((1, 1, 1, 8), dtype="float32")
    b.op("average_pool_2d", [c2], [g], padding="VALID", stride_w=1, stride_h=1, filter_width=2, filter_height=2)
    flat = b.activation((1, 8), dtype="float32")
    b.op("reshape", [g, b.const(np.array([1, 8], dtype=np.int32), "int32")], [flat], new_shape=(1, 8))
    logits = b.activation((1, classes), dtype="float32")
    b.op("fully_connected", [flat, b.const(_f32(rng, classes, 8, scale=0.6)), b.const(_f32(rng, classes))],
         [logits])
    probs = b.activation((1, classes), dtype="float32")
    b.op("softmax", [logits], [probs], beta=1.0)
    return b.build(outputs=[probs])


def small_autoencoder(seed: int = 0):
    """FC 16 -> 6 (RELU) -> 16: a model without classes, for --distill."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("small_ae")
    x = b.input((1, 16), dtype="float32")
    h = b.activation((1, 6), dtype="float32")
    b.op("fully_connected", [x, b.const(_f32(rng, 6, 16, scale=0.4)), b.const(_f32(rng, 6, scale=0.1))], [h],
         fused_activation_function="RELU")
    y = b.activation((1, 16), dtype="float32")
    b.op("fully_connected", [h, b.const(_f32(rng, 16, 6, scale=0.4)), b.const(_f32(rng, 16, scale=0.1))], [y])
    return b.build(outputs=[y])


def _inputs(seed: int, n: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n,) + tuple(shape)).astype(np.float32)


def _output_step(qgraph) -> float:
    return qgraph.tensors[qgraph.outputs[0]].quant.s


def _tflm_values(qgraph, x) -> dict:
    """Every tensor TFLM computes, dequantized, batched: IR index -> (N, ...) float64."""
    from tinyq.golden import tflm_run_layers
    from tinyq.qmath import round_half_away

    quant = qgraph.tensors[qgraph.inputs[0]].quant
    xi = np.clip(round_half_away(x / quant.s) + quant.zp, -128, 127).astype(np.int8)
    layers = tflm_run_layers(qgraph, [[v[None]] for v in xi])
    values = {}
    for t in layers[0]:
        tensor = qgraph.tensors[t]
        ints = np.stack([layer[t] for layer in layers]).astype(np.float64).reshape((len(x),) + tensor.shape[1:])
        values[t] = (ints - tensor.quant.zp) * tensor.quant.s
    return values


EXACT_OPS = ("conv_2d", "depthwise_conv_2d", "fully_connected", "average_pool_2d", "max_pool_2d", "reshape")


@pytest.mark.parametrize("weights", ["int8", "int4"])
def test_fake_quant_forward_matches_tflm_within_one_step(weights):
    """Each op of the fake-quant pass, fed TFLM's own inputs, lands within one step of TFLM's output, and
    exactly on it where the fake quant models the kernel's integer arithmetic: conv, depthwise and FC
    requantize with TFLM's two roundings, the average pool rounds the mean of the stored values (add and
    softmax have their own fixed point, a rare value one off); the whole pass agrees closely."""
    graph = small_cnn()
    x = _inputs(1, 64, (6, 6, 2))
    result = quantize_graph(graph, [x], QuantizeConfig(weights=weights, self_check=False))
    qgraph = result.graph
    model = QatGraph(start_from(result)).double()
    tflm = _tflm_values(qgraph, x)
    given = {t: torch.from_numpy(v) for t, v in tflm.items()}
    with torch.no_grad():
        per_op, _ = model.run([torch.from_numpy(x).double()], given=given)
        whole, _ = model.run([torch.from_numpy(x).double()])
    exact = 0
    for op in result.float_graph.operators:
        t = op.outputs[0]
        steps = np.abs(per_op[t].numpy() - tflm[t]) / qgraph.tensors[t].quant.s
        assert steps.max() <= 1.0 + 1e-4, f"{op.op} (tensor {t}): {steps.max():.2f} steps from TFLM"
        if op.op in EXACT_OPS:
            assert steps.max() < 1e-3, f"{op.op} (tensor {t}): {steps.max():.2f} steps from TFLM"
            exact += 1
    assert exact == 7
    out = qgraph.outputs[0]
    steps = np.abs(whole[out].numpy() - tflm[out]) / qgraph.tensors[out].quant.s
    assert steps.mean() < 1.0  # the one-off values of each layer add up, through int4 weights too
    assert np.mean(whole[out].numpy().argmax(axis=1) == tflm[out].argmax(axis=1)) >= 0.9
    assert len(np.unique(tflm[out].argmax(axis=1))) > 1  # not a constant model: the comparison means something


def test_fake_quant_differs_from_float_by_more_than_it_differs_from_integers():
    """The fake-quant pass models rounding: it is nearer the integer model than the float pass is."""
    graph = small_cnn(seed=3)
    x = _inputs(2, 64, (6, 6, 2))
    result = quantize_graph(graph, [x], QuantizeConfig(weights="int4", self_check=False))
    model = QatGraph(start_from(result)).double()
    with torch.no_grad():
        (fake,), _ = model([torch.from_numpy(x).double()])
        (flt,), _ = model([torch.from_numpy(x).double()], quantize=False)
    tflm = int_outputs(result.graph, [x])[0]
    assert np.abs(fake.numpy().reshape(tflm.shape) - tflm).mean() < np.abs(flt.numpy().reshape(tflm.shape) -
                                                                            tflm).mean()


@pytest.mark.parametrize("weights", ["int8", "int4"])
def test_export_of_the_start_is_the_quantizers_model(weights):
    """Before any step, the rewrite of the learned values gives back tinyq quantize's integers exactly.

    With nearest rounding: every channel then holds a +-qmax weight, which is what carries the step through
    the quantizer's max-abs rule (a channel GPTQ rounded below qmax everywhere gets a finer step instead)."""
    graph = small_cnn()
    x = _inputs(1, 64, (6, 6, 2))
    config = QuantizeConfig(weights=weights, self_check=False)
    if hasattr(config, "rounding"):
        config = replace(config, rounding="nearest")
    result = quantize_graph(graph, [x], config)
    exported = quantized_graph(QatGraph(start_from(result)), result, epochs=0)
    for op in result.graph.operators:
        for t in op.inputs:
            if t == NO_TENSOR:
                continue
            a, b = result.graph.tensors[t], exported.tensors[t]
            assert a.dtype == b.dtype and (a.quant is None) == (b.quant is None), (op.op, t)
            if a.quant is not None:  # a step float32 cannot carry through max|w| / qmax moves by one ulp
                np.testing.assert_allclose(a.quant.scale, b.quant.scale, rtol=3e-7, err_msg=f"{op.op} {t}")
                assert a.quant.zero_point == b.quant.zero_point
            if a.is_const:
                np.testing.assert_array_equal(a.data, b.data)
    assert write_model(exported) != b""
    x_test = _inputs(5, 16, (6, 6, 2))
    np.testing.assert_array_equal(int_outputs(result.graph, [x_test])[0], int_outputs(exported, [x_test])[0])


def test_a_step_moves_weights_and_ranges():
    graph = small_cnn()
    x = _inputs(1, 32, (6, 6, 2))
    result = quantize_graph(graph, [x], QuantizeConfig(weights="int4", self_check=False))
    model = QatGraph(start_from(result))
    (out,), (logits,) = model([torch.from_numpy(x)])
    loss = torch.nn.functional.cross_entropy(logits.reshape(32, -1), torch.zeros(32, dtype=torch.long))
    loss.backward()
    assert all(p.grad is not None and torch.any(p.grad != 0) for p in model.weights.values())
    assert any(p.grad is not None and torch.any(p.grad != 0) for p in model.ratios.values())
    assert any(p.grad is not None and p.grad != 0 for p in model.hi.values())


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def _teacher_labels(graph, x) -> np.ndarray:
    from tinyq.qat.pipeline import float_outputs
    from tinyq.quantize import CalibrationSet

    return float_outputs(graph, CalibrationSet((x,)))[0].argmax(axis=1).astype(np.int64)


def test_finetune_command_writes_a_model_tflm_and_tinyq_run_bit_exact(tmp_path):
    graph = small_cnn()
    model = tmp_path / "float.tflite"
    model.write_bytes(write_model(graph))
    x = _inputs(7, 120, (6, 6, 2))
    labels = _teacher_labels(graph, x)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels)
    out = tmp_path / "int4.tflite"
    r = _run("finetune", model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--epochs", 2,
             "-o", out)
    assert r.returncode == 0, r.stderr
    assert "held-out accuracy" in r.stdout and "model kept" in r.stdout
    assert "epoch 1/2" in r.stderr
    from tinyq.tflite.reader import read_model_file

    q = read_model_file(out)
    kinds = {q.tensors[op.inputs[1]].dtype for op in q.operators if op.op in ("conv_2d", "fully_connected")}
    assert kinds == {"int4"}
    v = _run("verify", out, "--inputs", 20, cwd=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr
    j = _run("finetune", model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--epochs", 1,
             "-o", tmp_path / "again.tflite", "--json")
    assert j.returncode == 0, j.stderr
    summary = json.loads(j.stdout)
    assert summary["bytes"] == (tmp_path / "again.tflite").stat().st_size and summary["score"] == "accuracy"
    assert summary["kept"] in ("post-training", "finetuned") and summary["training"]["epochs"] == 1
    assert set(summary["scores"]) == {"float", "post-training", "finetuned"}


def test_finetune_distill_on_an_autoencoder(tmp_path):
    from tinyq.qat.pipeline import finetune_graph
    from tinyq.quantize import CalibrationSet

    graph = small_autoencoder()
    x = _inputs(3, 200, (16,))
    result = finetune_graph(graph, CalibrationSet((x,)), distill=True, weights="int4", show_progress=False)
    assert result.score_name == "output SQNR (dB)"
    assert result.scores["finetuned"] is not None
    assert result.scores["post-training"] is not None
    from tinyq.qat.train import clearly_worse

    rows = result.training.rows
    lowest = min(rows, key=lambda r: r.holdout_loss)
    assert not clearly_worse(rows[result.training.best_epoch].holdout_losses, lowest.holdout_losses)
    # post-training is kept only where the held-out samples clearly prefer it
    assert result.kept == "finetuned" or result.losses["post-training"] < result.losses["finetuned"]
    assert result.holdout >= 5 and result.training.rows[0].epoch == 0
    assert result.graph is (result.finetuned if result.kept == "finetuned" else result.post_training)


@pytest.mark.parametrize("args, message", [
    (["--epochs", 1], "give --labels Y.npy (classification) or --distill"),
    (["--labels", "y_short.npy"], "does not match the 120 data samples"),
    (["--labels", "y.npy", "--distill"], "--labels and --distill exclude each other"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    graph = small_cnn()
    (tmp_path / "float.tflite").write_bytes(write_model(graph))
    x = _inputs(7, 120, (6, 6, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.zeros(120, dtype=np.int64))
    np.save(tmp_path / "y_short.npy", np.zeros(7, dtype=np.int64))
    r = _run("finetune", "float.tflite", "--data", "x.npy", *args, "-o", "out.tflite", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("tinyq: error:") and message in lines[-1], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out.tflite").exists()


def test_an_op_finetune_cannot_run_is_refused_in_one_line(tmp_path):
    b = GraphBuilder("with_exp")
    x = b.input((1, 4), dtype="float32")
    h = b.activation((1, 4), dtype="float32")
    b.op("fully_connected", [x, b.const(np.eye(4, dtype=np.float32)), -1], [h])
    y = b.activation((1, 4), dtype="float32")
    b.op("exp", [h], [y])
    (tmp_path / "float.tflite").write_bytes(write_model(b.build(outputs=[y])))
    np.save(tmp_path / "x.npy", _inputs(0, 20, (4,)))
    r = _run("finetune", "float.tflite", "--data", "x.npy", "--distill", "-o", "out.tflite", cwd=tmp_path)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tinyq: error:") and "exp" in last, r.stderr
    assert not (tmp_path / "out.tflite").exists()


def test_the_hard_case_network_is_written_as_torch_computes_it():
    """mobilenet_digits: batch norm folded into the convolutions, TFLite's SAME padding; LiteRT runs the
    written .tflite to the torch network's probabilities."""
    from tinyq.qat.mobilenet_digits import Net, to_graph
    from tinyq.qat.pipeline import float_outputs
    from tinyq.quantize import CalibrationSet

    torch.manual_seed(0)
    net = Net()
    x = _inputs(4, 32, (8, 8, 1))
    net.train()
    with torch.no_grad():
        for _ in range(3):  # moving batch-norm statistics away from (0, 1)
            net(torch.from_numpy(x) * 3 + 1)
    net.eval()
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()
    got = float_outputs(to_graph(net), CalibrationSet((x,)))[0]
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_training_the_hard_case_leaves_torchs_thread_count_as_it_was():
    """train_net trains on one thread; a fine-tune the bench runs after it must not inherit that (one thread
    rounds differently, so the same seed gave other models in a different case order)."""
    from tinyq.qat.mobilenet_digits import train_net

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train_net(_inputs(8, 3, (8, 8, 1)), np.arange(8) % 10, epochs=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


MLPERF = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "mlperf-tiny"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ad_fc_autoencoder", "kws_dscnn", "ic_resnet8"])
def test_mlperf_float_models_run_as_litert_and_fake_quant_as_tflm(name):
    """The MLPerf Tiny float models' structure (FC, conv, depthwise, add, pooling, reshape, softmax): the
    torch graph's float pass equals LiteRT's, and each fake-quant op (int4 weights) lands within one step of
    TFLM running the model finetune writes."""
    from tinyq.qat.model import Start
    from tinyq.qat.pipeline import float_outputs
    from tinyq.quantize import CalibrationSet
    from tinyq.quantize.prepare import prepare_float_graph
    from tinyq.tflite.reader import read_model_file

    path = MLPERF / f"{name}_float32.tflite"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared)")
    graph = read_model_file(path)
    prepared = prepare_float_graph(graph)
    shape = prepared.tensors[prepared.inputs[0]].shape[1:]
    x = _inputs(0, 8, shape) * (30.0 if name == "kws_dscnn" else 1.0)
    result = quantize_graph(graph, CalibrationSet((x,)), QuantizeConfig(weights="int4", self_check=False))
    model = QatGraph(start_from(result))

    layers = model.layers
    as_float = Start(graph=prepared, weights={i: prepared.tensors[prepared.operators[i].inputs[1]].data
                                              for i in layers},
                     weight_dtypes={}, weight_steps={i: np.ones(1) for i in layers},
                     biases={i: prepared.tensors[prepared.operators[i].inputs[2]].data for i in layers
                             if len(prepared.operators[i].inputs) > 2 and prepared.operators[i].inputs[2] != NO_TENSOR},
                     ranges={t: (0.0, 1.0) for t in result.activations})
    with torch.no_grad():
        (flt,), _ = QatGraph(as_float)([torch.from_numpy(x)], quantize=False)
    reference = float_outputs(prepared, CalibrationSet((x,)))[0]
    np.testing.assert_allclose(flt.numpy().reshape(reference.shape), reference, rtol=0,
                               atol=1e-5 * np.abs(reference).max())

    written = quantized_graph(model, result, epochs=0)
    tflm = _tflm_values(written, x)
    with torch.no_grad():
        per_op, _ = model.run([torch.from_numpy(x)], given={t: torch.from_numpy(v).float() for t, v in tflm.items()})
    for op in result.float_graph.operators:
        t = op.outputs[0]
        steps = np.abs(per_op[t].numpy() - tflm[t]) / written.tensors[t].quant.s
        assert steps.max() <= 1.0 + 1e-3, f"{op.op} (tensor {t}): {steps.max():.2f} steps from TFLM"


def test_mixed_weights_keep_the_quantizers_choice_of_int4_layers():
    from tinyq.qat.config import TrainConfig
    from tinyq.qat.pipeline import finetune_graph
    from tinyq.quantize import CalibrationSet

    graph = small_cnn()
    x = _inputs(7, 60, (6, 6, 2))
    result = finetune_graph(graph, CalibrationSet((x,)), labels=_teacher_labels(graph, x), weights="mixed",
                            train_config=TrainConfig(epochs=1), show_progress=False)

    def weight_types(g):
        return [g.tensors[op.inputs[1]].dtype for op in g.operators
                if op.op in ("conv_2d", "depthwise_conv_2d", "fully_connected")]

    assert weight_types(result.finetuned) == weight_types(result.post_training)
    assert {"int4", "int8"} <= set(weight_types(result.finetuned))


def test_the_same_data_and_seed_give_the_same_file():
    from tinyq.qat.config import TrainConfig
    from tinyq.qat.pipeline import finetune_graph
    from tinyq.quantize import CalibrationSet

    graph = small_cnn()
    x = _inputs(7, 60, (6, 6, 2))
    labels = _teacher_labels(graph, x)
    runs = [finetune_graph(graph, CalibrationSet((x,)), labels=labels, weights="int4",
                           train_config=TrainConfig(epochs=2, patience=2), show_progress=False) for _ in range(2)]
    first = runs[0].training.rows
    assert first[1].holdout_loss != first[0].holdout_loss  # the runs trained: their equality means something
    assert [r.holdout_loss for r in first] == [r.holdout_loss for r in runs[1].training.rows]
    assert write_model(runs[0].finetuned) == write_model(runs[1].finetuned)


def test_training_runs_on_one_thread_whatever_the_machine(monkeypatch):
    """torch's threads split some sums, so a seed's model would depend on the machine's cores: training runs
    on tinyq's fixed count and gives torch back the caller's."""
    import tinyq.qat.train as train_module
    from tinyq.qat.config import TrainConfig
    from tinyq.qat.pipeline import TRAIN_THREADS, finetune_graph
    from tinyq.quantize import CalibrationSet

    seen = []
    real_train = train_module.train

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(train_module, "train", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        graph = small_cnn()
        x = _inputs(7, 30, (6, 6, 2))
        finetune_graph(graph, CalibrationSet((x,)), labels=_teacher_labels(graph, x), weights="int4",
                       train_config=TrainConfig(epochs=1, patience=1, min_steps=2), show_progress=False)
        assert seen == [TRAIN_THREADS] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_without_torch_the_command_says_how_to_get_it(monkeypatch):
    from tinyq.errors import TinyqError
    from tinyq.qat import command

    real = command.importlib.util.find_spec
    monkeypatch.setattr(command.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(TinyqError, match=r"PyTorch") as info:
        command.require_torch()
    assert "tinyq[qat]" in str(info.value)


def test_the_other_ops_fake_quantize_within_one_step():
    """pad, logistic, tanh, mul, sub, relu6, leaky_relu, concatenation and mean: each op, fed TFLM's inputs,
    within one step of TFLM (mean requantizes its sum: often one off, never more)."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("misc")
    x = b.input((1, 4, 4, 3), dtype="float32")
    c = b.activation((1, 4, 4, 4), dtype="float32")
    b.op("conv_2d", [x, b.const(_f32(rng, 4, 1, 1, 3, scale=0.5)), b.const(_f32(rng, 4, scale=0.1))], [c],
         padding="SAME", stride_w=1, stride_h=1)

    def unary(op, src, shape=(1, 6, 6, 4), extra=(), **options):
        out = b.activation(shape, dtype="float32")
        b.op(op, [*src, *extra], [out], **options)
        return out

    p = unary("pad", [c], extra=[b.const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], dtype=np.int32), "int32")])
    logistic, tanh = unary("logistic", [p]), unary("tanh", [p])
    s = unary("sub", [unary("mul", [logistic, tanh]), tanh])
    cat = unary("concatenation", [unary("relu6", [s]), unary("leaky_relu", [s], alpha=0.2)], shape=(1, 6, 6, 8),
                axis=3)
    mean = unary("mean", [cat], shape=(1, 8), extra=[b.const(np.array([1, 2], dtype=np.int32), "int32")],
                 keep_dims=False)
    graph = b.build(outputs=[mean])
    x_data = _inputs(0, 32, (4, 4, 3))
    result = quantize_graph(graph, [x_data], QuantizeConfig(self_check=False))
    model = QatGraph(start_from(result))
    written = quantized_graph(model, result, epochs=0)
    tflm = _tflm_values(written, x_data)
    with torch.no_grad():
        per_op, _ = model.run([torch.from_numpy(x_data)],
                              given={t: torch.from_numpy(v).float() for t, v in tflm.items()})
    seen = set()
    for op in result.float_graph.operators:
        t = op.outputs[0]
        steps = np.abs(per_op[t].numpy() - tflm[t]) / written.tensors[t].quant.s
        assert steps.max() <= 1.0 + 1e-3, f"{op.op}: {steps.max():.2f} steps from TFLM"
        seen.add(op.op)
    assert {"pad", "logistic", "tanh", "mul", "sub", "relu6", "leaky_relu", "concatenation", "mean"} <= seen
