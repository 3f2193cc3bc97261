"""The bind stage: every op's kernel comes from one chain, with its arrays, scratch and reasons."""

from __future__ import annotations

import pytest

from backend_models import all_paths
from conftest import bound_ops, shared_file
from test_int4 import conv_graph, depthwise_graph, fc_graph
from tinyq.backends import BACKENDS, chain, get_backend, layer
from tinyq.bind import bind
from tinyq.codegen.generate import TEMPLATES, render_call
from tinyq.lower import lower_graph
from tinyq.ops.base import Target
from tinyq.passes.fold import fold_constants
from tinyq.plan import plan_memory
from tinyq.plan.flash import array_table
from tinyq.tflite.reader import read_model_file

TARGETS = {"reference": ("scalar",), "cmsis-nn": ("scalar", "dsp", "mve"), "esp-nn": ("scalar", "esp32s3")}


def graphs():
    yield all_paths()
    yield from (conv_graph(), depthwise_graph(), fc_graph())
    yield read_model_file(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_templates_read_exactly_the_bound_arrays(backend):
    """What the flash plan counts and the generator emits (BoundOp.consts) is what each call template
    references: a kernel declaring an array it does not read, or reading one it did not declare, fails."""
    for isa in TARGETS[backend]:
        for graph in graphs():
            bound = bind(lower_graph(fold_constants(graph)), get_backend(backend), Target(isa=isa))
            table = array_table(bound)
            plan = plan_memory(bound)
            for position, op in enumerate(bound.ops):
                *_, referenced = render_call(op, position, bound.graph, plan, table.symbols[position])
                assert referenced == {c.name for c in op.consts}, (backend, isa, op.lowered.kernel, op.function)


def test_every_kernel_has_its_template():
    for backend in BACKENDS.values():
        for name in chain(backend):
            for kernel in layer(name)[1].values():
                if kernel.template:  # a kernel that never applies names none
                    assert (TEMPLATES / kernel.template).is_file(), kernel


def test_each_layer_above_the_reference_says_why_it_passed():
    """On Helium a grouped convolution passes tinyq's kernel and falls to CMSIS-NN; an int16 softmax
    passes ESP-NN and runs the reference kernel; each level's reason is kept."""
    ops = bound_ops(all_paths(), "cmsis-nn", "mve")
    grouped = [o for o in ops if o.lowered.kernel == "conv_2d" and o.lowered.params.filter_d != o.lowered.params.in_d]
    assert grouped and all(o.layer == "cmsis-nn" and o.passed_over == (("tq-mve", "grouped convolution"),)
                           for o in grouped)
    softmax16 = [o for o in bound_ops(all_paths(), "esp-nn") if o.lowered.kernel == "softmax"
                 and o.lowered.params.output_bits == 16]
    assert softmax16 and all(o.layer == "reference" and o.passed_over[-1][0] == "esp-nn" for o in softmax16)
