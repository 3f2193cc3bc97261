"""The TFLite flatbuffer format as an object API (`fb.ModelT`, `fb.TensorType`, ...).

Built from tinyq's own description of the format (tinyq/tflite/format.py) over the
`flatbuffers` runtime (tinyq/tflite/flatbuf.py), so reading and writing .tflite files
needs no TFLM; only the golden model (tinyq.golden) does.
"""

from tinyq.tflite import flatbuf, format

fb = flatbuf.load(format.ENUMS, format.UNIONS, format.TABLES)

TFLITE_MAGIC = b"TFL3"


def enum_names(enum_cls) -> dict[int, str]:
    """{value: NAME} for an enum class of `fb`."""
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_NAMES = enum_names(fb.BuiltinOperator)
BUILTIN_CODES = {name: code for code, name in BUILTIN_NAMES.items()}
TENSOR_TYPE_NAMES = {v: k.lower() for v, k in enum_names(fb.TensorType).items()}
TENSOR_TYPE_CODES = {name: code for code, name in TENSOR_TYPE_NAMES.items()}
OPTIONS_NAMES = enum_names(fb.BuiltinOptions)
OPTIONS_CODES = {name: code for code, name in OPTIONS_NAMES.items()}
OPTIONS2_NAMES = enum_names(fb.BuiltinOptions2)  # StableHLO ops' options (builtin_options_2)
OPTIONS2_CODES = {name: code for code, name in OPTIONS2_NAMES.items()}
