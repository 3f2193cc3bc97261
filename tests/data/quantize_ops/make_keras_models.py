"""Float Keras models with the ops `tinyq quantize` used to refuse (PReLU, a dilated Conv2D and Conv1D, bilinear
UpSampling2D, Maximum/Minimum), each beside the TFLite converter's int8 version of it, so the tests compare
tinyq's quantized ops and versions with the converter's. Keras's batch of -1 is kept on purpose: it is what
users export (the dilated convolution's SPACE_TO_BATCH_ND output is declared with batch 1).

    python make_keras_models.py   # in a virtualenv with tensorflow-cpu==2.21.0; not needed to run the tests
"""

import numpy as np
import tensorflow as tf

L = tf.keras.layers
rng = np.random.default_rng(0)


def convert(model, shape, name):
    data = rng.normal(0, 1, (64,) + shape).astype(np.float32)
    with open(f"{name}_float.tflite", "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([d[None]] for d in data)
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    with open(f"{name}_int8.tflite", "wb") as f:
        f.write(c.convert())


def image():
    x = L.Input((16, 16, 3))
    y = L.Conv2D(8, 3, padding="same")(x)
    y = L.PReLU(shared_axes=[1, 2])(y)
    y = L.Conv2D(8, 3, padding="same", dilation_rate=2)(y)
    y = L.UpSampling2D(2, interpolation="bilinear")(y)
    z = L.Conv2D(8, 1)(y)
    y = L.Maximum()([y, z])
    y = L.Minimum()([y, z * 0.5])
    convert(tf.keras.Model(x, y), (16, 16, 3), "image")


def sequence():
    x = L.Input((32, 4))
    y = L.Conv1D(8, 3, padding="same", dilation_rate=2, activation="relu")(x)
    y = L.Conv1D(8, 3, padding="causal", dilation_rate=4)(y)
    y = L.GlobalAveragePooling1D()(y)
    y = L.Dense(3)(y)
    convert(tf.keras.Model(x, y), (32, 4), "sequence")


if __name__ == "__main__":
    image()
    sequence()
