"""Benchmarks: `tinyq bench memory` compares tinyq's arena with TFLM's on real models."""
