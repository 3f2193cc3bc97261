"""Every compile, link and archive step is bounded (TINYQ_TOOL_TIMEOUT, seconds): a wedged or very slow
toolchain ends in one line, not a hang."""

import os
import subprocess
import sys

from test_serial_link import small_model_file


def _verify(tmp_path, timeout_text, *args):
    env = {**os.environ, "TINYQ_TOOL_TIMEOUT": timeout_text}
    model = small_model_file(tmp_path)
    return subprocess.run([sys.executable, "-m", "tinyq", "verify", str(model), "--inputs", "2", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_a_compile_over_the_limit_is_stopped_in_one_line(tmp_path):
    run = _verify(tmp_path, "0.001")
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("tinyq: error")]
    assert run.returncode == 2 and len(errors) == 1, run.stderr
    assert "host compile took more than 0.001 s and was stopped" in run.stderr
    assert "raise TINYQ_TOOL_TIMEOUT" in run.stderr and "Traceback" not in run.stderr


def test_a_bad_limit_is_named(tmp_path):
    run = _verify(tmp_path, "soon")
    assert run.returncode == 2 and "TINYQ_TOOL_TIMEOUT=soon is not a number of seconds" in run.stderr


def test_a_limit_the_build_fits_in_lets_it_run(tmp_path):
    run = _verify(tmp_path, "600")
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr
