"""Three streaming keyword models made by the TFLite converter, for tests/test_control_flow.py and
tests/test_variables.py: the state of each lives in a TFLite resource variable (CALL_ONCE sets it,
VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE carry it from one invoke to the next).

- gru_while_streaming_float.tflite: Keras 3's GRU(stateful=True, unroll=False) over chunks of 4
  frames of 40 features: the converter keeps the recurrence as a WHILE loop (cond and body
  subgraphs) and the GRU's state in a resource variable. float32: TensorFlow 2.21's int8
  calibration of a WHILE loop crashes the converter (a segfault, for GRU and LSTM alike, Keras 3 or
  tf-keras, old or new quantizer).
- gru_while_streaming_int8.tflite: the same trained GRU over chunks of 4 frames, written out in
  TensorFlow ops with the recurrence a tf.while_loop (a WHILE) and the state a tf.Variable, int8. The
  converter's calibration segfaults on WHILE (above), so the ranges come from fake-quant ops instead
  (quantization-aware style: fixed ranges, no representative dataset): every matmul, gate and sum is
  int8; the loop carries the state in float32 between a QUANTIZE and a DEQUANTIZE, as the converter
  keeps loop variables and the variable float.
- kws_gru_variables_int8.tflite: one frame per invoke through the same trained GRU cell, written out
  in TensorFlow ops over a tf.Variable holding the state; int8 (the variable itself stays float32:
  the converter quantizes around READ_VARIABLE and ASSIGN_VARIABLE).

All are trained for a few seconds on the synthetic keywords of tests/data/streaming (a bump
sweeping up, down, a fixed band, noise; `keyword` is that generator's), and the tests stream the
four utterances of tests/data/streaming/keywords.npy through them.

    python -m venv /work/tfvenv && /work/tfvenv/bin/pip install tensorflow-cpu==2.21.0
    /work/tfvenv/bin/python make_control_flow_models.py   # not needed to run the tests

Training on the CPU is not bit-reproducible from run to run: a new run gives other bytes (and weights).
"""

import numpy as np
import tensorflow as tf

FEATURES, FRAMES, CLASSES, HIDDEN, CHUNK = 40, 24, 4, 24, 4
rng = np.random.default_rng(0)
tf.random.set_seed(0)


def keyword(label: int) -> np.ndarray:
    """One synthetic utterance: FRAMES x FEATURES log-energies (tests/data/streaming's generator)."""
    x = rng.normal(0.0, 0.3, size=(FRAMES, FEATURES))
    bins = np.arange(FEATURES)
    start = int(rng.integers(2, 8))
    for t in range(start, FRAMES - 2):
        centre = {0: 5 + 1.4 * (t - start), 1: 34 - 1.4 * (t - start), 2: 20.0}.get(label)
        if centre is not None:
            x[t] += 2.0 * np.exp(-0.5 * ((bins - centre) / 2.5) ** 2)
    return x.astype(np.float32)


def train():
    """Dense(relu) -> GRU -> Dense(softmax) per frame, on 2000 utterances."""
    labels = rng.integers(0, CLASSES, size=2000)
    data = np.stack([keyword(int(label)) for label in labels])
    x = tf.keras.Input((FRAMES, FEATURES))
    dense1, gru = tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.GRU(HIDDEN, return_sequences=True)
    dense2 = tf.keras.layers.Dense(CLASSES, activation="softmax")
    model = tf.keras.Model(x, dense2(gru(dense1(x))))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data, np.repeat(labels[:, None], FRAMES, axis=1), epochs=4, batch_size=64, verbose=2)
    return data, dense1, gru, dense2


def gru_while_model(data, dense1, gru, dense2) -> bytes:
    x = tf.keras.Input((CHUNK, FEATURES), batch_size=1)
    stream_gru = tf.keras.layers.GRU(HIDDEN, stateful=True, unroll=False)
    head1, head2 = tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(CLASSES, activation="softmax")
    model = tf.keras.Model(x, head2(stream_gru(head1(x))))
    for ours, trained in ((head1, dense1), (stream_gru, gru), (head2, dense2)):
        ours.set_weights(trained.get_weights())
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.experimental_enable_resource_variables = True
    return c.convert()


def _fq(x, lo: float, hi: float):
    """A fixed int8 range for the converter (fake quantization)."""
    return tf.quantization.fake_quant_with_min_max_args(x, min=lo, max=hi, num_bits=8)


def _fq_weights(a: np.ndarray):
    r = float(np.abs(a).max())
    return tf.quantization.fake_quant_with_min_max_args(tf.constant(a), min=-r, max=r, num_bits=8, narrow_range=True)


