"""The TFLite converter's full-integer post-training quantization of a float .tflite, for comparisons.

TensorFlow is never a tinyq dependency: this file runs under a Python that has
it (`tinyq bench quantize --converter-python /path/to/venv/bin/python`) and
imports nothing from tinyq. It does what TFLiteConverter does after it has made
the float flatbuffer (tensorflow/lite/python/lite.py, `_quantize`), with
`optimizations = [DEFAULT]` and a representative dataset: add intermediate
tensors, calibrate with the float interpreter, then
* int8 (int8 inference input/output types): the MLIR quantizer;
* int16 (`target_spec.supported_ops = [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]`, int16
  inference input/output types): the 16x8 mode, which lite.py sends to the calibrator's own quantizer
  (tensorflow/lite/tools/optimize/quantize_model.cc) with int16 activations and int64 biases (its default
  bias type for 16x8).
So the converter quantizes the same float file with the same calibration data as tinyq.

    python tflite_converter.py FLOAT.tflite CALIB.npz OUT.tflite [int8|int16]   (npz: arrays in input order,
                                                                               N x shape)
"""

import sys

import numpy as np


def convert(float_path: str, calib_path: str, out_path: str, activations: str = "int8") -> None:
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

    quantizer = calibrator.Calibrator(calibrator.add_intermediate_tensors(model))
    if activations == "int16":
        quantized = quantizer.calibrate_and_quantize(samples, tf.int16, tf.int16, False, activations_type=tf.int16,
                                                     bias_type=tf.int64)
    elif activations == "int8":
        calibrated = quantizer.calibrate(samples)
        quantized = tf_convert.mlir_quantize(calibrated, False, input_data_type=tf.int8, output_data_type=tf.int8)
    else:
        raise SystemExit(f"activations must be int8 or int16, not {activations}")
    with open(out_path, "wb") as f:
        f.write(quantized)


if __name__ == "__main__":
    convert(*sys.argv[1:5])
