"""The ESP-NN backend (its plain C path, on the host) against TFLM, and its ESP32-S3
scratch sizes against the library's own functions.

Needs ESP-NN (the pinned 1.2.3: TINYQ_ESP_NN_DIR, which conftest points at ../shared/vendor,
or an earlier fetch); skipped otherwise. No
ESP32-S3 compiler or QEMU exists here, so the S3 code is generated, not run.
"""

from __future__ import annotations

import ctypes
import dataclasses
import subprocess

import pytest

from backend_models import MODELS, all_paths, configure_cmake_snippet, merge, seeded
from conftest import assert_bit_exact, bound_ops, shared_file
from tinyq.backends.esp_nn import scratch as esp_nn
from tinyq.backends import get_backend
from tinyq.bind import bind_op
from tinyq.ops.base import Target
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_file, compile_graph
from tinyq.lower import lower_graph
from tinyq.tflite.reader import read_model_file
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_host

pytestmark = pytest.mark.skipif(not libraries.available("esp-nn"),
                                reason="set TINYQ_ESP_NN_DIR to a checkout of the pinned ESP-NN to test its backend")

MLPERF = ["kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite", "ad_fc_autoencoder_int8.tflite"]


def test_per_op_models_bit_exact_on_host():
    """Every per-op model of backend_models.py side by side in one build, on ESP-NN's plain C."""
    compiled = assert_bit_exact(all_paths(), n_inputs=10, backend="esp-nn")
    fallbacks = sum(not c.optimized for c in compiled.bound.ops)
    assert fallbacks == 8  # 2 dilated, 1 grouped, 2 broadcasting, 1 int16 softmax, 2 int4 (test_fallbacks_say_why)


def test_generic_optimized_path_bit_exact_on_host():
    """ESP-NN's generic optimized C (what ESP-IDF builds for chips other than the S3, with
    CONFIG_NN_OPTIMIZED): its conv/depthwise/softmax differ from the plain C ones."""
    host = get_board("host")
    board = dataclasses.replace(host, toolchain=dataclasses.replace(
        host.toolchain, cflags=host.toolchain.cflags + ("-DCONFIG_NN_OPTIMIZED",)))
    compiled = compile_graph(all_paths(), board, backend="esp-nn", arena="fast")
    result = verify_host(compiled, board, n_inputs=10)
    assert result.ok, summarize(result, compiled.graph)


def test_fallbacks_say_why():
    """Dilated and grouped convolutions, broadcasting add/mul, int16 softmax and int4 weights fall back."""
    reasons = [c.reason for make in MODELS.values()
               for c in bound_ops(make(), "esp-nn") if not c.optimized]
    assert sum("ignores dilation" in r for r in reasons) == 2
    assert sum("no groups" in r for r in reasons) == 1
    assert sum("broadcasts" in r for r in reasons) == 2
    assert sum("int8 only" in r for r in reasons) == 1
    assert sum("ESP-NN has no int4 kernels" in r for r in reasons) == 2


def test_relu6_on_unit_scale():
    """esp_nn_relu6_s8 clamps raw values to [0, 6]: exact for a unit-scale, zero-point-0 RELU6 only."""
    b = GraphBuilder("relu6")
    x = b.input((3, 50), scale=1.0, zero_point=0)
    y = b.activation((3, 50), scale=1.0, zero_point=0)
    b.op("relu6", [x], [y])
    compiled = assert_bit_exact(b.build([y]), n_inputs=6, backend="esp-nn")
    assert compiled.bound.ops[0].function == "esp_nn_relu6_s8"


@pytest.mark.slow
def test_mlperf_models_bit_exact_on_host():
    """The three MLPerf Tiny int8 models side by side in one build."""
    graph = merge([read_model_file(shared_file("models", "mlperf-tiny", m)) for m in MLPERF], "mlperf")
    board = get_board("host")
    compiled = compile_graph(graph, board, backend="esp-nn", arena="fast")
    assert all(c.optimized or "view" in c.reason for c in compiled.bound.ops)
    result = verify_host(compiled, board, n_inputs=20)
    assert result.ok, summarize(result, compiled.graph)


def test_esp32s3_build_plans_the_s3_scratch_and_names_the_component():
    path = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    s3 = compile_file(path, get_board("esp32s3"), backend="esp-nn", arena="fast")
    host = compile_file(path, get_board("host"), backend="esp-nn", arena="fast")
    assert s3.plan.arena_bytes > host.plan.arena_bytes
    assert [c.scratch_bytes for c in s3.bound.ops[:2]] != [0, 0]
    # by default the S3 kernels whose scratch would raise the arena give way to ones that do not
    guarded = compile_file(path, get_board("esp32s3"), backend="esp-nn")
    assert guarded.plan.arena_bytes == host.plan.arena_bytes
    assert 'espressif/esp-nn: "==1.2.3"' in s3.source.files["idf_component.yml"]  # the release the rules follow
    assert "GIT_TAG d45b843ca5f873ca9d0706ab0e7f14eafd132e98" in s3.source.files["esp_nn.cmake"]


# --- the S3 scratch sizes against esp_nn_get_*_scratch_size_esp32s3 ------------------------------

class Dims(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in ("width", "height", "channels", "extra")]