def gru_while_int8_model(data, dense1, gru, dense2) -> bytes:
    kernel, recurrent, bias = (np.asarray(w) for w in gru.get_weights())  # Keras 3 GRUCell, reset_after
    d1w, d1b = (np.asarray(a) for a in dense1.get_weights())
    d2w, d2b = (np.asarray(a) for a in dense2.get_weights())
    q, w = _fq, _fq_weights

    class Streaming(tf.Module):
        def __init__(self):
            self.state = tf.Variable(tf.zeros((1, HIDDEN)), trainable=False, name="gru_state")

        @tf.function(input_signature=[tf.TensorSpec((CHUNK, FEATURES), tf.float32)])
        def __call__(self, frames):
            x_all = q(tf.nn.relu(tf.matmul(q(frames, -3.0, 3.0), w(d1w)) + d1b), 0.0, 8.0)

            def cond(i, h):
                return i < CHUNK

            def body(i, h):
                x = tf.reshape(tf.gather(x_all, i), (1, -1))
                h = q(h, -1.0, 1.0)
                xz, xr, xh = tf.split(q(tf.matmul(x, w(kernel)) + bias[0], -8.0, 8.0), 3, axis=1)
                hz, hr, hh = tf.split(q(tf.matmul(h, w(recurrent)) + bias[1], -8.0, 8.0), 3, axis=1)
                z = q(tf.sigmoid(q(xz + hz, -8.0, 8.0)), 0.0, 1.0)
                r = q(tf.sigmoid(q(xr + hr, -8.0, 8.0)), 0.0, 1.0)
                cand = q(tf.tanh(q(xh + q(r * hh, -8.0, 8.0), -8.0, 8.0)), -1.0, 1.0)
                keep, new = q(z * h, -1.0, 1.0), q(q(1.0 - z, 0.0, 1.0) * cand, -1.0, 1.0)
                return i + 1, q(keep + new, -1.0, 1.0)

            _, h = tf.while_loop(cond, body, (tf.constant(0), q(self.state.read_value(), -1.0, 1.0)))
            self.state.assign(h)
            logits = q(tf.matmul(q(h, -1.0, 1.0), w(d2w)) + d2b, -16.0, 16.0)
            return q(tf.nn.softmax(logits), 0.0, 1.0)

    module = Streaming()
    c = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    c.experimental_enable_resource_variables = True
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.inference_input_type = c.inference_output_type = tf.int8
    return c.convert()


def gru_variables_model(data, dense1, gru, dense2) -> bytes:
    kernel, recurrent, bias = (np.asarray(w) for w in gru.get_weights())  # Keras 3 GRUCell, reset_after
    w, u, b_in, b_rec = (tf.constant(a, dtype=tf.float32) for a in (kernel, recurrent, bias[0], bias[1]))
    d1 = tuple(tf.constant(np.asarray(a)) for a in dense1.get_weights())
    d2 = tuple(tf.constant(np.asarray(a)) for a in dense2.get_weights())

    class Streaming(tf.Module):
        def __init__(self):
            self.state = tf.Variable(tf.zeros((1, HIDDEN)), trainable=False, name="gru_state")

        @tf.function(input_signature=[tf.TensorSpec((1, FEATURES), tf.float32)])
        def __call__(self, frame):
            x = tf.nn.relu(tf.matmul(frame, d1[0]) + d1[1])
            h = self.state.read_value()
            xz, xr, xh = tf.split(tf.matmul(x, w) + b_in, 3, axis=1)
            hz, hr, hh = tf.split(tf.matmul(h, u) + b_rec, 3, axis=1)
            z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
            h = z * h + (1.0 - z) * tf.tanh(xh + r * hh)
            self.state.assign(h)
            return tf.nn.softmax(tf.matmul(h, d2[0]) + d2[1])

    module = Streaming()

    def frames():
        for sequence in data[:12]:
            module.state.assign(tf.zeros((1, HIDDEN)))
            for frame in sequence:
                yield [frame[None, :]]

    c = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    c.experimental_enable_resource_variables = True
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = frames
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    return c.convert()


def main():
    trained = train()
    with open("gru_while_streaming_float.tflite", "wb") as f:
        f.write(gru_while_model(*trained))
    with open("gru_while_streaming_int8.tflite", "wb") as f:
        f.write(gru_while_int8_model(*trained))
    with open("kws_gru_variables_int8.tflite", "wb") as f:
        f.write(gru_variables_model(*trained))


if __name__ == "__main__":
    main()
