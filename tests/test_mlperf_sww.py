"""MLPerf Tiny's newer benchmarks: the streaming wake word benchmark's UART mode (sww01) and IC02's model id.

A two-model project (TFLM's micro_speech: audio preprocessor + classifier) built as benchmark
firmware reports `m-model-[sww01]`; the runner's exchange — `db load N`, `db <hex>`, then
`extract_uart_stream` per stride of audio — answers `m-features-[...]` (the newest feature row)
and `m-activations-[...]` (the classifier's int8 scores), compared with TFLM running both files
over the audio streamed so far, in QEMU."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from test_micro_speech import LABELS, micro_speech_paths, synthesized
from tinyq.boards import get_board
from tinyq.build.pipeline import compile_pipeline
from tinyq.cli import main
from tinyq.pipeline import golden_classification
from tinyq.serial.firmware import INPUT_MODE, mlperf_model

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")


def test_ic02_is_the_large_resnet():
    assert mlperf_model("pretrainedResnet_large_int8") == "ic02" and mlperf_model("ic02_model") == "ic02"
    assert mlperf_model("pretrainedResnet_quant") == "ic01" and mlperf_model("ic_resnet8_int8") == "ic01"
    assert INPUT_MODE["ic02"] == INPUT_MODE["ic01"]  # uint8 pixels shifted to int8, as ic01


def _ints(line: str, key: str) -> list[int]:
    m = re.fullmatch(rf"m-{key}-\[(.*)\]", line)
    assert m, line
    return [int(v) for v in m.group(1).split(",") if v.strip()]


@needs_qemu
def test_sww01_uart_stream_in_qemu(tmp_path):
    from tinyq.serial.dut import Dut
    from tinyq.serial.firmware import build_dut_firmware
    from tinyq.serial.link import Link
    from tinyq.serial.qemu import QemuSerial, SerialSpec, free_port

    pre, cls = micro_speech_paths()
    root = tmp_path / "sww"
    main(["generate", str(pre), str(cls), "-o", str(root), "--board", "qemu-m55", "--stride", "320",
          "--labels", LABELS])
    board = get_board("qemu-m55")
    build = build_dut_firmware(root, board)
    assert build.mlperf_model == "sww01"
    p = compile_pipeline(pre, cls, get_board("host"), stride=320, labels=tuple(LABELS.split(",")))
    audio = synthesized(0.2, 3)  # 3200 samples: 10 strides
    stride = p.shape.stride
    with QemuSerial(board, build.elf, SerialSpec("tcp", free_port())) as q, Link(q.url, timeout=60) as link:
        link.sync()
        profile = link.command("profile")
        assert "m-model-[sww01]" in profile
        link.command("tinyq-audio-reset")
        dut = Dut(link)
        for k in range(1, audio.size // stride + 1):
            chunk = audio[(k - 1) * stride:k * stride].astype("<i2").tobytes()
            dut.load(chunk, per_line=60)
            reply = link.command("extract_uart_stream")
            features = _ints(next(x for x in reply if x.startswith("m-features-")), "features")
            activations = _ints(next(x for x in reply if x.startswith("m-activations-")), "activations")
            want = golden_classification(pre.read_bytes(), cls.read_bytes(), p.shape, p.classifier.graph,
                                         audio[:k * stride])
            assert activations == np.frombuffer(want.outputs, np.int8)[:p.shape.classes].tolist(), k
            if want.frames:
                newest = want.features[-p.shape.feature_bytes:]
                assert features == np.frombuffer(newest, np.int8).tolist(), k
            else:
                assert features == [], k
