"""finetune's training settings: one frozen value the CLI, the benchmark and the tests build (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    min_steps: int = 300  # optimizer steps in all, at least: an epoch is one pass over the training samples or
    # min_steps / epochs steps, whichever is more. A few hundred samples make a pass a handful of steps, and
    # 50 steps at this rate barely move an int4 weight across a rounding boundary: the narrow MobileNet's
    # fine-tune won back ~0% of post-training's loss in 10 one-pass epochs, most of it in 300 steps
    batch_size: int = 32
    lr: float = 3e-4  # weights and biases: a fine-tune of a trained model, not training
    range_lr: float = 3e-4  # weight clip ratios and activation ranges (gradients scaled as LSQ's; at 10x the
    # weights' rate a narrow MobileNet's held-out loss jumped between epochs)
    patience: int = 3  # epochs without a better held-out score before stopping
    seed: int = 0
