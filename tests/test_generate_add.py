"""`tinyq generate MODEL -o DIR --add`: several models in one application. Both models link together
(one copy of each kernel) and each computes what TFLM computes, in one program; what cannot be joined
is refused in one line and the folder stays as it was."""

import shutil
import subprocess

import numpy as np
import pytest

from test_cli import tinyq
from tinyq.golden import tflm_run
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the host C compiler")


def conv_model(tmp_path, name, seed):
    """conv -> fully connected: the two models share the fully connected kernel."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    x = b.input((1, 6, 6, 2), scale=0.05, zero_point=-3)
    c = b.activation((1, 3, 3, 4), scale=0.08, zero_point=5)
    b.op("conv_2d", [x, b.const(rng.integers(-127, 128, (4, 3, 3, 2)), "int8", scale=[0.01] * 4, zero_point=[0] * 4,
                                axis=0), b.const(rng.integers(-500, 500, 4), "int32", scale=[0.0005] * 4,
                                                 zero_point=[0] * 4)], [c], padding="SAME", stride_w=2, stride_h=2)
    f = b.activation((1, 36), scale=0.08, zero_point=5)
    b.op("reshape", [c, b.const(np.array([1, 36]), "int32")], [f])
    y = b.activation((1, 5), scale=0.2, zero_point=-1)
    b.op("fully_connected", [f, b.const(rng.integers(-127, 128, (5, 36)), "int8", scale=[0.02], zero_point=[0]),
                             -1], [y])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


def fc_model(tmp_path, name, seed):
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    x = b.input((1, 10), scale=0.1, zero_point=2)
    y = b.activation((1, 3), scale=0.3, zero_point=0)
    b.op("fully_connected", [x, b.const(rng.integers(-127, 128, (3, 10)), "int8", scale=[0.02], zero_point=[0]),
                             -1], [y])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


MAIN = """#include <stdio.h>
#include "first_model.h"
#include "second_model.h"
int main(void) {
    int8_t a[72], b[10], ya[5], yb[3];
    for (int i = 0; i < 72; i++) a[i] = (int8_t)(i * 37 - 90);
    for (int i = 0; i < 10; i++) b[i] = (int8_t)(i * 23 - 100);
    if (tinyq_first_invoke(a, ya) != 0 || tinyq_second_invoke(b, yb) != 0) return 1;
    for (int i = 0; i < 5; i++) printf("%d ", ya[i]);
    printf("\\n");
    for (int i = 0; i < 3; i++) printf("%d ", yb[i]);
    printf("\\n");
    return 0;
}
"""


def test_two_models_link_into_one_program_and_each_matches_tflm(tmp_path):
    first, second = conv_model(tmp_path, "first", 1), fc_model(tmp_path, "second", 2)
    app = tmp_path / "app"
    assert tinyq("generate", first, "-o", app).returncode == 0
    added = tinyq("generate", second, "-o", app, "--add")
    assert added.returncode == 0, added.stderr
    kernels = sorted(p.name for p in app.glob("tq_fully_connected*"))
    assert kernels == ["tq_fully_connected.c", "tq_fully_connected.h"]  # one copy, shared
    (tmp_path / "main.c").write_text(MAIN)
    exe = tmp_path / "app.out"
    subprocess.run(["gcc", "-O1", f"-I{app}", str(tmp_path / "main.c"), *map(str, sorted(app.glob("*.c"))),
                    "-o", str(exe), "-lm"], check=True, capture_output=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    a = (np.arange(72) * 37 - 90).astype(np.int8).reshape(1, 6, 6, 2)
    b = (np.arange(10) * 23 - 100).astype(np.int8).reshape(1, 10)
    for line, path, x in ((lines[0], first, a), (lines[1], second, b)):
        want = tflm_run(path.read_bytes(), [[x]])[0][0].reshape(-1).tolist()
        assert [int(v) for v in line.split()] == want


def test_what_cannot_be_joined_is_refused_and_the_folder_stays(tmp_path):
    first = conv_model(tmp_path, "first", 1)
    app = tmp_path / "app"
    assert tinyq("generate", first, "-o", app).returncode == 0
    before = {p.name: p.read_bytes() for p in app.iterdir()}
    (tmp_path / "other").mkdir()
    other = conv_model(tmp_path / "other", "first", 3)  # another model that takes the same C name
    clash = tinyq("generate", other, "-o", app, "--add")
    assert clash.returncode == 2 and "already holds a model that writes first_model" in clash.stderr
    assert "--name" in clash.stderr and "Traceback" not in clash.stderr
    kernel = app / "tq_fully_connected.c"
    kernel.write_text(kernel.read_text() + "/* another tinyq */\n")
    before["tq_fully_connected.c"] = kernel.read_bytes()
    mixed = tinyq("generate", fc_model(tmp_path, "second", 2), "-o", app, "--add")
    assert mixed.returncode == 2 and "tq_fully_connected.c differs from the folder's" in mixed.stderr
    assert {p.name: p.read_bytes() for p in app.iterdir()} == before
    empty = tmp_path / "empty"
    empty.mkdir()
    none = tinyq("generate", first, "-o", empty, "--add")
    assert none.returncode == 2 and "holds none" in none.stderr and not any(empty.iterdir())
    project = tinyq("generate", first, "-o", app, "--add", "--board", "qemu-m55")
    assert project.returncode == 2 and "--board host" in project.stderr
