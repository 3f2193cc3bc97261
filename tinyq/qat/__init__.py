"""Quantization-aware fine-tuning of a float .tflite (`tinyq finetune`), with PyTorch (the [qat] extra).

pipeline.py runs it in one screen; model.py is the IR as a torch module, fake-quantized as tinyq's integer
arithmetic rounds (fakequant.py; ops.py holds the ops); train.py the loop; export.py joins it to the
quantizer: the start is `tinyq quantize`'s model, the result goes through the quantizer's own rewrite.
Nothing here is imported by the rest of tinyq, so torch stays optional.
"""
