"""finetune's schedule: a floor of optimizer steps on small data, held-out samples that overrule training
only when they are sure, and (slow) the narrow MobileNet hard case winning back part of int4's loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="finetune needs PyTorch: pip install 'tinyq[qat]'")
pytest.importorskip("tflite_micro", reason="the integer models run in TFLM: pip install 'tinyq[tflm]'")

from test_qat import _inputs, _teacher_labels, small_cnn  # noqa: E402
from tinyq.qat.config import TrainConfig  # noqa: E402
from tinyq.qat.export import start_from  # noqa: E402
from tinyq.qat.model import QatGraph  # noqa: E402
from tinyq.qat.train import Targets, _batch, clearly_worse, train, worse  # noqa: E402
from tinyq.quantize import CalibrationSet, QuantizeConfig, quantize_graph  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "quant"


def test_clearly_worse_needs_more_than_noise():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 2.0, 40)
    noise = rng.normal(0.0, 0.3, 40)
    noise -= noise.mean()  # a mean difference of exactly 0, per-sample differences of 0.3
    assert not clearly_worse(base + noise, base)
    assert not clearly_worse(base, base)
    assert clearly_worse(base + 0.2 + noise * 0.1, base)  # every sample worse
    assert not clearly_worse(base - 0.2 + noise * 0.1, base)  # every sample better
    # a shift of 1% of the spread would take ~40,000 samples to see: 40 cannot
    assert not clearly_worse(base + 0.003 + noise, base)


def test_distilling_any_higher_held_out_loss_rejects():
    """Distilling, the held-out loss is the objective itself: a mean above is worse however noisy; with labels
    only a clear one is."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 2.0, 13)
    noise = rng.normal(0.0, 0.3, 13)
    noise -= noise.mean()
    assert worse(base + 0.003 + noise, base, distilling=True)
    assert not worse(base + 0.003 + noise, base, distilling=False)
    assert not worse(base - 0.003 + noise, base, distilling=True)
    assert not worse(base, base, distilling=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_distilling_keeps_the_epoch_with_the_lowest_held_out_loss(seed):
    """Without labels training ends in the epoch (the start included) whose held-out loss is the lowest, even
    where no later one is clearly worse on a dozen samples (MLPerf's KWS kept an epoch 2.7 times the start's)."""
    from tinyq.qat.pipeline import float_outputs

    model, x, _ = _start(60, seed=seed)
    teacher = float_outputs(small_cnn(), CalibrationSet((x,)))
    result = train(model, [x], Targets(None, teacher, (True,)), np.arange(12),
                   TrainConfig(epochs=6, min_steps=12, lr=0.003, range_lr=0.003, patience=6, seed=seed),
                   show_progress=False)
    losses = [r.holdout_loss for r in result.rows]
    assert len(set(losses)) > 2  # training moved the model: which epoch is kept means something
    assert losses[result.best_epoch] == min(losses), losses


def test_batches_are_full_and_take_every_sample_once_per_pass():
    rng = np.random.default_rng(1)
    samples = np.arange(10, 23)  # 13 samples, batches of 5: passes run on across batch boundaries
    pending = np.zeros(0, dtype=np.int64)
    seen = []
    for _ in range(13):  # 65 samples: five passes
        idx, pending = _batch(pending, samples, 5, rng)
        assert len(idx) == 5
        seen.extend(idx.tolist())
    for p in range(5):
        assert sorted(seen[13 * p:13 * (p + 1)]) == samples.tolist()
    idx, _ = _batch(np.zeros(0, dtype=np.int64), samples[:3], 5, rng)  # fewer samples than a batch
    assert sorted(idx.tolist()) == samples[:3].tolist()


def _start(n: int, seed: int = 7):
    graph = small_cnn()
    x = _inputs(seed, n, (6, 6, 2))
    labels = _teacher_labels(graph, x)
    result = quantize_graph(graph, CalibrationSet((x,)), QuantizeConfig(weights="int4"))
    return QatGraph(start_from(result)), x, labels


def _training_steps(model) -> list[int]:
    """Counts the model's calls with gradients on (training batches; held-out evaluation runs without)."""
    steps = []
    model.register_forward_pre_hook(lambda m, args: steps.append(1) if torch.is_grad_enabled() else None)
    return steps


def test_a_few_samples_still_get_the_floor_of_steps():
    model, x, labels = _start(30)
    steps = _training_steps(model)
    holdout = np.arange(6)
    result = train(model, [x], Targets(labels, None, (True,)), holdout,
                   TrainConfig(epochs=2, min_steps=40, batch_size=8, patience=5), show_progress=False)
    assert len(result.rows) == 3  # epoch 0 (the start) and two epochs
    assert len(steps) == 40  # 24 training samples are 3 batches a pass: each epoch ran 20 instead


def test_large_data_keeps_one_pass_per_epoch():
    model, x, labels = _start(60)
    steps = _training_steps(model)
    train(model, [x], Targets(labels, None, (True,)), np.arange(10),
          TrainConfig(epochs=2, min_steps=2, batch_size=10, patience=5), show_progress=False)
    assert len(steps) == 10  # 50 training samples, 5 batches a pass, the floor (1 step per epoch) below it


def test_training_that_clearly_hurts_is_rejected_and_stopped():
    model, x, labels = _start(240)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # a rate that throws int4 weights across many steps each update: the held-out loss climbs far past noise
    result = train(model, [x], Targets(labels, None, (True,)), np.arange(120),
                   TrainConfig(epochs=6, min_steps=6, lr=0.5, range_lr=0.5, patience=2), show_progress=False)
    assert result.best_epoch == 0
    assert result.stopped_early and result.rows[-1].epoch == 2
    assert clearly_worse(result.rows[-1].holdout_losses, result.rows[0].holdout_losses)
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())  # back at the start


