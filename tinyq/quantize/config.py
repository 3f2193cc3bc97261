"""The quantizer's settings: one frozen value the CLI, the benchmark and the tests build."""

from __future__ import annotations

from dataclasses import dataclass

# int: integer inputs and outputs of the width of the layer that reads or writes them (int8, or int16
# where that layer's activations are int16); int8 / int16: that width whatever the layer's (a QUANTIZE
# converts); float: QUANTIZE / DEQUANTIZE at the edges
IO_TYPES = ("int", "int8", "int16", "float")
WEIGHT_MODES = ("int8", "int4", "mixed")
# int8: every activation int8; int16: TFLite's 16x8 (int16 activations, int8 weights, int64 biases) wherever
# tinyq and TFLM have the op's int16 kernel; auto: int16 for the layers that gain most, under an SRAM budget
ACTIVATION_MODES = ("int8", "int16", "auto")
# an int16 layer's op without an int16 kernel (HARD_SWISH, ELU, LOG_SOFTMAX, DIV, ...): int8 between QUANTIZEs
# (the layer is int8), or float between DEQUANTIZE and QUANTIZE (the layer stays int16, as the TFLite
# converter's 16x8 falls back)
INT16_FALLBACKS = ("int8", "float")
# weight rounding: nearest; gptq: each layer's output error minimized on calibration inputs, kept per output
# channel only where it is lower on held-back samples (rounding.py); auto: gptq for int4 weights and for the
# int8 weights of int16-activation layers (QuantizeConfig.gptq_rounds)
ROUNDING_MODES = ("auto", "gptq", "nearest")


@dataclass(frozen=True)
class QuantizeConfig:
    io: str = "int"
    per_channel: bool = True  # conv/depthwise/FC weights per output channel (TFLite's default)
    observer: str = "mse"  # int8 activation ranges: minmax | percentile | mse (measured best on digits; observers.py)
    weights: str = "int8"  # int8 | int4 (conv, depthwise and FC weights) | mixed (int4 where it costs least)
    flash_budget: int | None = None  # mixed: bytes of weights + biases to fit; None = 70% of int8, at least all-int4
    rounding: str = "auto"  # auto | gptq | nearest (ROUNDING_MODES)
    activations: str = "int8"  # int8 | int16 | auto (widths.py, auto.py)
    sram_budget: int | None = None  # auto: arena bytes to fit; None = halfway between all-int8 and all-int16
    int16_fallback: str = "int8"  # int8 | float (INT16_FALLBACKS)
    # the optional steps: with self_check, each is also tried off and kept only where it helps
    bias_correction: bool = True  # cancel the mean output shift that weight rounding causes
    equalize: bool = True  # cross-layer equalization of consecutive conv/FC layers (measured: bench --ablation)
    int4_clip: str = "mse"  # int4 weight range: max | mse (least squared rounding error per channel)
    int8_clip: str = "max"
    seed: int = 0
    self_check: bool = True  # build every on/off combination of the optional steps, keep the best (selfcheck.py)

    @property
    def gptq_dtypes(self) -> tuple[str, ...]:
        """The weight types GPTQ may round somewhere (their layers' input statistics are collected)."""
        widths = ("int8",) if self.activations == "int8" else ("int8", "int16")
        return tuple(d for d in ("int4", "int8") if any(self.gptq_rounds(d, w) for w in widths))

    def gptq_rounds(self, dtype: str, width: str) -> bool:
        """Whether GPTQ rounds a layer's `dtype` weights when its activations are `width` (int8 / int16).
        auto: int4 weights, and int8 weights of int16 layers (16x8), where the weights' rounding is most of
        the noise; int8 weights of int8 layers measured no gain (bench quantize)."""
        if self.rounding == "gptq":
            return dtype in ("int4", "int8")
        return self.rounding == "auto" and (dtype == "int4" or (dtype == "int8" and width == "int16"))

    def weight_clip(self, dtype: str) -> str:
        return self.int4_clip if dtype == "int4" else self.int8_clip
