"""The C libraries optimized backends call, and the release of each tinyq pins.

Data only: the backends read the pins (their kernels' rules follow that release),
the build (tinyq/build/libraries.py) fetches and compiles them and the generated
projects fetch them. A pin is one exact commit everywhere: tinyq's own fetch (its
files' digest checked), the generated CMake (GIT_TAG), the ESP-IDF manifest, the
scratch and in-place rules, and the tests' default snapshot (tests/conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    name: str
    env: str  # environment variable naming a checkout
    archive_env: str  # environment variable naming an archive (path or URL) of the pinned release
    repository: str
    version: str  # the release tinyq pins, as people name it
    commit: str  # its full git commit: what tinyq and the generated projects fetch
    tree: tuple[str, ...]  # the folders (and files) of the release tinyq reads and keeps
    tree_sha256: str  # digest of those files (tinyq.build.libraries.tree_digest): checked on every fetch
    fixes: frozenset[str]  # upstream issues the pinned release fixes that an earlier tag has (rules ask)
    probe: str  # a file every checkout has, relative to its root
    header: str  # the generated glue header that marks a model as calling the library
    includes: tuple[str, ...]
    source_dirs: tuple[str, ...]  # searched recursively for *.c
    exclude_suffixes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # explicit list (instead of source_dirs)
    component: str = ""  # the ESP-IDF component manager's version spec, for ESP-IDF projects

    @property
    def archive_url(self) -> str:
        """GitHub's archive of the pinned commit (its bytes may change; the digest of its files does not)."""
        return f"{self.repository}/archive/{self.commit}.tar.gz"

    @property
    def short(self) -> str:
        return f"{self.name} {self.version}"


LIBRARIES = {
    # main after v7.0.0: fixes buffer-size functions that under-allocate (#200, the s4 Helium size
    # path among them), single-rounding requantization overflow (#220), LSTM state (#219) and
    # transpose-conv output rows for top padding not a multiple of the stride (#233)
    "cmsis-nn": Library(
        name="cmsis-nn", env="TINYQ_CMSIS_NN_DIR", archive_env="TINYQ_CMSIS_NN_ARCHIVE",
        repository="https://github.com/ARM-software/CMSIS-NN", version="v7.0.0-43-g99f736a6",
        commit="99f736a63036613032f9b70de36b493bcd7802d4", tree=("Include", "Source", "LICENSE"),
        tree_sha256="71f0c1ab79bcb970dca0207931d1dd5b24792b7e084343781fe0a1a6378225a4",
        fixes=frozenset({"200", "219", "220", "233"}),
        probe="Include/arm_nnfunctions.h", header="tq_cmsis_nn.h", includes=("Include",),
        source_dirs=("Source",), exclude_suffixes=("_f16.c", "_f32.c")),
    # 1.2.3 (master d45b843, the component registry's 1.2.3; the repository has no tag for it): its
    # generic optimized C requantizes as TFLM does (1.2.0's skipped the nudge) and its S3 kernels
    # need less scratch. The plain C and generic optimized files: what builds for any target but
    # the S3, whose SIMD files ESP-IDF's component build adds itself.
    "esp-nn": Library(
        name="esp-nn", env="TINYQ_ESP_NN_DIR", archive_env="TINYQ_ESP_NN_ARCHIVE",
        repository="https://github.com/espressif/esp-nn", version="1.2.3",
        commit="d45b843ca5f873ca9d0706ab0e7f14eafd132e98", tree=("include", "src", "LICENSE"),
        tree_sha256="7d666af8fc1979538a088aea4fc024a7959fa230ccdf6c88fce16dcdb94067d6",
        fixes=frozenset(), probe="include/esp_nn.h", header="tq_esp_nn.h", includes=("include", "src/common"),
        source_dirs=(), sources=(
            "src/activation_functions/esp_nn_relu_ansi.c", "src/basic_math/esp_nn_add_ansi.c",
            "src/basic_math/esp_nn_mul_ansi.c", "src/convolution/esp_nn_conv_ansi.c",
            "src/convolution/esp_nn_conv_opt.c", "src/convolution/esp_nn_depthwise_conv_ansi.c",
            "src/convolution/esp_nn_depthwise_conv_opt.c", "src/fully_connected/esp_nn_fully_connected_ansi.c",
            "src/softmax/esp_nn_softmax_ansi.c", "src/softmax/esp_nn_softmax_opt.c",
            "src/pooling/esp_nn_avg_pool_ansi.c", "src/pooling/esp_nn_max_pool_ansi.c",
            "src/activation_functions/esp_nn_hard_swish_ansi.c", "src/common/esp_nn_mean_ansi.c",
            "src/logistic/esp_nn_logistic_ansi.c"), component="==1.2.3"),
}


def fixed(library: str, issue: str) -> bool:
    """Whether the pinned release of `library` has the fix for upstream issue `issue` (rules that
    work around a bug of an earlier tag keep the workaround for that case)."""
    return issue in LIBRARIES[library].fixes
