"""Is the generated code bit-exact with TFLM? One driver (`verify`) over host, QEMU and serial runners."""

from tinyq.verify.compare import Mismatch, VerifyResult, compare_outputs, split_outputs, summarize
from tinyq.verify.core import (QemuReport, Verification, format_report, run_project, verify, verify_host,
                               verify_qemu)
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner, QemuRunner, RunResult, SerialRunner

__all__ = ["HostRunner", "Mismatch", "QemuReport", "QemuRunner", "RunResult", "SerialRunner", "Verification",
           "VerifyResult", "compare_outputs", "format_report", "make_inputs", "run_project", "split_outputs",
           "summarize", "verify", "verify_host", "verify_qemu"]
