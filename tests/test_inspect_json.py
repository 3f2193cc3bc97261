"""tinyq inspect --json: the same facts as the text report (ops, kernels, support, tensors), as data."""

import json

from test_cli import fc_model, tinyq, unsupported_model
from tinyq.tflite.reader import read_model_file


def _inspect(*args):
    text = tinyq("inspect", *args)
    data = tinyq("inspect", *args, "--json")
    assert text.returncode == 0 and data.returncode == 0, (text.stderr, data.stderr)
    return text.stdout, json.loads(data.stdout)


def test_a_supported_model_names_each_op_kernel_and_tensor_as_the_text_does(tmp_path):
    path = fc_model(tmp_path)
    text, data = _inspect(path, "--board", "qemu-m55")
    graph = read_model_file(path)
    assert data["model"] == str(path) and data["all_supported"] is True
    assert data["op_count"] == len(graph.operators) == data["supported_ops"] == len(data["ops"])
    assert f"kernels: {data['kernels_for']}" in text
    for op in data["ops"]:
        assert op["kernel"] and op["kernel"] in text and op["op"] in text
        assert op["outputs"] == list(graph.operators[op["index"]].outputs)
    tensors = {t["index"]: t for t in data["tensors"]}
    assert len(tensors) == data["tensor_count"] == len(graph.tensors)
    assert data["constant_bytes"] == sum(t["bytes"] for t in tensors.values() if t["constant"])
    assert data["activation_bytes"] == sum(t["bytes"] for t in tensors.values() if not t["constant"])
    x = graph.tensors[graph.inputs[0]]
    assert data["inputs"] == [tensors[x.index]]
    assert data["inputs"][0]["quant"] == {"scale": [x.quant.s], "zero_point": [x.quant.zp], "axis": None}
    assert data["inputs"][0]["shape"] == list(x.shape) and data["inputs"][0]["dtype"] == x.dtype


def test_an_unsupported_op_says_why_as_the_text_does(tmp_path):
    text, data = _inspect(unsupported_model(tmp_path))
    assert data["all_supported"] is False and data["supported_ops"] == 0
    (op,) = data["ops"]
    assert op["op"] == "floor" and op["supported"] is False and op["kernel"] == ""
    assert op["reason"] and f"UNSUPPORTED: {op['reason']}" in text
