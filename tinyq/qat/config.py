"""finetune's training settings: one frozen value the CLI, the benchmark and the tests build (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-4  # weights and biases: a fine-tune of a trained model, not training
    range_lr: float = 1e-3  # weight clip ratios and activation ranges (their gradients are scaled, LSQ)
    patience: int = 3  # epochs without a better held-out score before stopping
    seed: int = 0
