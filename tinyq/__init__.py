"""tinyq: .tflite models in, bit-exact static C for microcontrollers out.

The pipeline, one module per stage, each handing plain dataclasses to the next:
tflite (read/write) -> ir -> quantize -> lower (ops) -> plan -> codegen/backends
-> build -> run/serial. `tinyq.driver` strings the stages together.
"""

__version__ = "0.1.0"
