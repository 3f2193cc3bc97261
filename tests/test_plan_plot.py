"""tinyq plan --plot: layer names on the steps, in-place sharing drawn as such, the board's RAM."""

from __future__ import annotations

import numpy as np
import pytest

from test_api import _int8_model
from tinyq import driver
from tinyq.boards import get_board
from tinyq.plan.plot import layer_name, step_labels
from tinyq.tflite.reader import read_model


@pytest.fixture(scope="module")
def planned():
    graph = read_model(_int8_model(seed=4), name="plot_cnn")
    bound = driver.front(graph, get_board("host"))
    return bound.lowered, driver.plan(bound)


def test_steps_are_labelled_with_op_kernel_and_layer(planned):
    lowered, plan = planned
    order = plan.execution_order(len(lowered.ops))
    labels = step_labels(lowered, order)
    assert len(labels) == len(order)
    for label, p in zip(labels, order):
        first, second = label.split("\n")
        assert first == f"{p}: {lowered.ops[p].op.op} [{lowered.ops[p].kernel}]"
        assert second == layer_name(lowered, p)
        assert second == lowered.graph.tensors[lowered.ops[p].op.outputs[0]].name[:28] or second.startswith("...")


def test_plot_draws_the_board_ram_line_or_a_note(planned, tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    from tinyq.plan.plot import plot_plan

    lowered, plan = planned

    def crimson_pixels(path):
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        return int(((abs(r - 220) < 25) & (g < 60) & (abs(b - 60) < 30)).sum())

    near = plot_plan(lowered, plan, tmp_path / "near.png", title="near", ram_bytes=plan.arena_bytes * 2, board="b")
    far = plot_plan(lowered, plan, tmp_path / "far.png", title="far", ram_bytes=plan.arena_bytes * 100, board="b")
    none = plot_plan(lowered, plan, tmp_path / "none.png", title="none")
    assert crimson_pixels(none) == 0
    assert crimson_pixels(near) > 3 * crimson_pixels(far) > 0  # a line across the plot vs a legend sample