def _params_type(depthwise: bool):
    fields = [("in_offset", ctypes.c_int32), ("out_offset", ctypes.c_int32)]
    fields += [("ch_mult", ctypes.c_int32)] if depthwise else []
    fields += [(f"{t}_{a}", ctypes.c_int32) for t in ("stride", "padding", "dilation") for a in ("w", "h")]
    fields += [("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]
    return type("Params", (ctypes.Structure,), {"_fields_": fields})


@pytest.fixture(scope="module")
def s3_sizes(tmp_path_factory) -> ctypes.CDLL:
    """The S3 C files compiled for the host, their assembly kernels stubbed: only the size functions run."""
    root = libraries.library_dir("esp-nn")
    work = tmp_path_factory.mktemp("esp_s3")
    sources = [root / "src/convolution/esp_nn_conv_esp32s3.c", root / "src/convolution/esp_nn_depthwise_conv_s8_esp32s3.c"]
    flags = ["-O1", "-fPIC", "-w", f"-I{root / 'include'}", f"-I{root / 'src/common'}"]
    objects = []
    for src in sources:
        obj = work / (src.stem + ".o")
        subprocess.run(["cc", *flags, "-c", str(src), "-o", str(obj)], check=True)
        objects.append(str(obj))
    undefined = subprocess.run(["nm", "-u", *objects], capture_output=True, text=True, check=True).stdout.split()
    stubs = sorted({s for s in undefined if s.startswith("esp_nn_")})
    (work / "stubs.c").write_text("".join(f"void {s}(void) {{}}\n" for s in stubs))
    so = work / "libesp_s3_sizes.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), *objects, str(work / "stubs.c")], check=True)
    return ctypes.CDLL(str(so))


def _random_params(rng, depthwise: bool):
    from tinyq.ops.conv_2d import Conv2DParams
    from tinyq.ops.depthwise_conv_2d import DepthwiseConv2DParams
    # a fifth large enough for the tiled branches (inputs past 40 KB / 48 KB of int16)
    big = rng.random() < 0.2
    in_h, in_w = (int(rng.integers(20, 60)), int(rng.integers(20, 60))) if big else \
        (int(rng.integers(1, 14)), int(rng.integers(1, 14)))
    in_d = int(rng.choice([1, 3, 5, 8, 12, 16, 20, 24, 32, 40, 64]))
    fh, fw = (3, 3) if rng.random() < 0.5 else (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    sh, sw = (1, 1) if rng.random() < 0.5 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad_h, pad_w = (0, 0) if rng.random() < 0.4 else (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
    out_h, out_w = max(1, (in_h + sh - 1) // sh), max(1, (in_w + sw - 1) // sw)
    common = dict(batches=1, in_h=in_h, in_w=in_w, in_d=in_d, out_h=out_h, out_w=out_w, filter_h=fh, filter_w=fw,
                  stride_h=sh, stride_w=sw, dilation_h=1, dilation_w=1, pad_h=pad_h, pad_w=pad_w, input_offset=0,
                  output_offset=0, act_min=-128, act_max=127, has_bias=True)
    if depthwise:
        multiplier = int(rng.choice([1, 1, 2, 4, 8]))
        return DepthwiseConv2DParams(depth_multiplier=multiplier, out_d=in_d * multiplier, **common)
    return Conv2DParams(out_d=int(rng.integers(1, 40)), filter_d=in_d, **common)


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
def test_s3_scratch_matches_library(s3_sizes, depthwise):
    rng = seeded("s3 scratch", depthwise)
    Params = _params_type(depthwise)
    function = getattr(s3_sizes, "esp_nn_get_depthwise_conv_scratch_size_esp32s3" if depthwise
                       else "esp_nn_get_conv_scratch_size_esp32s3")
    for _ in range(400):
        p = _random_params(rng, depthwise)
        out_d = p.in_d * p.depth_multiplier if depthwise else p.out_d
        extra = dict(ch_mult=p.depth_multiplier) if depthwise else {}
        params = Params(stride_w=p.stride_w, stride_h=p.stride_h, padding_w=p.pad_w, padding_h=p.pad_h,
                        dilation_w=1, dilation_h=1, act_min=-128, act_max=127, **extra)
        want = function(ctypes.byref(Dims(p.in_w, p.in_h, p.in_d, 1)),
                        ctypes.byref(Dims(p.filter_w, p.filter_h, p.in_d, out_d)),
                        ctypes.byref(Dims(p.out_w, p.out_h, out_d, 1)), ctypes.byref(params))
        mine = esp_nn.depthwise_scratch_s3(p) if depthwise else esp_nn.conv_scratch_s3(p)
        assert mine == want, p


def test_targets_choose_their_scratch():
    conv = lower_graph(MODELS["conv_paths"]()).ops[2]  # 3x3, padded
    backend = get_backend("esp-nn")
    assert bind_op(conv, backend, Target(isa="esp32s3")).scratch_bytes == esp_nn.conv_scratch_s3(conv.params) > 0
    assert bind_op(conv, backend, Target()).scratch_bytes == 0


def test_generated_cmake_uses_the_plain_c_files(tmp_path):
    compiled = compile_graph(MODELS["softmax_int8"](), get_board("host"), backend="esp-nn", arena="fast")
    assert "TINYQ_ESP_NN_DIR" in compiled.source.files["esp_nn.cmake"]
    assert compiled.source.libraries == ("esp-nn",)
    sources = configure_cmake_snippet(tmp_path, compiled.source.files, "esp_nn.cmake", "tinyq_esp_nn")
    assert sources == len(libraries.source_files("esp-nn"))
