"""tinyq doctor: what decides the answers, against the pins; and where the versions are recorded."""

from __future__ import annotations

import json
import subprocess
import sys

from tinyq.doctor import Component, components, report
from tinyq.oracle_check import differences


def tinyq(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True)


def test_doctor_shows_the_pinned_oracle_and_float_runtime():
    run = tinyq("doctor", "--format", "json")
    assert run.returncode == 0, run.stderr
    rows = {r["name"]: r for r in json.loads(run.stdout)}
    for name in ("tflite-micro", "ai-edge-litert"):
        assert rows[name]["pinned"] and rows[name]["found"] == rows[name]["pinned"], rows[name]
    assert rows["qemu-system-arm"]["found"] and rows["arm-none-eabi-gcc"]["found"]
    assert rows["cmsis-nn"]["pinned"] == "v7.0.0-43-g99f736a6"


def test_a_different_version_is_a_warning():
    items = components() + [Component("tflite-micro", "0.dev20990101000000", "0.dev20261023182759")]
    text = report(items)
    assert "DIFFERS" in text and "warning: tflite-micro 0.dev20990101000000 differs" in text


def test_library_checkout_version_is_read_from_the_snapshot(monkeypatch):
    """A checkout whose files are the pin's is the pin; another release is named and differs."""
    from conftest import VENDOR, shared_file

    shared_file("vendor", "esp-nn-v1.2.0")
    monkeypatch.setenv("TINYQ_ESP_NN_DIR", str(VENDOR / "esp-nn-v1.2.0"))
    esp = next(c for c in components() if c.name == "esp-nn")
    assert esp.found == "1.2.0~1" and esp.pinned == "1.2.3" and not esp.ok
    monkeypatch.setenv("TINYQ_ESP_NN_DIR", str(VENDOR / "esp-nn-d45b843"))
    esp = next(c for c in components() if c.name == "esp-nn")
    assert esp.found == esp.pinned == "1.2.3" and esp.ok


def test_projects_record_what_made_them(tmp_path):
    from test_firmware import generate_project, model_file

    project = generate_project(tmp_path, model_file(tmp_path, "small"), "qemu-m55")
    made = json.loads((project.root / "tinyq-project.json").read_text())["versions"]
    assert made["tinyq"] and made["tflite-micro"]


def test_oracle_check_reports_changed_verdicts():
    before = {"t::a": "passed", "t::b": "passed", "t::c": "skipped"}
    after = {"t::a": "passed", "t::b": "failed", "t::d": "passed"}
    assert differences(before, after) == [("t::b", "passed", "failed"), ("t::c", "skipped", "-"),
                                          ("t::d", "-", "passed")]
