"""Post-training quantization: a float .tflite + calibration data -> a full-integer graph: int8, 16x8
(int16 activations) or both, chosen per layer.

See pipeline.py for the stages; rules.py for the ops it quantizes and the
constraints they carry; widths.py, activations.py and auto.py for int8/int16
activations; report.py for the per-tensor SQNR report.
"""

from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.data import CalibrationSet, check_calibration, load_calibration
from tinyq.quantize.pipeline import QuantizeResult, quantize_graph

__all__ = ["QuantizeConfig", "CalibrationSet", "check_calibration", "load_calibration", "QuantizeResult",
           "quantize_graph"]
