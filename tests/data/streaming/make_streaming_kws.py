"""A streaming keyword model made by the TFLite converter: one frame of 40 filterbank features in, the
4 class scores of that frame out, the LSTM's hidden and cell state carried from one invoke to the next
in TFLite's variable tensors (what UNIDIRECTIONAL_SEQUENCE_LSTM does with them).

It is trained for a few seconds on synthetic keywords (a bump sweeping up, down, a fixed band, noise)
over 24-frame sequences, then rebuilt for one frame per invoke with the same weights and converted to
int8 (streaming_kws_lstm_int8.tflite; TensorFlow 2.21's quantizer has no 16x8 LSTM: "Quantization to
16x8-bit not yet supported for op: 'UNIDIRECTIONAL_SEQUENCE_LSTM'"). `keywords.npy` holds one test
utterance of each class. Keras 3's LSTM converts to a WHILE loop whose int8 calibration crashes
TensorFlow 2.21's converter; the legacy Keras (tf-keras, TF_USE_LEGACY_KERAS=1) LSTM becomes
TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM and quantizes.

    pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0
    python make_streaming_kws.py   # not needed to run the tests
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TensorFlow is imported

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

FEATURES, FRAMES, CLASSES, HIDDEN = 40, 24, 4, 32
rng = np.random.default_rng(0)
tf.random.set_seed(0)


def keyword(label: int) -> np.ndarray:
    """One synthetic utterance: FRAMES x FEATURES log-energies."""
    x = rng.normal(0.0, 0.3, size=(FRAMES, FEATURES))
    bins = np.arange(FEATURES)
    start = int(rng.integers(2, 8))
    for t in range(start, FRAMES - 2):
        centre = {0: 5 + 1.4 * (t - start), 1: 34 - 1.4 * (t - start), 2: 20.0}.get(label)
        if centre is not None:
            x[t] += 2.0 * np.exp(-0.5 * ((bins - centre) / 2.5) ** 2)
    return x.astype(np.float32)


def layers():
    return (tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.LSTM(HIDDEN, return_sequences=True),
            tf.keras.layers.Dense(CLASSES, activation="softmax"))


def build(frames: int, batch: int | None, stack):
    x = tf.keras.Input((frames, FEATURES), batch_size=batch)
    y = x
    for layer in stack:
        y = layer(y)
    return tf.keras.Model(x, y)


def main():
    labels = rng.integers(0, CLASSES, size=2000)
    data = np.stack([keyword(int(label)) for label in labels])
    targets = np.repeat(labels[:, None], FRAMES, axis=1)
    stack = layers()
    training = build(FRAMES, None, stack)
    training.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    training.fit(data, targets, epochs=4, batch_size=64, verbose=2)
    streaming = build(1, 1, stack)  # the same layer objects: the same weights, one frame per call

    def frames():
        for sequence in data[:12]:
            for frame in sequence:
                yield [frame[None, None, :]]

    c = tf.lite.TFLiteConverter.from_keras_model(streaming)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = frames
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    with open("streaming_kws_lstm_int8.tflite", "wb") as f:
        f.write(c.convert())
    np.save("keywords.npy", np.stack([keyword(label) for label in (0, 1, 2, 3)]))


if __name__ == "__main__":
    main()
