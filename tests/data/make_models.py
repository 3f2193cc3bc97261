"""The real-model tests' small int8 models (tests/data/models/), made by the TFLite converter from
Keras models with random weights and a random representative dataset (full int8):

- ssd_detector*.tflite: a two-scale SSD head (box and class convolutions, concatenated anchors)
  ending in TFLite_Detection_PostProcess, built the way the TF Object Detection API exporter does
  it (a tf.function whose `experimental_implements` names the custom op; the converter replaces
  it with the op and its flexbuffer options, and dequantizes its inputs: TFLM reads float32).
  One with regular NMS (score threshold 0.6: the detection count varies), one with fast NMS
  (threshold 0.3: always max_detections detections).
- transformer_block.tflite: token embedding (GATHER) plus positions, multi-head self-attention
  (BATCH_MATMUL, SOFTMAX), layer norms, a ReLU feed-forward block, residual adds.
- unet.tflite: a two-level U-Net (max pool down, TRANSPOSE_CONV and RESIZE_NEAREST_NEIGHBOR /
  RESIZE_BILINEAR up, CONCATENATION skips).

    /work/tfvenv/bin/python tests/data/make_models.py   # tensorflow-cpu==2.21.0; not run by the tests

The PyTorch-exported MobileNetV2 of the real-model tests is TFLM's own
(../shared/models/tflm-corpus/third_party_xtensa_examples_pytorch_to_tflite_mobilenet_v2_quantized_1x3x224x224.tflite).
"""

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parent / "models"
rng = np.random.default_rng(0)
tf.keras.utils.set_random_seed(0)


def convert(model, samples, name, input_type=tf.int8, output_type=tf.int8):
    """Full-int8 conversion of a Keras model or a saved-model folder; `samples` yields the
    representative records (lists of arrays)."""
    if isinstance(model, tf.keras.Model):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    else:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.inference_input_type = input_type
    converter.inference_output_type = output_type
    data = converter.convert()
    OUT.mkdir(exist_ok=True)
    (OUT / name).write_bytes(data)
    print(f"{name}: {len(data):,} bytes")


def images(shape, n=64):
    def samples():
        for _ in range(n):
            yield [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)]
    return samples


MAX_DETECTIONS = 10


# --- SSD ---------------------------------------------------------------------------------------

def ssd_anchors(grids=((4, 4), (2, 2)), scales=((0.3, 0.3), (0.2, 0.4), (0.4, 0.2))):
    """Center-size anchors (y, x, h, w) in [0, 1]: one per grid cell and scale, row-major."""
    rows = []
    for gh, gw in grids:
        grow = 1.0 if gh == 4 else 2.0
        for i in range(gh):
            for j in range(gw):
                for h, w in scales:
                    rows.append(((i + 0.5) / gh, (j + 0.5) / gw, h * grow, w * grow))
    return np.array(rows, dtype=np.float32)


def postprocess_attrs(num_classes, regular, score_threshold):
    return " ".join([
        'name: "TFLite_Detection_PostProcess"',
        f'attr {{ key: "max_detections" value {{ i: {MAX_DETECTIONS} }} }}',
        'attr { key: "max_classes_per_detection" value { i: 1 } }',
        'attr { key: "detections_per_class" value { i: 5 } }',
        f'attr {{ key: "use_regular_nms" value {{ b: {"true" if regular else "false"} }} }}',
        f'attr {{ key: "nms_score_threshold" value {{ f: {score_threshold} }} }}',
        'attr { key: "nms_iou_threshold" value { f: 0.5 } }',
        'attr { key: "y_scale" value { f: 10.0 } }',
        'attr { key: "x_scale" value { f: 10.0 } }',
        'attr { key: "h_scale" value { f: 5.0 } }',
        'attr { key: "w_scale" value { f: 5.0 } }',
        f'attr {{ key: "num_classes" value {{ i: {num_classes} }} }}',
    ])


def conv_weights(k, cin, cout):
    """He-initialized filter and a small bias, as constants (a saved model of variables would keep
    them as resource variables the converter's calibration cannot read)."""
    w = rng.normal(0.0, np.sqrt(2.0 / (k * k * cin)), size=(k, k, cin, cout)).astype(np.float32)
    return tf.constant(w), tf.constant(rng.normal(0.0, 0.05, size=cout).astype(np.float32))


def conv(x, weights, stride=1, relu=True):
    w, b = weights
    y = tf.nn.conv2d(x, w, stride, "SAME") + b
    return tf.nn.relu(y) if relu else y


