"""The C libraries optimized backends call, and the release of each tinyq pins.

Data only: the backends read the pins (their kernels' rules follow that release),
the build (tinyq/build/libraries.py) compiles them and the generated projects fetch them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    name: str
    env: str  # environment variable naming a checkout
    repository: str
    version: str  # the release tinyq pins
    probe: str  # a file every checkout has, relative to its root
    header: str  # the generated glue header that marks a model as calling the library
    includes: tuple[str, ...]
    source_dirs: tuple[str, ...]  # searched recursively for *.c
    exclude_suffixes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # explicit list (instead of source_dirs)
    component: str = ""  # the ESP-IDF component manager's version range, for ESP-IDF projects


LIBRARIES = {
    "cmsis-nn": Library(
        name="cmsis-nn", env="TINYQ_CMSIS_NN_DIR", repository="https://github.com/ARM-software/CMSIS-NN",
        version="v7.0.0", probe="Include/arm_nnfunctions.h", header="tq_cmsis_nn.h", includes=("Include",),
        source_dirs=("Source",), exclude_suffixes=("_f16.c", "_f32.c")),
    # The plain C and generic optimized files: what builds for any target but the S3,
    # whose assembly files ESP-IDF's component build adds itself.
    "esp-nn": Library(
        name="esp-nn", env="TINYQ_ESP_NN_DIR", repository="https://github.com/espressif/esp-nn",
        version="v1.2.0", probe="include/esp_nn.h", header="tq_esp_nn.h", includes=("include", "src/common"),
        source_dirs=(), sources=(
            "src/activation_functions/esp_nn_relu_ansi.c", "src/basic_math/esp_nn_add_ansi.c",
            "src/basic_math/esp_nn_mul_ansi.c", "src/convolution/esp_nn_conv_ansi.c",
            "src/convolution/esp_nn_conv_opt.c", "src/convolution/esp_nn_depthwise_conv_ansi.c",
            "src/convolution/esp_nn_depthwise_conv_opt.c", "src/fully_connected/esp_nn_fully_connected_ansi.c",
            "src/softmax/esp_nn_softmax_ansi.c", "src/softmax/esp_nn_softmax_opt.c",
            "src/pooling/esp_nn_avg_pool_ansi.c", "src/pooling/esp_nn_max_pool_ansi.c"), component="^1.2.3"),
}
