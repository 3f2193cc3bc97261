"""ESP-NN layer: Espressif's s8 kernels (ESP32-S3 SIMD; plain or generic C elsewhere).

The calls take the parameters tinyq's lowering computed (the same numbers TFLM
passes); ESP-NN differs from CMSIS-NN in argument order, in `quant_data_t`
({shift, mult}), in taking one image per call (tinyq loops over batches), in
ignoring dilation and groups (those convolutions fall back), and in keeping its
scratch buffers in globals set before each call. Scratch sizes follow
esp_nn_get_*_scratch_size of the pinned 1.2.3: the S3 functions for an esp32s3 target,
else the larger of the plain and generic ones, so either build fits.
"""

from __future__ import annotations

from tinyq.backends.common import extent_limit

NAME = "esp-nn"
LIBRARY = "esp-nn"  # tinyq.libraries: the pinned release the rules follow
MAX_EXTENT = 65535  # ESP-NN holds extents, channels and sizes in uint16_t


def too_large(*extents: int) -> str | None:
    return extent_limit(MAX_EXTENT, "ESP-NN", *extents)
