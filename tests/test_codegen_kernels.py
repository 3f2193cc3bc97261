"""The C files templates ask for: each exists, one name means one file across layers (a model that calls
two layers gets one copy of a shared file, and a layer shares another's file by naming it, never by a copy)."""

import re
from collections import defaultdict

from tinyq.codegen.generate import kernel_source
from tinyq.resources import templates_dir

LIST = re.compile(r"{%\s*set kernel_files\s*=\s*\[(.*?)\]\s*%}", re.S)


def requested():
    """(template, folder, entry) for every kernel_files entry of every call template."""
    for template in sorted(templates_dir().glob("*/*.j2")):
        m = LIST.search(template.read_text())
        if m:
            for entry in re.findall(r'"([^"]+)"', m.group(1)):
                yield template, template.parent.name, entry


def test_every_requested_kernel_file_exists():
    missing = [(t.name, e) for t, folder, e in requested() if not (templates_dir() / kernel_source(folder, e)[1]).is_file()]
    assert not missing
    assert sum(1 for _ in requested()) > 100  # the scan sees the templates


def test_a_kernel_file_name_belongs_to_one_layer():
    owners = defaultdict(set)
    for path in templates_dir().glob("*/kernels/*"):
        owners[path.name].add(path.parent.parent.name)
    assert {name: sorted(o) for name, o in owners.items() if len(o) > 1} == {}


def test_a_layer_names_another_layers_file_instead_of_copying_it():
    assert kernel_source("tq_mve", "tq_mve_lstm.c") == ("tq_mve_lstm.c", "tq_mve/kernels/tq_mve_lstm.c")
    assert kernel_source("tq_mve", "reference/tq_lstm.h") == ("tq_lstm.h", "reference/kernels/tq_lstm.h")
    shared = {(folder, e) for _, folder, e in requested() if "/" in e}
    assert ("cmsis_nn", "reference/tq_cores.c") in shared and ("tq_mve", "reference/tq_lstm.h") in shared
