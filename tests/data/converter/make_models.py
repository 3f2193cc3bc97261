"""The small int8 models in this folder, made by the TFLite converter (TensorFlow 2.21) so the tests
see its real output for ops the GraphBuilder models cover too (TRANSPOSE_CONV's output-shape tensor
and per-channel weights, ARG_MAX's int32 output, BATCH_MATMUL between activations).

    python make_models.py   # in a virtualenv with tensorflow-cpu==2.21.0; not needed to run the tests
"""

import numpy as np
import tensorflow as tf

rng = np.random.default_rng(0)


def convert(model, shape, name):
    def representative():
        for _ in range(50):
            yield [rng.normal(size=shape).astype(np.float32)]

    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = representative
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    with open(name, "wb") as f:
        f.write(c.convert())


def decoder():
    """Transpose convolutions: 3x3 and 4x4 stride 2 SAME, 3x3 stride 1 VALID without bias, 2x5 stride 3x2."""
    x = tf.keras.Input((6, 6, 24), batch_size=1)
    y = tf.keras.layers.Conv2DTranspose(20, 3, strides=2, padding="same", activation="relu")(x)
    y = tf.keras.layers.Conv2DTranspose(8, 4, strides=2, padding="same")(y)
    y = tf.keras.layers.Conv2DTranspose(6, 3, strides=1, padding="valid", use_bias=False)(y)
    y = tf.keras.layers.Conv2DTranspose(4, (2, 5), strides=(3, 2), padding="valid")(y)
    convert(tf.keras.Model(x, y), (1, 6, 6, 24), "tconv_decoder.tflite")


def reductions():
    x = tf.keras.Input((5, 7, 8), batch_size=1)
    h = tf.keras.layers.Dense(8)(x)
    a = tf.keras.layers.Lambda(lambda t: tf.argmax(t, axis=-1, output_type=tf.int32))(h)
    mx = tf.keras.layers.Lambda(lambda t: tf.reduce_max(t, axis=[1, 2]))(h)
    mn = tf.keras.layers.Lambda(lambda t: tf.reduce_min(t, axis=1, keepdims=True))(h)
    convert(tf.keras.Model(x, [a, mx, mn]), (1, 5, 7, 8), "reductions.tflite")


def attention():
    """softmax-free attention: q k^T (adj_y) then (q k^T) q, all activations."""
    x = tf.keras.Input((6, 16), batch_size=1)
    q, k = tf.keras.layers.Dense(16)(x), tf.keras.layers.Dense(16)(x)
    s = tf.keras.layers.Lambda(lambda t: tf.matmul(t[0], t[1], transpose_b=True))([q, k])
    o = tf.keras.layers.Lambda(lambda t: tf.matmul(t[0], t[1]))([s, q])
    convert(tf.keras.Model(x, o), (1, 6, 16), "attention.tflite")


if __name__ == "__main__":
    decoder()
    reductions()
    attention()