def ssd_detector(regular, name, score_threshold, num_classes=3):
    anchors = ssd_anchors()
    per_cell = 3
    backbone = [conv_weights(3, 3, 8), conv_weights(3, 8, 16), conv_weights(3, 16, 16)]
    down = conv_weights(3, 16, 16)
    box_heads = [conv_weights(3, 16, per_cell * 4) for _ in range(2)]
    class_heads = [conv_weights(3, 16, per_cell * (num_classes + 1)) for _ in range(2)]

    @tf.function(experimental_implements=postprocess_attrs(num_classes, regular, score_threshold))
    def postprocess(box_encodings, class_predictions, anchor_boxes):
        # the converter keeps these shapes: TFLM needs static ones
        return (tf.zeros((1, MAX_DETECTIONS, 4)), tf.zeros((1, MAX_DETECTIONS)), tf.zeros((1, MAX_DETECTIONS)),
                tf.zeros((1,)))

    @tf.function(input_signature=[tf.TensorSpec((1, 32, 32, 3), tf.float32)])
    def detect(image):
        x = image
        for weights in backbone:
            x = conv(x, weights, stride=2)
        maps = [x, conv(x, down, stride=2)]
        boxes = tf.concat([tf.reshape(conv(m, h, relu=False), (1, -1, 4)) for h, m in zip(box_heads, maps)], axis=1)
        logits = tf.concat([tf.reshape(conv(m, h, relu=False), (1, -1, num_classes + 1))
                            for h, m in zip(class_heads, maps)], axis=1)
        return postprocess(boxes, tf.sigmoid(logits), tf.constant(anchors))

    module = tf.Module()
    module.detect = detect
    with tempfile.TemporaryDirectory() as folder:  # the exporter's route: a saved model keeps the composite
        tf.saved_model.save(module, folder, signatures={"serving_default": detect.get_concrete_function()})
        convert(Path(folder), images((1, 32, 32, 3)), name, output_type=tf.float32)


# --- transformer block ---------------------------------------------------------------------------

class Embedding(tf.keras.layers.Layer):
    """Token embedding (one GATHER: Keras' Embedding adds a negative-index fix-up) plus positions."""

    def __init__(self, vocab, length, width):
        super().__init__()
        self.table = self.add_weight(shape=(vocab, width), initializer="random_normal")
        self.positions = self.add_weight(shape=(1, length, width), initializer="random_normal")

    def call(self, ids):
        return tf.gather(self.table, ids) + self.positions


class LayerNorm(tf.keras.layers.Layer):
    """Layer normalization as int8 ops (MEAN, SUB, MUL, ADD, RSQRT): Keras' LayerNormalization
    converts with a float32 NEG between DEQUANTIZE and QUANTIZE."""

    def build(self, shape):
        self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones")
        self.beta = self.add_weight(shape=(shape[-1],), initializer="zeros")

    def call(self, x):
        centered = x - tf.reduce_mean(x, axis=-1, keepdims=True)
        variance = tf.reduce_mean(centered * centered, axis=-1, keepdims=True)
        return centered * tf.math.rsqrt(variance + 1e-5) * self.gamma + self.beta


def transformer_block(vocab=64, length=16, width=32, heads=4):
    ids = tf.keras.Input((length,), batch_size=1, dtype=tf.int32)
    x = Embedding(vocab, length, width)(ids)
    a = tf.keras.layers.MultiHeadAttention(num_heads=heads, key_dim=width // heads)(x, x)
    x = LayerNorm()(x + a)
    f = tf.keras.layers.Dense(2 * width, activation="relu")(x)
    f = tf.keras.layers.Dense(width)(f)
    x = LayerNorm()(x + f)
    y = tf.keras.layers.Dense(8)(x[:, 0, :])

    def samples():
        for _ in range(64):
            yield [rng.integers(0, vocab, size=(1, length)).astype(np.int32)]

    convert(tf.keras.Model(ids, y), samples, "transformer_block.tflite", input_type=tf.float32)


# --- U-Net -----------------------------------------------------------------------------------------

def unet():
    def block(x, n):
        x = tf.keras.layers.Conv2D(n, 3, padding="same", activation="relu")(x)
        return tf.keras.layers.Conv2D(n, 3, padding="same", activation="relu")(x)

    image = tf.keras.Input((32, 32, 3), batch_size=1)
    e1 = block(image, 8)
    e2 = block(tf.keras.layers.MaxPooling2D()(e1), 16)
    bottom = block(tf.keras.layers.MaxPooling2D()(e2), 24)
    u2 = tf.keras.layers.Conv2DTranspose(16, 2, strides=2, padding="same")(bottom)
    d2 = block(tf.keras.layers.Concatenate()([u2, e2]), 16)
    u1 = tf.keras.layers.Lambda(lambda t: tf.image.resize(t, (32, 32), method="nearest"))(d2)  # Keras' TILEs
    d1 = block(tf.keras.layers.Concatenate()([u1, e1]), 8)
    side = tf.keras.layers.UpSampling2D(size=4, interpolation="bilinear")(tf.keras.layers.Conv2D(2, 1)(bottom))
    out = tf.keras.layers.Conv2D(2, 1)(tf.keras.layers.Concatenate()([d1, side]))
    convert(tf.keras.Model(image, out), images((1, 32, 32, 3)), "unet.tflite")


if __name__ == "__main__":
    ssd_detector(regular=True, name="ssd_detector_regular_nms.tflite", score_threshold=0.6)
    # fast NMS leaves the entries after its last detection as they were: where the two planners place
    # the outputs over other tensors, TFLM's and tinyq's leftovers differ, so this one always fills them
    ssd_detector(regular=False, name="ssd_detector_fast_nms.tflite", score_threshold=0.3)
    transformer_block()
    unet()
