"""finetune's blends: convex mixes of two training samples (never held-out ones), trained toward the float
model's outputs alone."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="finetune needs PyTorch: pip install 'tinyq[qat]'")
pytest.importorskip("tflite_micro", reason="the integer models run in TFLM: pip install 'tinyq[tflm]'")

from test_qat import _inputs, _teacher_labels, small_cnn  # noqa: E402
from tinyq.qat.blend import MAX_BLENDS, blends  # noqa: E402
from tinyq.qat.config import TrainConfig  # noqa: E402
from tinyq.qat.train import NO_LABEL, Targets, sample_losses  # noqa: E402
from tinyq.quantize import CalibrationSet  # noqa: E402


def test_blends_mix_two_pool_samples_with_one_weight_for_every_input():
    n = 12
    first = np.eye(n, dtype=np.float32)  # sample i is e_i: a blend's nonzero entries name its two samples
    second = np.stack([np.full((2, 3), float(i + 1), np.float32) for i in range(n)])  # another input, other shape
    pool = np.array([1, 4, 5, 9])
    a, b = blends([first, second], pool, 3, seed=0)
    assert a.shape == (12, n) and b.shape == (12, 2, 3)
    for row, other in zip(a, b):
        used = np.flatnonzero(row)
        assert set(used) <= set(pool.tolist())
        assert row.sum() == pytest.approx(1.0)
        # the second input mixes the same two samples with the same weight
        assert np.allclose(other, float(np.dot(row, np.arange(1, n + 1))))
    assert len(blends([first], pool, 10_000, seed=0)[0]) == MAX_BLENDS
    assert np.array_equal(blends([first], pool, 3, seed=5)[0], blends([first], pool, 3, seed=5)[0])


def test_a_blend_is_trained_toward_the_float_model_alone():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], dtype=torch.float64)
    teacher = np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    probs = torch.softmax(logits, dim=1)
    labelled = sample_losses([probs], [logits], Targets(np.array([0, 2]), [teacher], (True,))).numpy()
    mixed = sample_losses([probs], [logits], Targets(np.array([0, NO_LABEL]), [teacher], (True,))).numpy()
    kl = (teacher * (np.log(teacher) - torch.log_softmax(logits, dim=1).numpy())).sum(axis=1)
    ce = -torch.log_softmax(logits, dim=1).numpy()[[0, 1], [0, 2]]
    assert labelled == pytest.approx(ce + kl)
    assert mixed == pytest.approx([ce[0] + kl[0], kl[1]])  # the blend: no label, no cross-entropy


def test_finetune_trains_on_the_samples_and_their_blends_and_holds_out_real_samples(monkeypatch):
    import tinyq.qat.train as training
    from tinyq.qat.pipeline import finetune_graph, float_outputs

    graph = small_cnn()
    x = _inputs(3, 40, (6, 6, 2))
    labels = _teacher_labels(graph, x)
    seen = {}
    real_train = training.train

    def spy(model, arrays, targets, holdout, config, *args):
        seen.update(arrays=arrays, targets=targets, holdout=holdout)
        return real_train(model, arrays, targets, holdout, config, *args)

    monkeypatch.setattr(training, "train", spy)
    messages = []
    result = finetune_graph(graph, CalibrationSet((x,)), labels, train_config=TrainConfig(epochs=1, min_steps=2,
                            blends=2), progress=messages.append, show_progress=False)
    holdout, arrays, targets = seen["holdout"], seen["arrays"], seen["targets"]
    train_count = 40 - len(holdout)
    assert result.holdout == len(holdout) and holdout.max() < 40
    assert len(arrays[0]) == 40 + 2 * train_count
    assert np.array_equal(arrays[0][:40], x) and np.array_equal(targets.labels[:40], labels)
    assert np.all(targets.labels[40:] == NO_LABEL)
    mixes = arrays[0][40:]
    assert np.allclose(targets.teacher[0][40:], float_outputs(graph, CalibrationSet((mixes,)))[0], atol=1e-6)
    assert any(f"blending {2 * train_count} pairs" in m for m in messages)
    # each blend lies between two training samples: no held-out sample is part of one
    train_x = np.delete(x, holdout, axis=0).reshape(train_count, -1)
    for m in mixes.reshape(len(mixes), -1)[:10]:
        assert _distance_to_a_segment(m, train_x) < 1e-5
    monkeypatch.setattr(training, "train", real_train)
    without = finetune_graph(graph, CalibrationSet((x,)), labels, train_config=TrainConfig(epochs=1, min_steps=2,
                             blends=0), show_progress=False)
    assert without.holdout == result.holdout


def _distance_to_a_segment(m, samples) -> float:
    """The distance from m to the nearest segment joining two of `samples`."""
    best = np.inf
    for i, a in enumerate(samples[:-1]):
        d = samples[i + 1:] - a
        lam = np.clip(((m - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-12), 0.0, 1.0)
        best = min(best, float(np.linalg.norm(m - (a + lam[:, None] * d), axis=1).min()))
    return best
