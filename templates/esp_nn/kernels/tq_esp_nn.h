/* tinyq's glue for calls into ESP-NN (https://github.com/espressif/esp-nn).
 * The library is not part of the generated sources: ESP-IDF adds it as the
 * espressif/esp-nn component (idf_component.yml); elsewhere compile its plain C
 * files (esp_nn.cmake). */
#ifndef TQ_ESP_NN_H
#define TQ_ESP_NN_H

/* esp_nn.h picks the S3 SIMD kernels from CONFIG_NN_OPTIMIZED and CONFIG_IDF_TARGET_ESP32S3,
 * which ESP-IDF keeps in sdkconfig.h; elsewhere the plain C ones are used. */
#ifdef ESP_PLATFORM
#include "sdkconfig.h"
#endif
#include "esp_nn.h"

/* With TQ_CHECK_SCRATCH defined (tinyq's test builds), the invoke function
 * returns -1 - (the op's position) when ESP-NN wants more scratch than tinyq
 * planned. ESP-NN's kernels report no errors otherwise. */
#ifdef TQ_CHECK_SCRATCH
#define TQ_ESP_NN_SCRATCH(op, wanted, planned)                                                       \
  do {                                                                                               \
    if ((int32_t)(wanted) > (int32_t)(planned)) return -1 - (op);                                    \
  } while (0)
#else
#define TQ_ESP_NN_SCRATCH(op, wanted, planned) ((void)0)
#endif

#endif /* TQ_ESP_NN_H */