@pytest.mark.slow
def test_the_hard_case_gains_at_the_defaults():
    """The issue's hard case: a narrow MobileNet trained on the shared digits (200 samples) whose
    post-training int4 loses more than 2 points on the 540 test samples (the first such of training seeds 0-7:
    the trained network differs between machines, and seed 0 lost 2.04 points on one, 1.11 on another);
    finetune at its defaults, over four seeds (each its own held-out split and batch order), wins back at least
    half of it on average. Not every seed: over 32 seeds (python -m tinyq.qat.bench --cases mobilenet_digits
    --seeds 0,...,31), with blends or without, 8 won back less than half and 2 lost ground; the spread is about
    50 points."""
    if not (SHARED / "data" / "digits" / "x_test.npy").exists():
        pytest.skip(f"the digits data are not in {SHARED}")
    from tinyq.qat.bench import HARD_NET_SEEDS, accuracy, digits, hard_net
    from tinyq.qat.pipeline import finetune_graph

    x_train, y_train, x_test, y_test = digits(SHARED)
    hard = hard_net(x_train, y_train, x_test, y_test)
    if hard is None:  # eight trainings, none hard: nothing for the fine-tune to win back
        pytest.skip(f"post-training int4 lost 2 points or fewer for every net seed in {HARD_NET_SEEDS} here")
    assert hard.float_acc - hard.ptq_acc > 0.02
    data = CalibrationSet((x_train.reshape(-1, 8, 8, 1).astype(np.float32),))
    lost = hard.float_acc - hard.ptq_acc
    recovered = []
    for seed in range(4):
        result = finetune_graph(hard.graph, data, y_train, weights="int4", train_config=TrainConfig(seed=seed),
                                show_progress=False)
        recovered.append((accuracy(result.graph, x_test, y_test, True) - hard.ptq_acc) / lost)
    assert np.mean(recovered) >= 0.5, (hard.seed, recovered)
