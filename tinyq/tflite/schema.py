"""The TFLite flatbuffer schema, as generated Python with the object API.

tflite-micro ships the generated module (it is a required dependency anyway,
as the golden model), so tinyq needs no second copy of the schema.
"""

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb  # noqa: F401

TFLITE_MAGIC = b"TFL3"


def enum_names(enum_cls) -> dict[int, str]:
    """{value: NAME} for a generated flatbuffer enum class."""
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_NAMES = enum_names(fb.BuiltinOperator)
BUILTIN_CODES = {name: code for code, name in BUILTIN_NAMES.items()}
TENSOR_TYPE_NAMES = {v: k.lower() for v, k in enum_names(fb.TensorType).items()}
TENSOR_TYPE_CODES = {name: code for code, name in TENSOR_TYPE_NAMES.items()}
OPTIONS_NAMES = enum_names(fb.BuiltinOptions)
OPTIONS_CODES = {name: code for code, name in OPTIONS_NAMES.items()}
