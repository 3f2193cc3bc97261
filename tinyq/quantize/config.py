"""The quantizer's settings: one frozen value the CLI, the benchmark and the tests build."""

from __future__ import annotations

from dataclasses import dataclass

IO_TYPES = ("int8", "float")
WEIGHT_MODES = ("int8", "int4", "mixed")


@dataclass(frozen=True)
class QuantizeConfig:
    io: str = "int8"  # int8: the model takes and returns int8; float: QUANTIZE/DEQUANTIZE at the edges
    per_channel: bool = True  # conv/depthwise/FC weights per output channel (TFLite's default)
    observer: str = "mse"  # activation ranges: minmax | percentile | mse (measured best on digits; observers.py)
    weights: str = "int8"  # int8 | int4 (conv and FC weights) | mixed (int4 where it costs least)
    flash_budget: int | None = None  # mixed: bytes of weights + biases to fit; None = 70% of int8
    # the optional steps: with self_check, each is also tried off and kept only where it helps
    bias_correction: bool = True  # cancel the mean output shift that weight rounding causes
    equalize: bool = True  # cross-layer equalization of consecutive conv/FC layers (measured: bench --ablation)
    int4_clip: str = "mse"  # int4 weight range: max | mse (least squared rounding error per channel)
    int8_clip: str = "max"
    seed: int = 0
    self_check: bool = True  # build every on/off combination of the optional steps, keep the best (selfcheck.py)

    def weight_clip(self, dtype: str) -> str:
        return self.int4_clip if dtype == "int4" else self.int8_clip
