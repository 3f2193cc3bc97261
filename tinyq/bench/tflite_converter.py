"""The TFLite converter's full-int8 post-training quantization of a float .tflite, for comparisons.

TensorFlow is never a tinyq dependency: this file runs under a Python that has
it (`tinyq bench quantize --converter-python /path/to/venv/bin/python`) and
imports nothing from tinyq. It does what TFLiteConverter does after it has made
the float flatbuffer, with `optimizations = [DEFAULT]`, a representative dataset
and int8 inference input/output types (tensorflow/lite/python/lite.py,
`_quantize`): add intermediate tensors, calibrate with the float interpreter,
then the MLIR quantizer. So the converter quantizes the same float file with the
same calibration data as tinyq.

    python tflite_converter.py FLOAT.tflite CALIB.npz OUT.tflite   (npz: arrays in input order, N x shape)
"""

import sys

import numpy as np


def convert(float_path: str, calib_path: str, out_path: str) -> None:
    import tensorflow as tf
    from tensorflow.lite.python import convert as tf_convert
    from tensorflow.lite.python.optimize import calibrator

    with open(float_path, "rb") as f:
        model = f.read()
    with np.load(calib_path) as npz:
        arrays = [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[-1]))]

    def samples():
        for i in range(len(arrays[0])):
            yield [a[i:i + 1] for a in arrays]

    calibrated = calibrator.Calibrator(calibrator.add_intermediate_tensors(model)).calibrate(samples)
    quantized = tf_convert.mlir_quantize(calibrated, False, input_data_type=tf.int8, output_data_type=tf.int8)
    with open(out_path, "wb") as f:
        f.write(quantized)


if __name__ == "__main__":
    convert(*sys.argv[1:4])
