"""ESP-NN backend (placeholder while it is written)."""

from tinyq.backends import Backend, register

ESP_NN = Backend(name="esp-nn", template_dirs=("esp_nn",), library="esp-nn", doc="Espressif ESP-NN s8 kernels")
register(ESP_NN)
