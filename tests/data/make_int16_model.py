"""tests/data/models/kws_dscnn_16x8.tflite: a 16x8 DS-CNN keyword spotter (the MLPerf Tiny KWS shape:
a 49x10 MFCC input, a 10x4 stride-2 convolution, four depthwise-separable blocks of 64 channels,
average pooling, a 12-way classifier and softmax) with random weights and batch-norm statistics,
converted by the TFLite converter to int16 activations and int8 weights (int64 biases) with a random
representative dataset, int16 input and output.

    /work/tfvenv/bin/python tests/data/make_int16_model.py   # tensorflow-cpu==2.21.0; not run by the tests
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parent / "models" / "kws_dscnn_16x8.tflite"
rng = np.random.default_rng(0)
tf.keras.utils.set_random_seed(0)
L = tf.keras.layers


def bn_relu(x):
    # random statistics, so the folded scales differ per channel as in a trained model
    bn = L.BatchNormalization()
    y = bn(x)
    c = x.shape[-1]
    bn.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c), rng.normal(0, 0.2, c), rng.uniform(0.5, 2, c)])
    return L.ReLU()(y)


def dscnn(filters: int = 64) -> tf.keras.Model:
    x = inputs = tf.keras.Input((49, 10, 1), batch_size=1)
    x = bn_relu(L.Conv2D(filters, (10, 4), strides=2, padding="same", use_bias=False)(x))
    for _ in range(4):
        x = bn_relu(L.DepthwiseConv2D(3, padding="same", use_bias=False)(x))
        x = bn_relu(L.Conv2D(filters, 1, use_bias=False)(x))
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(12)(x)
    return tf.keras.Model(inputs, L.Softmax()(x))


def main() -> None:
    model = dscnn()

    def representative():
        for _ in range(64):
            yield [rng.normal(0, 1, (1, 49, 10, 1)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(converter.convert())
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
