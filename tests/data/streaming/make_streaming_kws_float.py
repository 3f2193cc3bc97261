"""The streaming keyword model of make_streaming_kws.py as a float file, with the TFLite converter's int8
file of the same weights and the frames both quantizers calibrate on: tinyq quantizes the float file
(tests/test_quantize_lstm.py) and is compared with the converter's result.

    streaming_kws_lstm_float.tflite       float32, one frame of 40 features per invoke, LSTM state carried
    streaming_kws_lstm_float_int8.tflite  the converter's full-int8 file of it (TensorFlow 2.21, tf-keras)
    kws_calib_frames.npy                  the 144 frames (6 utterances in order) the converter calibrated on

    pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0
    python make_streaming_kws_float.py   # not needed to run the tests
"""

import numpy as np

import make_streaming_kws as kws  # sets TF_USE_LEGACY_KERAS before TensorFlow loads
import tensorflow as tf  # noqa: E402

CALIB_UTTERANCES = 6


def main():
    labels = kws.rng.integers(0, kws.CLASSES, size=2000)
    data = np.stack([kws.keyword(int(label)) for label in labels])
    targets = np.repeat(labels[:, None], kws.FRAMES, axis=1)
    stack = kws.layers()
    training = kws.build(kws.FRAMES, None, stack)
    training.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    training.fit(data, targets, epochs=4, batch_size=64, verbose=2)
    streaming = kws.build(1, 1, stack)  # the same layer objects: the same weights, one frame per call
    frames = data[:CALIB_UTTERANCES].reshape(-1, 1, 1, kws.FEATURES).astype(np.float32)

    with open("streaming_kws_lstm_float.tflite", "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(streaming).convert())
    c = tf.lite.TFLiteConverter.from_keras_model(streaming)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([frame] for frame in frames)
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    with open("streaming_kws_lstm_float_int8.tflite", "wb") as f:
        f.write(c.convert())
    np.save("kws_calib_frames.npy", frames[:, 0])


if __name__ == "__main__":
    main()
